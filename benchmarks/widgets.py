"""Time one slider update of each notebook panel on CPU (issue 7: < 0.5 s), side by side.

    python benchmarks/widgets.py [--repeats 20] [--threads 2]

A slider's value is set the way a student's drag sets it, so the time covers the observer,
the generator forward pass(es) and the PNG drawn for the panel.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from stackgan_lite import pretrained, widgets

TARGET_S = 0.5


def time_updates(panel: widgets.SliderPanel, repeats: int) -> list[float]:
    slider = panel.sliders[0]
    times = []
    for k in range(repeats):
        before = panel.updates
        start = time.perf_counter()
        slider.value = (-1.0) ** k * (0.5 + k / repeats)  # a new value every time
        times.append(time.perf_counter() - start)
        assert panel.updates == before + 1, "setting a slider did not update the panel"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shipped = pretrained.load("lite")
    panels = {
        "epsilon_slider (02)": widgets.epsilon_slider(shipped.stage1),
        "z_and_epsilon_sliders, Stage-I (03)": widgets.z_and_epsilon_sliders(shipped.stage1),
        "z_and_epsilon_sliders, Stage-I + II (04)": widgets.z_and_epsilon_sliders(
            shipped.stage1, shipped.stage2
        ),
    }
    print(f"one slider update, {args.repeats} repeats, {args.threads} CPU threads")
    print(f"{'panel':<44}{'median s':>10}{'max s':>10}  < {TARGET_S} s")
    for name, panel in panels.items():
        times = time_updates(panel, args.repeats)
        ok = "yes" if max(times) < TARGET_S else "NO"
        print(f"{name:<44}{statistics.median(times):>10.3f}{max(times):>10.3f}  {ok}")


if __name__ == "__main__":
    main()
