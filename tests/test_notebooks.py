"""The notebook series' conventions (DESIGN.md §7), checked on the committed .ipynb files.

Running the notebooks is nbval's job (`make test`, with STACKGAN_LITE_FAST=1); these tests read
the files only: no model code or training loop of their own, a setup cell first, a Colab badge,
learning objectives, exercises with hidden solutions, outputs committed from a clean run with
no errors, and an output for every cell whose output nbval checks.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest
import torch

from stackgan_lite import notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CHECK, IGNORE = "# NBVAL_CHECK_OUTPUT", "# NBVAL_IGNORE_OUTPUT"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def markdown(nb: dict) -> str:
    return "\n\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def marked(code: str, marker: str) -> bool:
    """nbval's rule: the marker is a comment line of its own."""
    return any(line.strip() == marker for line in code.splitlines())


def without_comments(code: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in code.splitlines())


@pytest.fixture(params=PATHS, ids=[p.name for p in PATHS])
def nb(request) -> tuple[str, dict]:
    return request.param.name, load(request.param)


def test_the_series_exists_and_is_numbered():
    names = [p.name for p in PATHS]
    assert "00_data_and_text.ipynb" in names and "01_gan_loss.ipynb" in names
    for name in names:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", name), name
    numbers = [name[:2] for name in names]
    assert len(set(numbers)) == len(numbers), "two notebooks share a number"


def test_first_code_cell_installs_on_colab_only_then_sets_up(nb):
    name, book = nb
    first = source(code_cells(book)[0])
    assert 'if "google.colab" in sys.modules:' in first, f"{name}: no Colab check in cell 1"
    assert f'%pip install --quiet "{notebook.install_line()}"' in first, (
        f"{name}: cell 1 must install {notebook.install_line()} (pyproject's Repository)"
    )
    assert "from stackgan_lite.notebook import setup" in first
    assert re.search(r"^device = setup\(seed=\d+\)$", first, re.M), f"{name}: no setup(seed=...)"
    assert len([line for line in first.splitlines() if line.strip()]) <= 6


def test_colab_badge_points_at_this_notebook(nb):
    name, book = nb
    first_markdown = next(source(c) for c in book["cells"] if c["cell_type"] == "markdown")
    assert first_markdown.lstrip().startswith("# "), f"{name}: the first cell must be a title"
    assert notebook.colab_badge(name) in first_markdown, f"{name}: badge missing or stale"


def test_learning_objectives_equations_and_exercises(nb):
    name, book = nb
    text = markdown(book)
    assert re.search(r"^#+ .*learning objectives", text, re.M | re.I), f"{name}: no objectives"
    assert "$$" in text, f"{name}: no displayed equation"
    exercises = re.search(r"^#+ .*exercises.*$", text, re.M | re.I)
    assert exercises, f"{name}: no Exercises section"
    after = text[exercises.end() :]
    solutions = re.findall(r"<details>\s*<summary>.*?</summary>.*?</details>", after, re.S)
    assert len(solutions) >= 2, f"{name}: exercises need solutions hidden in <details> blocks"


MODULE_SUBCLASS = re.compile(r"^\s*class\s+\w+\s*\(([^)]*)\)", re.M)
TRAINING = re.compile(
    r"\.backward\(|\.zero_grad\(|torch\.optim\b|\boptim\.|\b\w*opt\w*\.step\(|\.step\(\)"
)
DOWNLOAD = re.compile(r"urlretrieve|urlopen|\brequests\.|\bwget\b|\bcurl\b|download=True")


def test_no_model_or_training_loop_of_its_own(nb):
    name, book = nb
    for k, cell in enumerate(code_cells(book)):
        code = without_comments(source(cell))
        for bases in MODULE_SUBCLASS.findall(code):
            assert "Module" not in bases, f"{name}, code cell {k}: defines an nn.Module ({bases})"
        found = TRAINING.search(code)
        assert found is None, (
            f"{name}, code cell {k}: a training loop of its own ({found.group()!r}); "
            "train with the package's functions"
        )
        if k > 0:  # cell 0 installs the package on Colab
            assert not DOWNLOAD.search(code), f"{name}, code cell {k}: downloads something"


