"""A miniature CUB-200-2011 / Oxford-102 tree in the StackGAN authors' layout.

For tests, the loader benchmark and notebooks run without the real data: a few JPEGs (a noisy
background with one solid-coloured box, which is also the image's bounding box), the three
pickles of each split written with protocol 2 as Python 2 did, and 10 captions per image.
Embedding k of image i is random; caption k of image i reads "caption k of <key>".
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from stackgan_lite.data.legacy import CAPTIONS_PER_IMAGE

__all__ = ["write_miniature_cub", "write_miniature_flowers"]


def write_miniature_cub(
    root: str | os.PathLike[str],
    *,
    per_split: tuple[int, int] = (6, 3),
    image_size: tuple[int, int] = (96, 72),
    text_dim: int = 1024,
    text_folder: str = "text",
    seed: int = 0,
) -> Path:
    """Write `root/birds/` with `per_split` (train, test) images of `image_size` (w, h); its path.

    Keys read `<class:03d>.Bird_<class>/Bird_<class>_<i:04d>`, three classes per split.
    """
    birds = Path(root) / "birds"
    cub = birds / "CUB_200_2011"
    rng = np.random.default_rng(seed)
    table_rows: list[tuple[str, tuple[int, int, int, int]]] = []
    image_id = 0
    for split, count, first_class in (("train", per_split[0], 1), ("test", per_split[1], 4)):
        keys, classes = [], []
        for i in range(count):
            number = first_class + i % 3
            key = f"{number:03d}.Bird_{number}/Bird_{number}_{image_id:04d}"
            box = _write_image(cub / "images" / f"{key}.jpg", image_size, rng)
            keys.append(key)
            classes.append(number)
            table_rows.append((key, box))
            image_id += 1
        _write_split(birds / split, keys, classes, text_dim, rng)
        _write_captions(birds / text_folder, keys, keys)
    lines = [f"{n} {key}.jpg" for n, (key, _) in enumerate(table_rows, start=1)]
    (cub / "images.txt").write_text("\n".join(lines) + "\n")
    boxes = [f"{n} {x}.0 {y}.0 {w}.0 {h}.0" for n, (_, (x, y, w, h)) in enumerate(table_rows, 1)]
    (cub / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    return birds


def write_miniature_flowers(
    root: str | os.PathLike[str],
    *,
    per_split: tuple[int, int] = (6, 3),
    image_size: tuple[int, int] = (96, 72),
    text_dim: int = 1024,
    text_folder: str = "text",
    captions_by_class: bool = False,
    seed: int = 0,
) -> Path:
    """Write `root/flowers/` with `per_split` (train, test) images of `image_size`; its path.

    Keys read `jpg/image_xxxxx`. `captions_by_class` files the captions as Reed et al.'s
    text_c10 does (`class_00001/image_00001.txt`) instead of under their key.
    """
    flowers = Path(root) / "flowers"
    rng = np.random.default_rng(seed)
    number = 1
    for split, count in (("train", per_split[0]), ("test", per_split[1])):
        keys, classes = [], []
        for i in range(count):
            keys.append(f"jpg/image_{number:05d}")
            classes.append(1 + i % 3)
            _write_image(flowers / f"{keys[-1]}.jpg", image_size, rng)
            number += 1
        _write_split(flowers / split, keys, classes, text_dim, rng)
        names = [
            f"class_{c:05d}/{key.removeprefix('jpg/')}" if captions_by_class else key
            for key, c in zip(keys, classes, strict=True)
        ]
        _write_captions(flowers / text_folder, names, keys)
    return flowers


def _write_image(
    path: Path, size: tuple[int, int], rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """A noisy grey JPEG with one solid box of a random colour; the box as (x, y, w, h)."""
    width, height = size
    pixels = rng.integers(60, 120, size=(height, width, 3), dtype=np.uint8)
    w, h = int(rng.integers(width // 4, width // 2)), int(rng.integers(height // 4, height // 2))
    x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
    pixels[y : y + h, x : x + w] = rng.integers(0, 256, size=3, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=90)
    return x, y, w, h


def _write_split(
    folder: Path, keys: list[str], classes: list[int], text_dim: int, rng: np.random.Generator
) -> None:
    """The split's three pickles, protocol 2 (what Python 2 wrote)."""
    folder.mkdir(parents=True, exist_ok=True)
    embeddings = rng.standard_normal((len(keys), CAPTIONS_PER_IMAGE, text_dim), dtype=np.float32)
    for name, data in (
        ("filenames.pickle", keys),
        ("char-CNN-RNN-embeddings.pickle", embeddings),
        ("class_info.pickle", classes),
    ):
        with open(folder / name, "wb") as f:
            pickle.dump(data, f, protocol=2)


def _write_captions(text_dir: Path, names: list[str], keys: list[str]) -> None:
    for name, key in zip(names, keys, strict=True):
        path = text_dir / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"caption {k} of {key}\n" for k in range(CAPTIONS_PER_IMAGE)))
