"""Where and how a run executes: device choice, seeding, thread count, eval mode, safe saving
and loading of torch files, and the CI fast mode.

`STACKGAN_LITE_FAST=1` shrinks every run (training steps, sample counts) so tests, CI and the
notebooks' checks finish in minutes; results then are smoke tests, not measurements.
"""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "FAST_ENV",
    "cpu_threads",
    "describe",
    "eval_mode",
    "fast_mode",
    "load_torch_file",
    "pick_device",
    "save_torch_file",
    "scaled",
    "seed_everything",
]

FAST_ENV = "STACKGAN_LITE_FAST"


def fast_mode() -> bool:
    """True when the environment asks for the shrunken CI-sized runs."""
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no")


def scaled(full: int, fast: int) -> int:
    """`full` normally, `fast` under STACKGAN_LITE_FAST=1 (iterations, sample counts)."""
    return fast if fast_mode() else full


def pick_device(name: str = "auto") -> torch.device:
    """ "auto" → CUDA when present, then Apple's MPS, else the CPU; or the device named."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast pays on `device`: CUDA GPUs from Ampere on (compute capability 8).
    Older cards such as Colab's T4 only emulate bf16, slower than float32."""
    return device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8


def cpu_threads(processes: int = 1) -> int:
    """CPU threads for each of `processes` processes on this machine: OMP_NUM_THREADS when it
    is set to a positive whole number, so jobs that share the cores can split them (two runs at
    2 threads on 2 cores run at about a quarter of their speed each; torchrun sets it to 1 for
    several processes unless it is set already), else the cores shared evenly."""
    asked = os.environ.get("OMP_NUM_THREADS", "").strip()
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    return max(1, (os.cpu_count() or 1) // processes)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices), so a CPU run is reproducible."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds the legacy global that user code may still call)
    torch.manual_seed(seed)


@contextmanager
def eval_mode(*modules: nn.Module | None) -> Iterator[None]:
    """Put `modules` in eval mode (None entries are skipped); afterwards give every submodule
    back its own previous mode. BatchNorm must use its running statistics when sampling and
    evaluating.

    Restoring per submodule, not just the top-level flag, keeps a deliberately frozen part
    (e.g. a Stage-I generator kept in eval mode inside Stage-II training) as it was.
    """
    modules_ = [m for m in modules if m is not None]
    previous = [(m, m.training) for module in modules_ for m in module.modules()]
    try:
        for module in modules_:
            module.eval()
        yield
    finally:
        for m, training in previous:
            m.training = training


def save_torch_file(path: str | os.PathLike[str], obj: Any) -> None:
    """`torch.save` atomically: to a temporary file in the same folder, then a rename, so a run
    killed at any moment leaves either the previous file or the new one, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_torch_file(path: str | os.PathLike[str]) -> Any:
    """`torch.load` onto the CPU with `weights_only=True`: tensors and plain containers only,
    never code (a checkpoint from elsewhere cannot run anything)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def describe(device: torch.device) -> str:
    """One line of versions and hardware, printed at the top of every notebook and run."""
    import torchvision

    from stackgan_lite import __version__

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return (
        f"stackgan_lite {__version__} · torch {torch.__version__} · torchvision "
        f"{torchvision.__version__} · python {platform.python_version()} · device {device} "
        f"({where or platform.machine()}, {torch.get_num_threads()} CPU threads)"
        + (" · FAST mode" if fast_mode() else "")
    )
