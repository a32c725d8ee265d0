"""The StackGAN authors' data release, shared by CUB-200-2011 and Oxford-102 (DESIGN §5).

Each split folder (`train/`, `test/`) holds three Python-2 pickles:

    filenames.pickle                 N image keys, e.g. "001.Black_footed_Albatross/..._0046_18"
    char-CNN-RNN-embeddings.pickle   N × 10 × 1024: one embedding for each of 10 captions
    class_info.pickle                N class numbers, 1-based

and `text/<key>.txt` (older releases: `text_c10/`) holds the 10 captions of each image, line k
being the caption that embedding k encodes.

A sample is made as in the authors' release (`TextDataset.get_img` in StackGAN-Pytorch):
1. crop around the bounding box when the dataset has one (CUB): centre of the box,
   half-side 0.75 × max(w, h), clipped to the image;
2. resize to 76/64 × side (bilinear): 76 px for the 64-px Stage-I, 304 px for the 256-px Stage-II;
3. train: random crop to side and random horizontal flip; test: centre crop, no flip;
4. scale to [-1, 1];
5. draw one of the 10 embeddings, with its caption.
Both stages' images come from the same crop offset (scaled) and flip, so they show the same view.

Steps 1–2 are deterministic: an optional cache stores their output as uint8 arrays. Steps 3 and
5 draw from a generator seeded with (seed, epoch, index), so a run is reproducible whatever the
number of DataLoader workers; call `set_epoch(epoch)` before each epoch (the test split ignores
it). With `persistent_workers=True` the workers keep their own copy, so `set_epoch` would not
reach them: leave it off.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as F
from tqdm.auto import tqdm

from stackgan_lite import presets
from stackgan_lite.data import Sample
from stackgan_lite.data.pickles import UnsafePickleError, load_legacy_pickle
from stackgan_lite.presets import Preset

__all__ = [
    "CACHE_VERSION",
    "CAPTIONS_PER_IMAGE",
    "DEFAULT_CACHE_DIR",
    "Box",
    "DataNotFoundError",
    "DatasetError",
    "LegacyTextImageDataset",
    "box_crop",
    "crop_flip",
    "load_side",
]

CAPTIONS_PER_IMAGE = 10
CACHE_VERSION = 1  # bump whenever steps 1–2 change, so that no stale cache is read
DEFAULT_CACHE_DIR = Path("data/cache")
Box = tuple[float, float, float, float]  # x, y, width, height, as in CUB's bounding_boxes.txt


class DatasetError(ValueError):
    """A data file is malformed: wrong shape, undecodable image, too few captions, ..."""


class DataNotFoundError(DatasetError, FileNotFoundError):
    """A data file or folder is missing."""


def load_side(side: int) -> int:
    """The side images are resized to before the random crop to `side`: 76/64 × side."""
    return side * 76 // 64


def box_crop(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, upper, right, lower) of the authors' crop around a bounding box (x, y, w, h).

    A square of half-side 0.75 × max(w, h) centred on the box (integer-rounded as in the
    authors' code), clipped to the image; a clipped crop is not square and is squashed to a
    square by the resize that follows, as in the authors' pipeline.
    """
    x, y, w, h = box
    r = int(0.75 * max(w, h))
    cx, cy = int(x + w / 2), int(y + h / 2)
    return max(0, cx - r), max(0, cy - r), min(width, cx + r), min(height, cy + r)


def crop_flip(image: Tensor, top: int, left: int, side: int, flip: bool) -> Tensor:
    """The side × side crop of a uint8 [3, H, W] image at (top, left), mirrored if `flip`,
    as float32 in [-1, 1]."""
    image = F.crop(image, top, left, side, side)
    if flip:
        image = F.horizontal_flip(image)
    return F.to_dtype(image, torch.float32, scale=True) * 2 - 1


