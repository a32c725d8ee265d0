"""`python -m stackgan_lite demo`: the main job, on the embedded dataset, in about ten minutes.

1. Generate images with the shipped `lite` weights for a fixed list of captions: seen
   (shape, colour) pairs, pairs held out of training, and free-form typed sentences.
2. Train `lite` from scratch for a short, time-boxed run (Stage-I, then Stage-II).
3. Evaluate both (classifier score, FID, caption consistency, R-precision, diversity).
4. Write `report.html` (self-contained: images embedded) and the PNGs beside it.
"""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any

import torch

from stackgan_lite import presets, pretrained, runtime, text
from stackgan_lite.data import build_dataset
from stackgan_lite.evaluate import evaluate_lite
from stackgan_lite.stage1 import Stage1Generator
from stackgan_lite.stage2 import Stage2Generator
from stackgan_lite.train import RunOptions, load_checkpoint, train
from stackgan_lite.viz import generate, save_grid, side_by_side

__all__ = ["CAPTIONS", "run_demo"]

# (caption, kind): "seen" pairs occur in training, "held out" (shape, colour) pairs never do,
# "typed" sentences are phrased unlike any template.
CAPTIONS: tuple[tuple[str, str], ...] = (
    ("a big red circle with stripes in the middle of a white background", "seen"),
    ("a small yellow triangle with dots at the top left, on a black background", "seen"),
    ("a large blue square with a checkerboard pattern at the bottom right on grey", "seen"),
    ("a large purple circle with dots in the centre, against a white backdrop", "held out"),
    ("a big orange square with stripes at the top right on a black background", "held out"),
    ("a small blue triangle, plain, at the bottom left of a grey canvas", "held out"),
    ("I would like a huge green plus sign covered in stripes, please, on black", "typed"),
    ("tiny scarlet disc, upper right corner, gray background, spotted", "typed"),
)


