"""Checking a CUB-200-2011 folder before a run: every missing or malformed file at once, each
with the download it comes from.

`CUBDataset` stops at the first bad file, which is what a training run needs, but it makes
setting up slow: a reader who skipped two downloads would learn of them one failed run at a
time. `check_cub(root)` looks at every file the dataset reads, for both splits, and returns a
`DataCheck` whose `str()` lists each problem with its path, what was expected there and where
to get it (data/README.md has the same links and the layout).

    >>> from stackgan_lite.data import check_cub
    >>> report = check_cub("data/birds")  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP

It reads the three pickles of each split (the train embeddings are about 360 MB: a few
seconds) and every caption file, and looks for every JPEG without decoding it: a JPEG that
does not decode is found when the dataset reads it, and that error names the file too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stackgan_lite import presets
from stackgan_lite.data.pickles import UnsafePickleError, load_legacy_pickle
from stackgan_lite.presets import Preset

__all__ = ["CUB_SOURCES", "DataCheck", "DataProblem", "boxes_by_key", "check_cub", "parse_table"]

# The dataset's own constant lives in legacy.py, whose import pulls in torchvision (about 2 s);
# a checker is what a reader runs first, so it stays light. tests/test_check_data.py keeps the
# two equal.
CAPTIONS_PER_IMAGE = 10
RELEASE_SIZES = {"train": 8855, "test": 2933}  # images per split in the authors' release
EXAMPLES = 3  # missing files named in full per kind; the rest are counted

CUB_SOURCES = {
    "images": (
        "CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/ "
        "(or https://data.caltech.edu/records/65de6-vp158), extracted into birds/: "
        "tar -xzf CUB_200_2011.tgz -C data/birds"
    ),
    "text data": (
        "birds.zip, the StackGAN authors' char-CNN-RNN text data, linked from "
        "https://github.com/hanzhanggit/StackGAN (section Data), unzipped in data/: "
        "cd data && unzip birds.zip"
    ),
    "captions": (
        "text/ from birds.zip, or text_c10/ from Reed et al.'s cvpr2016_cub.tar.gz "
        "(linked from https://github.com/reedscot/cvpr2016), moved into birds/"
    ),
}


@dataclass(frozen=True)
class DataProblem:
    """One missing or malformed file or folder."""

    path: Path  # the file or folder (the first one, when several are missing alike)
    problem: str  # "folder not found", "got shape (6, 10, 512)", ...
    expected: str  # what should be there
    source: str  # the download it comes from (a value of CUB_SOURCES)
    missing: bool = False  # absent (rather than present but malformed)

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}; expected {self.expected}.\n    get: {self.source}"


@dataclass(frozen=True)
class DataCheck:
    """What `check_cub` found: `ok` when CUBDataset can read both splits."""

    root: Path  # the birds/ folder that was checked
    problems: tuple[DataProblem, ...]
    images: dict[str, int] = field(default_factory=dict)  # split → images in filenames.pickle
    notes: tuple[str, ...] = ()  # worth knowing, not wrong (a partial tree, text_c10/)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def missing(self) -> tuple[DataProblem, ...]:
        """The problems that are absent files or folders (the rest are malformed files)."""
        return tuple(problem for problem in self.problems if problem.missing)

    def __str__(self) -> str:
        counts = ", ".join(f"{split} {n:,} images" for split, n in self.images.items())
        if self.ok:
            lines = [f"CUB-200-2011 at {self.root}: ready ({counts})"]
        else:
            count = len(self.problems)
            lines = [f"CUB-200-2011 at {self.root}: {count} problem{'s' * (count > 1)}"]
            lines += [f"  {problem}" for problem in self.problems]
        lines += [f"  note: {note}" for note in self.notes]
        if not self.ok:
            lines.append("See data/README.md for the layout and the download links.")
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """Raise the dataset's own error (DataNotFoundError when something is missing, else
        DatasetError) with the whole report, if there is any problem."""
        from stackgan_lite.data.legacy import DataNotFoundError, DatasetError

        if self.problems:
            raise (DataNotFoundError if self.missing else DatasetError)(str(self))


def parse_table(text: str, columns: int, numeric: bool = False) -> dict[str, list[str]]:
    """CUB's `<image id> <value> ...` lines as {image id: values}. A line with another number of
    values (a blank one too), or a non-number where `numeric`, raises ValueError naming it."""
    table = {}
    for number, line in enumerate(text.splitlines(), start=1):
        image_id, *values = line.split() or [""]
        if len(values) != columns or (numeric and not all(map(_is_number, values))):
            raise ValueError(f"line {number} reads {line!r}")
        table[image_id] = values
    return table


def boxes_by_key(paths: dict[str, list[str]], boxes: dict[str, list[str]]) -> dict[str, list[str]]:
    """Join images.txt and bounding_boxes.txt: filenames.pickle names an image by its key (the
    path without .jpg), the tables by image id."""
    return {
        path.removesuffix(".jpg"): boxes[image_id]
        for image_id, (path,) in paths.items()
        if image_id in boxes
    }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _caption_count(path: Path) -> int:
    """Non-empty lines of a caption file, read as CUBDataset reads it; a missing file counts
    as full (it is reported as missing already)."""
    if not path.is_file():
        return CAPTIONS_PER_IMAGE
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return sum(1 for line in lines if line.strip())


class _Checker:
    """Collects the problems of one tree; each check skips what an earlier problem hides."""

    def __init__(self, birds: Path, text_dim: int) -> None:
        self.birds, self.text_dim = birds, text_dim
        self.problems: list[DataProblem] = []
        self.notes: list[str] = []

    def add(
        self, path: Path, problem: str, expected: str, source: str, *, missing: bool = False
    ) -> None:
        self.problems.append(DataProblem(path, problem, expected, CUB_SOURCES[source], missing))

    def folder(self, path: Path, expected: str, source: str) -> bool:
        if path.is_dir():
            return True
        self.add(path, "folder not found", expected, source, missing=True)
        return False

    def file(self, path: Path, expected: str, source: str) -> bool:
        if path.is_file():
            return True
        self.add(path, "not found", expected, source, missing=True)
        return False

    def all_present(
        self, paths: Sequence[Path], total: int, what: str, expected: str, source: str
    ) -> None:
        """One problem for all of `paths` that do not exist, naming the first few."""
        absent = [path for path in paths if not path.is_file()]
        if not absent:
            return
        verb = "has" if len(absent) == 1 else "have"
        problem = f"not found ({len(absent):,} of the {total:,} {what} {verb} none"
        if len(absent) > 1:
            others = ", ".join(p.name for p in absent[1:EXAMPLES])
            more = len(absent) - EXAMPLES
            problem += f"; also missing: {others}" + (f" and {more:,} more" if more > 0 else "")
        self.add(absent[0], problem + ")", expected, source, missing=True)

    # --- the Caltech release ---

    def table(
        self, path: Path, columns: int, expected: str, numeric: bool = False
    ) -> dict[str, list[str]] | None:
        """`<image id> <value> ...` lines as {image id: values}; None if absent or malformed.
        A blank line is malformed too: CUBDataset would fail on it."""
        if not self.file(path, expected, "images"):
            return None
        try:
            return parse_table(path.read_text(errors="replace"), columns, numeric)
        except ValueError as error:
            self.add(path, str(error), expected, "images")
            return None

    def boxes(self, cub: Path) -> dict[str, list[str]] | None:
        """{key: box} from images.txt and bounding_boxes.txt, as CUBDataset reads them."""
        paths = self.table(cub / "images.txt", 1, "lines '<image id> <class folder>/<name>.jpg'")
        boxes = self.table(
            cub / "bounding_boxes.txt",
            4,
            "lines '<image id> <x> <y> <width> <height>'",
            numeric=True,
        )
        if paths is None or boxes is None:
            return None
        return boxes_by_key(paths, boxes)

    # --- the authors' pickles ---

    def pickle(self, path: Path, expected: str) -> Any | None:
        if not self.file(path, expected, "text data"):
            return None
        try:
            return load_legacy_pickle(path)
        except UnsafePickleError as error:
            self.add(path, str(error).removeprefix(f"{path}: "), expected, "text data")
        except Exception as error:  # a truncated or foreign file fails in many different ways
            self.add(path, f"cannot read the pickle ({error!r})", expected, "text data")
        return None

    def split(self, split: str) -> list[str] | None:
        """Check one split's three pickles; its keys when they could be read."""
        folder = self.birds / split
        if not self.folder(
            folder,
            "filenames.pickle, char-CNN-RNN-embeddings.pickle, class_info.pickle",
            "text data",
        ):
            return None
        expected = "a non-empty list of image keys (strings)"
        keys = self.pickle(folder / "filenames.pickle", expected)
        if keys is not None and not (
            isinstance(keys, (list, tuple)) and keys and all(isinstance(k, str) for k in keys)
        ):
            self.add(
                folder / "filenames.pickle", f"holds a {type(keys).__name__}", expected, "text data"
            )
            keys = None
        n = len(keys) if keys is not None else None
        # without the keys the expected count is unknown; the shapes are still checked
        count = f"{n}" if n is not None else "N"
        shape = f"({count}, {CAPTIONS_PER_IMAGE}, {self.text_dim})"
        path = folder / "char-CNN-RNN-embeddings.pickle"
        expected = f"an array of shape {shape}: {CAPTIONS_PER_IMAGE} embeddings per image"
        embeddings = self.pickle(path, expected)
        if embeddings is not None:
            try:
                got = np.asarray(embeddings, dtype=np.float32).shape
            except (TypeError, ValueError) as error:
                self.add(path, f"not a numeric array ({error})", expected, "text data")
            else:
                rows = got[1:] == (CAPTIONS_PER_IMAGE, self.text_dim)
                if len(got) != 3 or not rows or (n is not None and got[0] != n):
                    self.add(path, f"got shape {got}", expected, "text data")
        path = folder / "class_info.pickle"
        expected = f"{count} class numbers (integers from 1, one per image)"
        classes = self.pickle(path, expected)
        if classes is not None:
            numbers = np.asarray(classes)
            if (
                numbers.ndim != 1
                or (n is not None and len(numbers) != n)
                or numbers.dtype.kind not in "iu"
                or (numbers.size and numbers.min() < 1)
            ):
                problem = f"got a {numbers.dtype} array of shape {numbers.shape}"
                self.add(path, problem, expected, "text data")
        return list(keys) if keys is not None else None


