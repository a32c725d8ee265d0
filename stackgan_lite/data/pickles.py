"""Safe reading of the StackGAN authors' Python-2 pickles (filenames, class ids, embeddings).

A pickle is a program: unpickling a file can import and call any function (`os.system`,
`builtins.eval`, ...). The authors' files only hold lists, tuples, dicts, strings, numbers and
numpy arrays, so `load_legacy_pickle` uses an unpickler that can rebuild exactly those and
refuses every other global before it is imported.

Python 2 `str` objects are decoded as latin-1, which maps every byte to one character, so the
raw bytes inside numpy arrays survive (numpy re-encodes them when it restores the array).
"""

from __future__ import annotations

import codecs
import os
import pickle
from typing import Any

import numpy as np

try:  # numpy >= 2 moved the C core to numpy._core (numpy.core stays as an alias)
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

__all__ = ["UnsafePickleError", "load_legacy_pickle"]

# (module, name) → object. Both numpy 1.x and numpy 2 module names occur in the wild: files
# written by numpy 1 say `numpy.core.multiarray`, files written by numpy 2 `numpy._core...`.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Python 3 writes `bytes` at protocol 2 as _codecs.encode(text, "latin1").
    ("_codecs", "encode"): codecs.encode,
    **{
        (module, name): getattr(_multiarray, name)
        for module in ("numpy.core.multiarray", "numpy._core.multiarray")
        for name in ("_reconstruct", "scalar")  # an ndarray, a numpy scalar (np.int64, ...)
    },
}


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global that the restricted unpickler does not allow."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds lists, tuples, dicts, strings, numbers and numpy arrays; refuses anything else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to load the global {module}.{name}: this pickle wants to import "
                "something other than lists, dicts, strings, numbers and numpy arrays, "
                "so it is not one of the StackGAN data files (or it has been tampered with)"
            ) from None


def load_legacy_pickle(path: str | os.PathLike[str]) -> Any:
    """The object stored in the pickle at `path`, read with the restricted unpickler.

    Python-2 strings are decoded as latin-1. Raises `UnsafePickleError` (an
    `pickle.UnpicklingError`) naming the global when the file would import anything beyond
    numpy's array reconstruction; the refused global is never imported or called.
    """
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, encoding="latin1").load()
        except UnsafePickleError as err:
            raise UnsafePickleError(f"{os.fspath(path)}: {err}") from None