def _png_data(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _sample_pictures(
    g1: Stage1Generator, g2: Stage2Generator, out: Path, prefix: str, seed: int
) -> list[tuple[str, str, Path]]:
    """For each caption: 4 samples, each Stage-I beside its Stage-II refinement."""
    pictures = []
    captions = [c for c, _ in CAPTIONS]
    phi_t = text.embed(captions, g1.preset)
    z = torch.randn(4, g1.preset.z_dim, generator=torch.Generator().manual_seed(seed))
    for i, (caption, kind) in enumerate(CAPTIONS):
        image1, image2 = generate(g2, g1, phi_t[i : i + 1].expand(4, -1), z)
        path = save_grid(side_by_side(image1, image2), out / f"{prefix}_caption{i}.png", nrow=8)
        pictures.append((caption, kind, path))
    return pictures


def _z_variation(g1: Stage1Generator, g2: Stage2Generator, out: Path, seed: int) -> Path:
    """One caption, 16 noise vectors z: what the noise decides that the caption does not."""
    phi_t = text.embed([CAPTIONS[0][0]] * 16, g1.preset)
    z = torch.randn(16, g1.preset.z_dim, generator=torch.Generator().manual_seed(seed))
    image1, image2 = generate(g2, g1, phi_t, z)
    return save_grid(side_by_side(image1, image2), out / "z_variation.png", nrow=8)


def _evaluate(g1: Stage1Generator, g2: Stage2Generator, n: int, seed: int) -> dict[int, Any]:
    return {stage: evaluate_lite(g1, g2, stage=stage, n=n, seed=seed) for stage in (1, 2)}


def _train_from_scratch(
    out: Path, seconds: float, seed: int
) -> tuple[Stage1Generator, Stage2Generator]:
    preset = presets.get("lite")
    runs = {}
    for stage, share in ((1, 0.6), (2, 0.4)):
        options = RunOptions(
            stage=stage,
            out=out / f"stage{stage}",
            steps=10**9,  # the time box decides
            time_limit=share * seconds,
            seed=seed,
            log_every=100,
            checkpoint_every=10**9,
            stage1_checkpoint=runs.get(1),
        )
        if (options.out / "checkpoint.pt").exists():
            (options.out / "checkpoint.pt").unlink()  # the demo always starts afresh
        dataset = build_dataset(preset, "train", stage2=stage == 2)
        runs[stage] = train(preset, options, dataset).checkpoint
    g1, g2 = Stage1Generator(preset), Stage2Generator(preset)
    g1.load_state_dict(load_checkpoint(runs[1], preset, 1)["generator"])
    g2.load_state_dict(load_checkpoint(runs[2], preset, 2)["generator"])
    return g1.eval(), g2.eval()


def run_demo(out: Path = Path("runs/demo"), *, seed: int = 0) -> Path:
    """Run the four steps of the module docstring; returns the report's path."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    runtime.seed_everything(seed)
    print(runtime.describe(torch.device("cpu")), flush=True)
    train_seconds = runtime.scaled(300, 10)
    n_eval = runtime.scaled(1000, 200)

    shipped = pretrained.load("lite")
    print("1/4 generating with the shipped weights", flush=True)
    pictures = _sample_pictures(shipped.stage1, shipped.stage2, out, "shipped", seed)
    z_picture = _z_variation(shipped.stage1, shipped.stage2, out, seed)

    print(f"2/4 training lite from scratch for {train_seconds:.0f} s", flush=True)
    g1, g2 = _train_from_scratch(out / "train", train_seconds, seed)
    scratch_pictures = _sample_pictures(g1, g2, out, "scratch", seed)

    print(f"3/4 evaluating both on {n_eval} test captions", flush=True)
    scores = {
        "shipped weights": _evaluate(shipped.stage1, shipped.stage2, n_eval, seed),
        "short run from scratch": _evaluate(g1, g2, n_eval, seed),
    }
    (out / "scores.json").write_text(json.dumps(scores, indent=1))

    print("4/4 writing the report", flush=True)
    report = out / "report.html"
    elapsed = time.perf_counter() - start
    report.write_text(_html(pictures, scratch_pictures, z_picture, scores, elapsed))
    print(f"report: {report.resolve()}  ({elapsed / 60:.1f} min)")
    return report


# --------------------------------------------------------------------------- the report


def _score_rows(scores: dict[str, dict[int, Any]]) -> str:
    rows = []
    for model, by_stage in scores.items():
        for stage, s in by_stage.items():
            seen, held = s["caption_consistency"]["seen"], s["caption_consistency"]["held_out"]
            rows.append(
                f"<tr><td>{html.escape(model)}</td><td>Stage-{'I' * stage} ({s['side']} px)</td>"
                f"<td>{s['classifier_score']:.2f} ± {s['classifier_score_std']:.2f}</td>"
                f"<td>{s['classifier_score_real']:.2f}</td><td>{s['fid']:.2f}</td>"
                f"<td>{seen['all']:.0%}</td><td>{held['all']:.0%}</td>"
                f"<td>{min(v for k, v in seen.items() if k != 'all'):.0%}</td>"
                f"<td>{s['r_precision']:.2f}</td>"
                f"<td>{s['diversity']:.2f} (real {s['diversity_real']:.2f})</td></tr>"
            )
    return "\n".join(rows)


def _figure(path: Path, caption: str) -> str:
    return (
        f'<figure><img src="{_png_data(path)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _html(
    pictures: list[tuple[str, str, Path]],
    scratch: list[tuple[str, str, Path]],
    z_picture: Path,
    scores: dict[str, dict[int, Any]],
    elapsed: float,
) -> str:
    any_score = next(iter(next(iter(scores.values())).values()))
    shipped = "\n".join(_figure(p, f"[{kind}] {c}") for c, kind, p in pictures)
    short = "\n".join(_figure(p, f"[{kind}] {c}") for c, kind, p in scratch)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stackgan-lite demo</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
figure {{ display: inline-block; margin: 0.5em; width: 520px; vertical-align: top; }}
img {{ width: 512px; image-rendering: pixelated; border: 1px solid #ccc; }}
figcaption {{ font-size: 0.9em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
</style></head><body>
<h1>stackgan-lite demo</h1>
<p>StackGAN on the embedded shapes dataset, <code>lite</code> preset: Stage-I draws 16&nbsp;px
images from the caption, Stage-II refines them to 64&nbsp;px (the stripes, dots and checks
only exist at 64&nbsp;px). In every picture each Stage-I sample (left, enlarged) sits beside its
Stage-II refinement (right). Demo time: {elapsed / 60:.1f} min.</p>

<h2>Scores</h2>
<p>On N = {any_score["n"]} test captions (every (shape, colour) pair, including the
{any_score["held_out_n"]} captions of pairs held out of training), one image each, seed
{any_score["seed"]}, {any_score["splits"]} splits. The classifier score is the Inception Score
computed with the shipped shapes classifier (maximum {any_score["classifier_score_max"]}); its
ceiling is the score of real test images. It is not comparable with published Inception
Scores. FID uses the same classifier's features against real 64&nbsp;px images.</p>
<table><tr><th>model</th><th>stage</th><th>classifier score</th><th>real ceiling</th>
<th>FID</th><th>all attributes right (seen)</th><th>all right (held out)</th>
<th>worst attribute (seen)</th><th>R-precision</th><th>diversity (one caption)</th></tr>
{_score_rows(scores)}
</table>

<h2>Shipped weights</h2>
{shipped}
<h2>What the noise z changes</h2>
{_figure(z_picture, "one caption, 16 noise vectors z: " + CAPTIONS[0][0])}
<h2>A short run from scratch</h2>
<p>The same trainer, from random weights, for a few minutes on this machine.</p>
{short}
</body></html>
"""