def check_cub(root: str | os.PathLike[str], preset: Preset | str = "cub") -> DataCheck:
    """Check the CUB-200-2011 tree at `root` (`data/birds`, or its parent `data`) for
    `CUBDataset`: every folder and file of data/README.md's layout, the pickles' contents (keys,
    embedding shape N × 10 × `preset.text_dim`, class numbers), a JPEG, a bounding box and 10
    captions for every key of both splits. Never raises for a bad tree: the problems are in the
    returned `DataCheck` (`report.raise_for_problems()` turns them into the dataset's error)."""
    if not isinstance(preset, Preset):
        preset = presets.get(preset)
    root = Path(root)
    # the same rule as CUBDataset: `data/` stands for `data/birds/` when it holds one
    birds = root / "birds" if not (root / "train").is_dir() and (root / "birds").is_dir() else root
    check = _Checker(birds, preset.text_dim)
    if not birds.is_dir():
        check.notes.append(f"{birds} does not exist: create it and put the downloads there")

    cub = birds / "CUB_200_2011"
    boxes = None
    if check.folder(cub, "the extracted CUB_200_2011.tgz (images/, images.txt, ...)", "images"):
        check.folder(cub / "images", "one folder of JPEGs per class", "images")
        boxes = check.boxes(cub)
    keys = {split: check.split(split) for split in ("train", "test")}
    text = next((birds / name for name in ("text", "text_c10") if (birds / name).is_dir()), None)
    if text is None:
        check.add(
            birds / "text",
            "folder not found (nor text_c10/)",
            "a folder of caption files <class folder>/<name>.txt",
            "captions",
            missing=True,
        )
    elif text.name == "text_c10":
        check.notes.append("captions read from text_c10/ (Reed et al.'s name for text/)")

    images: dict[str, int] = {}
    for split, split_keys in keys.items():
        if split_keys is None:
            continue
        images[split] = n = len(split_keys)
        if n != RELEASE_SIZES[split]:
            check.notes.append(
                f"{split} has {n:,} images; the authors' release has {RELEASE_SIZES[split]:,}"
            )
        what = f"{split} images"
        if (cub / "images").is_dir():
            jpegs = [cub / "images" / f"{key}.jpg" for key in split_keys]
            check.all_present(jpegs, n, what, "a CUB-200-2011 JPEG for every key", "images")
        if boxes is not None:
            unboxed = [key for key in split_keys if key not in boxes]
            if unboxed:
                problem = (
                    f"no image id with a bounding box for {len(unboxed):,} of {n:,} {what} "
                    f"(first: {unboxed[0]!r})"
                )
                expected = "a line in images.txt and in bounding_boxes.txt for every key"
                check.add(cub / "images.txt", problem, expected, "images")
        if text is not None:
            captions = [text / f"{key}.txt" for key in split_keys]
            expected = f"{CAPTIONS_PER_IMAGE} captions, one per line, line k for embedding k"
            check.all_present(captions, n, what, expected, "captions")
            short = [
                (path, lines)
                for path in captions
                if (lines := _caption_count(path)) < CAPTIONS_PER_IMAGE
            ]
            if short:
                (path, lines), more = short[0], len(short) - 1
                problem = f"{lines} non-empty line{'s' * (lines != 1)}"
                problem += f" (and {more:,} more short caption files)" if more else ""
                check.add(path, problem, expected, "captions")
    return DataCheck(birds, tuple(check.problems), images, tuple(check.notes))
