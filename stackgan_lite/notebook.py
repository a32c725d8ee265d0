"""What the first cell of every notebook calls: versions, device, seeds; and the Colab links.

Every notebook in `notebooks/` starts with

    # NBVAL_IGNORE_OUTPUT
    import sys

    if "google.colab" in sys.modules:  # Colab only: install the package from its repository
        %pip install --quiet "git+<repository>@main"

    from stackgan_lite.notebook import setup

    device = setup(seed=0)

The repository URL is written once, as `Repository` under `[project.urls]` in pyproject.toml;
`repository_url()` reads it (from the source checkout, else from the installed metadata), and
`tests/test_notebooks.py` checks that every notebook's install line and "Open in Colab" badge
use it.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import torch
from torch import Tensor

from stackgan_lite import runtime

__all__ = [
    "colab_badge",
    "colab_url",
    "in_colab",
    "install_line",
    "repository_url",
    "setup",
    "show_images",
]

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_DISTRIBUTION = "stackgan-lite"


def in_colab() -> bool:
    """Whether this kernel runs on Google Colab."""
    return "google.colab" in sys.modules


def setup(seed: int = 0, device: str = "auto") -> torch.device:
    """Pick the device (`runtime.pick_device`: CUDA when present, then Apple's MPS, else the
    CPU; or the one named), seed Python, NumPy and torch, print the versions (python, torch,
    torchvision, stackgan_lite) and the hardware, and return the device."""
    chosen = runtime.pick_device(device)
    runtime.seed_everything(seed)
    print(runtime.describe(chosen) + f" · seed {seed}")
    return chosen


def repository_url() -> str:
    """The project's repository, `[project.urls] Repository` in pyproject.toml."""
    if _PYPROJECT.is_file():  # a source checkout: pyproject.toml is the one place it is written
        # A regex over the [project.urls] table, not tomllib: that is Python 3.11+ only.
        table = re.search(
            r"^\[project\.urls\]\n(.*?)(?=^\[|\Z)", _PYPROJECT.read_text(), re.M | re.S
        )
        found = table and re.search(r'^Repository\s*=\s*"([^"]+)"', table.group(1), re.M)
        if found:
            return found.group(1).rstrip("/")
    try:
        for entry in metadata.metadata(_DISTRIBUTION).get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() == "repository":
                return url.strip().rstrip("/")
    except metadata.PackageNotFoundError:
        pass
    raise LookupError("no Repository under [project.urls] in pyproject.toml")


def _owner_repo(url: str) -> str:
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)(?:\.git)?", url)
    if match is None:
        raise ValueError(f"expected a https://github.com/<owner>/<repo> URL, got {url!r}")
    return match.group(1)


def install_line(url: str | None = None, branch: str = "main") -> str:
    """The pip requirement a notebook installs on Colab: this repository, pinned to `branch`."""
    return f"git+{url or repository_url()}@{branch}"


def colab_url(notebook: str, url: str | None = None, branch: str = "main") -> str:
    """Where Colab opens notebooks/<notebook> of the repository."""
    owner_repo = _owner_repo(url or repository_url())
    return (
        f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{notebook}"
    )


def colab_badge(notebook: str, url: str | None = None) -> str:
    """The Markdown "Open in Colab" badge of notebooks/<notebook>."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook, url)})"
    )


def show_images(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.7,
    wrap: int = 24,
    fontsize: float = 7.0,
):
    """Plot images in a grid, each with its title (a caption) wrapped to `wrap` characters.

    `images`: [N, 3, H, W], float in [−1, 1] or uint8, or a list of [3, H, W] images of any
    sizes. Pixels are drawn nearest-neighbour, so a 16-px image shows its pixels. Returns the
    matplotlib Figure."""
    import matplotlib.pyplot as plt

    def to_rgb(image: Tensor):
        image = image.detach().cpu()
        image = image.float() / 255.0 if image.dtype == torch.uint8 else (image.float() + 1) / 2
        return image.clamp(0, 1).permute(1, 2, 0).numpy()

    n = len(images)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} images but {len(titles)} titles")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    lines = max((len(textwrap.wrap(t, wrap)) for t in titles), default=0) if titles else 0
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, (size + 0.14 * lines) * nrows), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(to_rgb(images[k]), interpolation="nearest")
            if titles is not None:
                ax.set_title("\n".join(textwrap.wrap(titles[k], wrap)), fontsize=fontsize)
    fig.tight_layout()
    return fig
