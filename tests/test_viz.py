"""Figures the trainer writes: they must not disturb the caller's matplotlib (a notebook's)."""

import json
import subprocess
import sys
import textwrap

from PIL import Image


def test_loss_plot_is_written_without_switching_the_backend(tmp_path):
    log = tmp_path / "log.jsonl"
    keys = ("d_loss", "g_loss", "kl", "d_real", "d_wrong", "d_fake")
    log.write_text(
        "".join(json.dumps({"step": s, **dict.fromkeys(keys, 0.5)}) + "\n" for s in (50, 100))
    )
    png = tmp_path / "losses.png"
    # A fresh interpreter: the backend is process-wide, and the notebook's (inline) is the
    # kind a forced switch to Agg used to silence.
    script = f"""
        import matplotlib
        matplotlib.use("svg")
        from stackgan_lite.viz import plot_losses
        plot_losses({str(log)!r}, {str(png)!r})
        print(matplotlib.get_backend())
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "svg"
    assert Image.open(png).size == (800, 280)  # 10 × 3.5 inches at 80 dpi