class LegacyTextImageDataset(Dataset[Sample], ABC):
    """A split of a dataset in the StackGAN authors' layout; subclasses say where images live.

    `root` is the dataset's folder (`data/birds`) or its parent (`data`). `preset` (a Preset or
    its name; default: the dataset's own) gives the two image sides and the embedding size.
    `stage2=False` skips the Stage-II image (`image2` is then an empty tensor) for Stage-I
    training. `cache=True` stores steps 1–2 once under `cache_dir` and reads them from there.
    """

    name: ClassVar[str]  # preset name and cache-file prefix
    folder: ClassVar[str]  # the release's folder name
    source: ClassVar[str]  # where the files come from, for error messages

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: Literal["train", "test"] = "train",
        preset: Preset | str | None = None,
        *,
        seed: int = 0,
        stage2: bool = True,
        cache: bool = False,
        cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR,
    ) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not isinstance(preset, Preset):
            preset = presets.get(preset or self.name)
        self.root = self._find_root(Path(root))
        self.split, self.train, self.seed, self.epoch = split, split == "train", seed, 0
        self.sides = (preset.stage1_side, preset.stage2_side)[: 2 if stage2 else 1]
        # Each side is a multiple of the Stage-I side and so is its load side, so one crop
        # offset (in Stage-I pixels, times the scale) gives every side the same view.
        self.scales = [side // preset.stage1_side for side in self.sides]
        self.load_sides = [load_side(preset.stage1_side) * scale for scale in self.scales]

        split_dir = self._require_dir(self.root / split, "the split folder with the pickles")
        self.keys = self._read_keys(split_dir / "filenames.pickle")
        self.embeddings = self._read_embeddings(
            split_dir / "char-CNN-RNN-embeddings.pickle", preset.text_dim
        )
        self.class_ids = self._read_class_ids(split_dir / "class_info.pickle")
        self.image_paths, self.boxes = self.locate_images()
        text_dir = self._find_text_dir()
        self.captions = [self._read_captions(text_dir, i) for i in range(len(self.keys))]

        self.cache_dir = Path(cache_dir)
        self._cache_files = self._build_cache() if cache else {}
        self._cache_arrays: dict[int, np.ndarray] = {}

    # --- what differs between datasets ---

    @abstractmethod
    def locate_images(self) -> tuple[list[Path], list[Box | None]]:
        """The image file of each key, and its bounding box (None: use the whole image)."""

    def caption_names(self, index: int) -> list[str]:
        """Caption file names (relative to the text folder, no `.txt`) to try, in order."""
        return [self.keys[index]]

    # --- the samples ---

    def __len__(self) -> int:
        return len(self.keys)

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops, flips and embeddings of `epoch` (training split only)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> Sample:
        index = range(len(self))[index]  # IndexError when out of range
        # One generator per (seed, epoch, index): the same draws whichever worker loads it.
        rng = np.random.default_rng((self.seed, self.epoch if self.train else 0, index))
        row = int(rng.integers(CAPTIONS_PER_IMAGE))
        margin = self.load_sides[0] - self.sides[0]
        if self.train:
            top, left = (int(v) for v in rng.integers(margin + 1, size=2))
            flip = bool(rng.random() < 0.5)
        else:
            top = left = margin // 2
            flip = False
        views = self._views(index)
        images = [
            crop_flip(view, top * scale, left * scale, side, flip)
            for view, scale, side in zip(views, self.scales, self.sides, strict=True)
        ]
        return Sample(
            image1=images[0],
            image2=images[1] if len(images) > 1 else torch.empty(0),
            embedding=torch.from_numpy(self.embeddings[index, row].copy()),
            caption=self.captions[index][row],
            labels=torch.tensor([self.class_ids[index]], dtype=torch.long),
        )

    def decode(self, index: int, loads: Sequence[int]) -> list[Tensor]:
        """Steps 1–2 from the JPEG: uint8 [3, L, L] for each load side L in `loads`."""
        path = self.image_paths[index]
        try:
            with Image.open(path) as file:
                image = file.convert("RGB")
        except OSError as err:  # PIL's error for a truncated or non-image file
            raise self._error(path, f"cannot decode the image ({err})", "a JPEG image") from err
        box = self.boxes[index]
        if box is not None:
            image = image.crop(box_crop(box, *image.size))
        return [F.pil_to_tensor(image.resize((load, load), Image.BILINEAR)) for load in loads]

    def _views(self, index: int) -> list[Tensor]:
        """Steps 1–2 at every load side, from the cache when there is one."""
        if not self._cache_files:
            return self.decode(index, self.load_sides)
        # np.array copies the row out of the read-only memory map.
        return [torch.from_numpy(np.array(self._cache_array(L)[index])) for L in self.load_sides]

    # --- the cache of steps 1–2 ---

    def cache_path(self, load: int) -> Path:
        """The cache file of this split at load side `load`."""
        # The keys' digest tells two trees (or two versions of a split) apart in one cache dir.
        digest = hashlib.sha256("\n".join(self.keys).encode()).hexdigest()[:12]
        return self.cache_dir / f"{self.name}-{self.split}-{load}px-v{CACHE_VERSION}-{digest}.npy"

    def _build_cache(self) -> dict[int, Path]:
        """Write the missing cache files (each JPEG decoded once for all sides); their paths."""
        paths = {load: self.cache_path(load) for load in self.load_sides}
        missing = [load for load, path in paths.items() if not path.exists()]
        if not missing:
            return paths
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # Written to temporary files, then renamed: a killed run never leaves a partial cache.
        temps = {
            load: paths[load].with_name(f"{paths[load].name}.{os.getpid()}.tmp") for load in missing
        }
        try:
            arrays = {
                load: np.lib.format.open_memmap(
                    temps[load], mode="w+", dtype=np.uint8, shape=(len(self), 3, load, load)
                )
                for load in missing
            }
            desc = f"caching {self.name} {self.split} at {', '.join(f'{m}px' for m in missing)}"
            for index in tqdm(range(len(self)), desc=desc, leave=False):
                for load, view in zip(missing, self.decode(index, missing), strict=True):
                    arrays[load][index] = view.numpy()
            for load in missing:
                arrays.pop(load).flush()  # and unmap before the rename
                os.replace(temps[load], paths[load])
        finally:
            for temp in temps.values():
                temp.unlink(missing_ok=True)
        return paths

    def _cache_array(self, load: int) -> np.ndarray:
        """The cache at load side `load`, memory-mapped on first use in this process."""
        if load not in self._cache_arrays:
            path = self._cache_files[load]
            array = np.load(path, mmap_mode="r")
            expected = (len(self), 3, load, load)
            if array.shape != expected or array.dtype != np.uint8:
                raise self._error(
                    path,
                    f"holds a {array.dtype} array of shape {array.shape}",
                    f"a uint8 array of shape {expected} (delete the file to rebuild it)",
                )
            self._cache_arrays[load] = array
        return self._cache_arrays[load]

    def __getstate__(self) -> dict[str, Any]:
        # A spawned DataLoader worker gets the dataset pickled: send the cache paths, not the
        # memory maps (which would be pickled as full copies); each worker maps them again.
        return {**self.__dict__, "_cache_arrays": {}}

    # --- reading and checking the files ---

    def _error(
        self, path: Path, problem: str, expected: str, *, missing: bool = False
    ) -> DatasetError:
        """One error naming the file, what is wrong, what was expected and where to get it."""
        kind = DataNotFoundError if missing else DatasetError
        return kind(
            f"{path}: {problem}; expected {expected}. {self.source}: see data/README.md for "
            "where to download them and where each file goes."
        )

    def _find_root(self, root: Path) -> Path:
        """`root` itself, or `root/<folder>` when given its parent (`data/` for `data/birds/`)."""
        if not (root / "train").is_dir() and (root / self.folder).is_dir():
            return root / self.folder
        return root

    def _require_dir(self, path: Path, expected: str) -> Path:
        if not path.is_dir():
            raise self._error(path, "folder not found", expected, missing=True)
        return path

    def _first_file(self, candidates: Sequence[Path], expected: str) -> Path:
        """The first of `candidates` that exists (several layouts of the release are in use)."""
        for path in candidates:
            if path.is_file():
                return path
        others = "".join(f" (nor {path})" for path in candidates[1:])
        raise self._error(candidates[0], "not found" + others, expected, missing=True)

    def _read_pickle(self, path: Path, expected: str) -> Any:
        self._first_file([path], expected)
        try:
            return load_legacy_pickle(path)
        except UnsafePickleError:
            raise  # it names the file and the refused global already
        except Exception as err:  # a truncated or foreign file fails in many different ways
            raise self._error(path, f"cannot read the pickle ({err!r})", expected) from err

    def _read_keys(self, path: Path) -> list[str]:
        expected = "a non-empty list of image keys (strings)"
        keys = self._read_pickle(path, expected)
        if not (isinstance(keys, (list, tuple)) and keys and all(isinstance(k, str) for k in keys)):
            raise self._error(path, f"holds a {type(keys).__name__}", expected)
        return list(keys)

    def _read_embeddings(self, path: Path, text_dim: int) -> np.ndarray:
        n = len(self.keys)
        shape = (n, CAPTIONS_PER_IMAGE, text_dim)
        expected = (
            f"an array of shape {shape}: {CAPTIONS_PER_IMAGE} char-CNN-RNN embeddings of size "
            f"{text_dim} for each of the {n} images in filenames.pickle"
        )
        data = self._read_pickle(path, expected)
        try:
            embeddings = np.asarray(data, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise self._error(path, f"not a numeric array ({err})", expected) from err
        if embeddings.shape != shape:
            raise self._error(path, f"got shape {embeddings.shape}", expected)
        return embeddings

    def _read_class_ids(self, path: Path) -> np.ndarray:
        """0-based class ids from the release's 1-based class numbers."""
        n = len(self.keys)
        expected = f"{n} class numbers (integers from 1, one for each image in filenames.pickle)"
        numbers = np.asarray(self._read_pickle(path, expected))
        if numbers.shape != (n,) or numbers.dtype.kind not in "iu" or numbers.min() < 1:
            raise self._error(
                path, f"got a {numbers.dtype} array of shape {numbers.shape}", expected
            )
        return numbers.astype(np.int64) - 1

    def _find_text_dir(self) -> Path:
        for name in ("text", "text_c10"):  # text_c10/ in older releases
            if (self.root / name).is_dir():
                return self.root / name
        raise self._error(
            self.root / "text",
            "folder not found (nor text_c10/)",
            "a folder of caption files <key>.txt",
            missing=True,
        )

    def _read_captions(self, text_dir: Path, index: int) -> list[str]:
        expected = f"{CAPTIONS_PER_IMAGE} captions, one per line, line k for embedding k"
        names = self.caption_names(index)
        path = self._first_file([text_dir / f"{name}.txt" for name in names], expected)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        captions = [line.strip() for line in lines if line.strip()]
        if len(captions) < CAPTIONS_PER_IMAGE:
            raise self._error(path, f"{len(captions)} non-empty lines", expected)
        return captions[:CAPTIONS_PER_IMAGE]
