import subprocess
import sys

import pytest

from stackgan_lite.cli import main


def test_summary_prints_each_network_shape_and_parameter_count(capsys):
    assert main(["summary", "--preset", "lite"]) == 0
    out = capsys.readouterr().out
    assert "Stage1Generator       [2, 3, 16, 16]" in out
    assert "Stage2Generator       [2, 3, 64, 64]" in out
    assert "Stage1Discriminator   cond [2]" in out
    assert "Stage2Discriminator   cond [2], uncond [2]" in out
    assert "649,347" in out  # the lite Stage-I generator's parameter count


def test_unknown_preset_is_one_clear_line_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "stackgan_lite", "summary", "--preset", "nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: unknown preset 'nope'; available presets: "
        "cub, cub_v2, flowers, lite, lite_noca, lite_v2, lite_v2_uncond"
    )
    assert "Traceback" not in result.stderr


def test_every_command_has_help(capsys):
    for command in ("summary", "demo"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert "usage: python -m stackgan_lite " + command in capsys.readouterr().out