def test_outputs_committed_from_one_clean_top_to_bottom_run(nb):
    name, book = nb
    cells = code_cells(book)
    counts = [c["execution_count"] for c in cells if source(c).strip()]
    assert counts == list(range(1, len(counts) + 1)), f"{name}: not run top to bottom once"
    for k, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{name}, code cell {k}: committed error"
            text = "".join(out.get("text", ""))
            assert "Traceback" not in text, f"{name}, code cell {k}: a traceback in its output"


def test_checked_cells_have_their_outputs(nb):
    name, book = nb
    checked = 0
    for k, cell in enumerate(code_cells(book)):
        code = source(cell)
        assert not (marked(code, CHECK) and marked(code, IGNORE)), f"{name}, cell {k}: both markers"
        if marked(code, CHECK):
            checked += 1
            assert cell.get("outputs"), f"{name}, code cell {k}: checked but no committed output"
            kinds = {o["output_type"] for o in cell["outputs"]}
            assert kinds <= {"stream", "execute_result"}, (
                f"{name}, code cell {k}: checked cells must print text, not {kinds}"
            )
    assert checked >= 3, f"{name}: mark the deterministic cells with {CHECK}"


def test_self_checks_assert(nb):
    name, book = nb
    asserts = sum(len(re.findall(r"^\s*assert\b", source(c), re.M)) for c in code_cells(book))
    assert asserts >= 5, f"{name}: too few self-check asserts ({asserts})"


def test_sanitize_file_masks_what_varies():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(NOTEBOOKS / "sanitize.cfg")
    patterns = [(s["regex"], s["replace"]) for s in parser.values() if "regex" in s]
    assert patterns

    def clean(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert clean("<Figure size 640x480 with 1 Axes>") == clean("<Figure size 1200x300 with 4 Axes>")
    assert clean("<Foo object at 0x7f3a2b4c5d60>") == clean("<Foo object at 0x55d1c0ffee00>")
    bar = "toy GAN: 100%|██████████| 2000/2000 [00:07<00:00, 281.43it/s]"
    assert clean(bar) == clean(bar.replace("00:07", "00:03").replace("281.43", "93.1"))
    assert clean("trained in 7.2 s") == clean("trained in 12.85 s")
    assert clean("1.5 s/it") == clean("12.3 it/s")
    assert clean("phi_t: [4, 128], norm 11.314") == "phi_t: [4, 128], norm 11.314"


def test_setup_picks_a_device_seeds_and_prints_versions(capsys):
    device = notebook.setup(seed=3, device="cpu")
    a = torch.rand(3)
    assert device == torch.device("cpu")
    printed = capsys.readouterr().out
    for what in ("stackgan_lite", "torch", "python", "seed 3"):
        assert what in printed
    notebook.setup(seed=3, device="cpu")
    assert torch.equal(torch.rand(3), a)


def test_repository_url_and_colab_links():
    url = notebook.repository_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    owner_repo = url.removeprefix("https://github.com/")
    assert notebook.colab_url("01_gan_loss.ipynb") == (
        f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/01_gan_loss.ipynb"
    )
    assert notebook.install_line() == f"git+{url}@main"
    with pytest.raises(ValueError):
        notebook.colab_url("x.ipynb", url="https://gitlab.com/a/b")


def test_show_images_lays_out_a_grid():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = notebook.show_images(torch.zeros(5, 3, 16, 16), ["a caption"] * 5, ncols=3)
    assert len(fig.axes) == 6
    plt.close(fig)
    with pytest.raises(ValueError):
        notebook.show_images(torch.zeros(2, 3, 8, 8), ["one title"])
