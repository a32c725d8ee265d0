"""The embedded shapes dataset: captioned images drawn from a seed, nothing downloaded.

Each image is one object on a plain background, described by six attributes (`ATTRIBUTES`).
Five are coarse, so Stage-I's low-resolution image can get them right: the object's shape,
colour, size and position, and the background colour. The sixth, the pattern painted on the
object (stripes, dots or checks), repeats every 1/16 of the canvas (4 px at 64 px) and has zero
mean over one period, so at 16 px (one period per pixel) it averages out to the plain colour:
only Stage-II's 64-px image shows it, as only the paper's 256-px images show CUB's feathers.

Like CUB, every image has `CAPTIONS_PER_IMAGE` captions, written from varied templates and
synonyms, and keeps its attribute labels (one integer per attribute) so caption consistency can
be scored exactly. An image's "class" (for the Inception-style classifier score) is its
(shape, colour) pair, `NUM_CLASSES` = 24 of them, the analogue of a bird species.

Generalisation to unseen descriptions: the (shape, colour) pairs in `HELD_OUT` never occur in
the "train" split; "test" draws all 24 pairs uniformly. "all" is a third, independent stream
over all pairs, for the evaluation classifier, which has to know every class.

Rendering. The scene lives in continuous canvas coordinates p ∈ [0, 1]² (y down). Each shape is
a signed distance field d(p) (negative inside), and a pixel's coverage is

    alpha = clip(½ − d(p) / pixel, 0, 1),

a one-pixel box filter across the edge: anti-aliasing without supersampling. The patterns are
box-filtered exactly (the integral of a square wave is a triangle wave). Sides below
`PATTERN_SIDE` = 64 are rendered at 64 and area-downsampled, so a Stage-I image is exactly the
k×k average of the same scene's Stage-II render: a faithful low-resolution view.

Determinism. Sample i of a split depends only on (seed, split, i), never on the split's size
(`size=100` is a prefix of `size=10_000`); numpy's PCG64 streams and Python's string-seeded
`random.Random` are the same on every machine. Rendering is vectorised numpy, fast enough
(see `benchmarks/shapes.py`) that nothing is cached on disk.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from stackgan_lite import presets
from stackgan_lite.data import Sample
from stackgan_lite.presets import Preset

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_SIZES",
    "CAPTIONS_PER_IMAGE",
    "HELD_OUT",
    "NUM_CLASSES",
    "PATTERN_SIDE",
    "SPLITS",
    "SYNONYMS",
    "Scenes",
    "ShapesDataset",
    "area_downsample",
    "captions_for",
    "class_index",
    "is_held_out",
    "render",
    "sample_scenes",
]

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shape": ("circle", "square", "triangle", "cross"),
    "colour": ("red", "green", "blue", "yellow", "purple", "orange"),
    "size": ("small", "large"),
    "position": ("center", "top left", "top right", "bottom left", "bottom right"),
    "background": ("white", "grey", "black"),
    "pattern": ("plain", "stripes", "dots", "checks"),
}
ATTRIBUTE_SIZES: tuple[int, ...] = tuple(len(values) for values in ATTRIBUTES.values())
NUM_CLASSES = len(ATTRIBUTES["shape"]) * len(ATTRIBUTES["colour"])
# A Latin-square choice: every shape and every colour still occurs in training, only the pairs don't.
HELD_OUT: tuple[tuple[str, str], ...] = (
    ("circle", "purple"),
    ("square", "orange"),
    ("triangle", "blue"),
    ("cross", "green"),
)
CAPTIONS_PER_IMAGE = 10
PATTERN_SIDE = 64
SPLITS = ("train", "test", "all")
DEFAULT_SIZES = {"train": 10_000, "test": 1_000, "all": 10_000}

# --- what the attributes look like --------------------------------------------------------------

# Mid-range channels (0.16…0.86) so the ± pattern amplitude rarely clips and stays zero-mean.
_COLOURS = np.array(
    [
        [0.82, 0.18, 0.16],  # red
        [0.20, 0.66, 0.24],  # green
        [0.20, 0.36, 0.84],  # blue
        [0.84, 0.78, 0.18],  # yellow
        [0.58, 0.26, 0.76],  # purple
        [0.86, 0.50, 0.16],  # orange
    ],
    dtype=np.float32,
)
_BACKGROUNDS = np.array([[0.95] * 3, [0.52] * 3, [0.07] * 3], dtype=np.float32)
_RADIUS = np.array([0.16, 0.25])  # small, large: the radius of the equal-area circle
_OFFSETS = np.array([[0, 0], [-1, -1], [1, -1], [-1, 1], [1, 1]]) * 0.22  # position, (x, y)
_PATTERN_PERIOD = 1 / 16  # canvas units: 4 px at 64 px, 1 px at 16 px
_PATTERN_AMPLITUDE = 0.18
_DOT_RADIUS = 0.3  # in periods
_CHUNK = 256  # samples rendered at once: bounds the float32 temporaries to a few tens of MB


class Scenes(NamedTuple):
    """N scenes, as arrays (index them all with the same slice)."""

    labels: np.ndarray  # [N, 6] int64, one value index per attribute, in ATTRIBUTES order
    centre: np.ndarray  # [N, 2] float32, the object's (x, y) in canvas units, y down
    radius: np.ndarray  # [N] float32, canvas units (radius of the circle of the same area)
    phase: np.ndarray  # [N, 2] float32, the pattern's (x, y) offset in periods


def _split_code(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return SPLITS.index(split)


def class_index(labels: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """The class of labels [..., 6]: its (shape, colour) pair as one index in [0, NUM_CLASSES)."""
    return labels[..., 0] * len(ATTRIBUTES["colour"]) + labels[..., 1]


_HELD_OUT_CLASSES = [
    ATTRIBUTES["shape"].index(s) * len(ATTRIBUTES["colour"]) + ATTRIBUTES["colour"].index(c)
    for s, c in HELD_OUT
]


def is_held_out(labels: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """Whether each of labels [..., 6] has a (shape, colour) pair that training never sees."""
    classes = class_index(labels)
    if isinstance(classes, Tensor):
        return torch.isin(classes, torch.tensor(_HELD_OUT_CLASSES))
    return np.isin(classes, _HELD_OUT_CLASSES)


def _pairs(split: str) -> np.ndarray:
    """The (shape, colour) pairs a split draws from, [P, 2]."""
    colours = len(ATTRIBUTES["colour"])
    classes = [k for k in range(NUM_CLASSES) if split != "train" or k not in _HELD_OUT_CLASSES]
    return np.array([divmod(k, colours) for k in classes], dtype=np.int64)


def sample_scenes(n: int, split: str = "train", seed: int = 0) -> Scenes:
    """The first `n` scenes of a split: labels uniform per attribute, plus a little jitter."""
    code = _split_code(split)
    if n < 0 or seed < 0:
        raise ValueError(f"n and seed must be >= 0, got n={n}, seed={seed}")

    # One stream per quantity, so sample i never depends on n.
    def stream(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, code, k])

    labels = np.empty((n, len(ATTRIBUTES)), dtype=np.int64)
    pairs = _pairs(split)
    labels[:, :2] = pairs[stream(0).integers(len(pairs), size=n)]
    for k, values in enumerate(list(ATTRIBUTES.values())[2:], start=2):
        labels[:, k] = stream(k).integers(len(values), size=n)
    radius = _RADIUS[labels[:, 2]] * stream(10).uniform(0.92, 1.08, size=n)
    centre = 0.5 + _OFFSETS[labels[:, 3]] + stream(11).uniform(-0.02, 0.02, size=(n, 2))
    phase = stream(12).uniform(0.0, 1.0, size=(n, 2))
    return Scenes(
        labels, centre.astype(np.float32), radius.astype(np.float32), phase.astype(np.float32)
    )


def attribute_weights(weights: Mapping[str, float], what: str) -> np.ndarray:
    """`weights` (attribute name → weight, missing names weigh 0) as an array in `ATTRIBUTES`
    order; a ValueError naming `what` unless every name is known and the weights are >= 0 with a
    positive sum."""
    unknown = set(weights) - set(ATTRIBUTES)
    w = np.array([weights.get(name, 0.0) for name in ATTRIBUTES], dtype=np.float64)
    if unknown or (w < 0).any() or w.sum() <= 0:
        raise ValueError(
            f"{what} must map attribute names {list(ATTRIBUTES)} to weights >= 0 "
            f"with a positive sum, got {dict(weights)}"
        )
    return w


def contrast_labels(
    labels: np.ndarray,
    split: str = "train",
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Each row of labels [N, 6] with exactly one attribute changed to another of its values.

    The attribute is drawn with probability proportional to `weights` (attribute name → weight,
    missing names weigh 0; default: uniform), the new value uniformly, both from (seed, split,
    row) alone like the scenes. In the train split a change never lands on a held-out
    (shape, colour) pair, so no caption of those pairs is ever read in training, not even as a
    wrong one.
    """
    code = _split_code(split)
    n = len(labels)
    sizes = np.array(ATTRIBUTE_SIZES)
    if weights is None:  # the original uniform draw, so earlier datasets and weights reproduce
        which = np.random.default_rng([seed, code, 20]).integers(len(sizes), size=n)
    else:
        w = attribute_weights(weights, "contrast weights")
        u = np.random.default_rng([seed, code, 20]).random(size=n)
        cdf = np.cumsum(w) / w.sum()
        which = np.minimum(np.searchsorted(cdf, u, side="right"), len(sizes) - 1)
    step = np.random.default_rng([seed, code, 21]).random(size=n)
    rows, k = np.arange(n), sizes[which]
    out = np.array(labels, dtype=np.int64, copy=True)
    out[rows, which] = (out[rows, which] + 1 + (step * (k - 1)).astype(np.int64)) % k
    bad = is_held_out(out) if split == "train" else np.zeros(n, dtype=bool)
    while bad.any():  # next value, skipping the original: at most two moves (a Latin square)
        r, w = rows[bad], which[bad]
        out[r, w] = (out[r, w] + 1) % sizes[w]
        same = out[r, w] == labels[r, w]
        out[r[same], w[same]] = (out[r[same], w[same]] + 1) % sizes[w[same]]
        bad = is_held_out(out)
    return out


# --- rendering -------------------------------------------------------------------------------


def _circle(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + y * y) - r


def _square(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    # Half-side √π/2 · r gives the circle's area; the max-norm is exact on the edges.
    return np.maximum(np.abs(x), np.abs(y)) - 0.886 * r


def _triangle(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    # Equilateral, apex up, circumradius R = 1.2 r, its bounding box centred on the position
    # (centroid R/4 below it); the field is the largest of the three edge distances.
    inradius = 0.6 * r
    y = y - 0.5 * inradius
    sides = np.maximum(0.866 * x - 0.5 * y, -0.866 * x - 0.5 * y)
    return np.maximum(sides, y) - inradius


def _cross(x: np.ndarray, y: np.ndarray, r: np.ndarray) -> np.ndarray:
    ax, ay = np.abs(x), np.abs(y)
    arm, half_width = r, 0.36 * r
    return np.minimum(np.maximum(ax - arm, ay - half_width), np.maximum(ax - half_width, ay - arm))


_SDFS = (_circle, _square, _triangle, _cross)


def _box_square_wave(t: np.ndarray, width: float) -> np.ndarray:
    """The ±1 square wave of period 1 (+1 on [0, ½)), box-filtered over `width`, at t.

    Its antiderivative is the triangle wave T(t) = ½ − |frac(t) − ½|, so the filtered value is
    (T(t + w/2) − T(t − w/2)) / w: exact, and 0 for any t once w is a whole period.
    """

    def triangle(s: np.ndarray) -> np.ndarray:
        return 0.5 - np.abs(s - np.floor(s) - 0.5)

    return (triangle(t + width / 2) - triangle(t - width / 2)) / width


def _pattern(kind: int, u: np.ndarray, v: np.ndarray, width: float) -> np.ndarray | float:
    """Zero-mean modulation m(u, v) in about [−1, 1]; u [n, 1, S], v [n, S, 1] in periods."""
    if kind == 0:  # plain
        return 0.0
    if kind == 1:  # stripes (vertical)
        return _box_square_wave(u, width)
    if kind == 2:  # dots: light discs, minus their mean coverage π r²
        du, dv = u - np.floor(u) - 0.5, v - np.floor(v) - 0.5
        coverage = np.clip(0.5 - (np.sqrt(du * du + dv * dv) - _DOT_RADIUS) / width, 0.0, 1.0)
        return 1.5 * (coverage - math.pi * _DOT_RADIUS**2)
    return _box_square_wave(u, width) * _box_square_wave(v, width)  # checks


def _render_chunk(scenes: Scenes, side: int) -> np.ndarray:
    n = len(scenes.labels)
    pixel = 1.0 / side
    grid = (np.arange(side, dtype=np.float32) + 0.5) * pixel
    x = grid[None, None, :] - scenes.centre[:, 0, None, None]  # [n, 1, S]
    y = grid[None, :, None] - scenes.centre[:, 1, None, None]  # [n, S, 1]
    u = grid[None, None, :] / _PATTERN_PERIOD - scenes.phase[:, 0, None, None]
    v = grid[None, :, None] / _PATTERN_PERIOD - scenes.phase[:, 1, None, None]
    r = scenes.radius[:, None, None]
    shape, colour, background, pattern = scenes.labels[:, [0, 1, 4, 5]].T

    distance = np.empty((n, side, side), dtype=np.float32)
    modulation = np.zeros((n, side, side), dtype=np.float32)
    for k, sdf in enumerate(_SDFS):  # group by shape, so each pixel evaluates one field
        i = np.flatnonzero(shape == k)
        distance[i] = sdf(x[i], y[i], r[i])
    for k in range(1, len(ATTRIBUTES["pattern"])):
        i = np.flatnonzero(pattern == k)
        modulation[i] = _pattern(k, u[i], v[i], pixel / _PATTERN_PERIOD)
    alpha = np.clip(0.5 - distance / pixel, 0.0, 1.0)[:, None]

    paint = _COLOURS[colour][:, :, None, None] + _PATTERN_AMPLITUDE * modulation[:, None]
    back = _BACKGROUNDS[background][:, :, None, None]
    return back + alpha * (np.clip(paint, 0.0, 1.0) - back)


def area_downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """[N, C, S, S] → [N, C, S/factor, S/factor], each pixel the mean of a factor×factor block."""
    side = images.shape[-1]
    if factor < 1 or side % factor:
        raise ValueError(f"cannot downsample side {side} by {factor}")
    if factor == 1:
        return images
    return F.avg_pool2d(torch.from_numpy(images), factor).numpy()  # 2× faster than numpy's mean


def _check_side(side: int) -> None:
    if not 8 <= side <= 256 or side & (side - 1):
        raise ValueError(f"side must be a power of two in [8, 256], got {side}")


def render(scenes: Scenes, side: int) -> np.ndarray:
    """Anti-aliased images of `scenes`: float32 [N, 3, side, side] in [0, 1]."""
    _check_side(side)
    n = len(scenes.labels)
    out = np.empty((n, 3, side, side), dtype=np.float32)
    at = max(side, PATTERN_SIDE)
    for start in range(0, n, _CHUNK):
        chunk = Scenes(*(a[start : start + _CHUNK] for a in scenes))
        out[start : start + _CHUNK] = area_downsample(_render_chunk(chunk, at), at // side)
    return out


# --- captions --------------------------------------------------------------------------------

# Every phrase a caption may use for each value, in ATTRIBUTES order.
_NOUNS = (
    ("circle", "disc", "round shape"),
    ("square", "box"),
    ("triangle",),
    ("cross", "plus sign"),
)
_COLOUR_WORDS = (
    ("red", "scarlet"),
    ("green", "emerald"),
    ("blue", "azure"),
    ("yellow", "golden"),
    ("purple", "violet"),
    ("orange", "amber"),
)
_SIZE_WORDS = (("small", "little", "tiny"), ("large", "big", "huge"))
_PLACES = (
    ("in the center", "in the middle", "at the centre"),
    ("in the top left corner", "at the upper left", "in the top-left"),
    ("in the top right corner", "at the upper right", "in the top-right"),
    ("in the bottom left corner", "at the lower left", "in the bottom-left"),
    ("in the bottom right corner", "at the lower right", "in the bottom-right"),
)
_BACKGROUND_WORDS = (("white", "snow-white"), ("grey", "gray"), ("black", "jet-black"))
_PATTERN_ADJECTIVES = (
    ("plain", "solid"),
    ("striped", "stripy"),
    ("dotted", "spotted", "polka-dot"),
    ("checkered", "chequered"),
)
_PATTERN_CLAUSES = (
    ("with no pattern", "in one flat colour"),
    ("with stripes", "with thin stripes"),
    ("with dots", "covered in polka dots"),
    ("with a checkerboard pattern", "with checks"),
)
SYNONYMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "shape": _NOUNS,
    "colour": _COLOUR_WORDS,
    "size": _SIZE_WORDS,
    "position": _PLACES,
    "background": _BACKGROUND_WORDS,
    "pattern": tuple(a + c for a, c in zip(_PATTERN_ADJECTIVES, _PATTERN_CLAUSES, strict=True)),
}
# Each names all six attributes; {opener} and {tail} are the optional clauses.
_TEMPLATES = (
    "{opener}a {size} {adj} {colour} {shape} {where} on a {bg} background{tail}",
    "{opener}a {size} {colour} {shape} {clause}, {where}, against a {bg} backdrop",
    "there is a {size} {colour} {shape} {where}; it is {adj} and the background is {bg}",
    "{opener}a {adj} {shape} that is {colour} and {size}, sitting {where} on {bg}{tail}",
    "on a {bg} background, a {size} {colour} {shape} {clause} sits {where}",
    "the {shape} is {colour}, {size} and {adj}, placed {where} of a {bg} canvas",
    "{where} of the picture there is a {size} {adj} {colour} {shape} over a {bg} background",
)
_OPENERS = ("", "", "", "this image shows ", "here we see ", "a picture of ")
_TAILS = ("", "", "", ", alone in the frame", ", with nothing else around it")


_AN = re.compile(r"\ba (?=[aeiou])")


def _caption(labels: Sequence[int], pick: Callable[[Sequence[str]], str]) -> str:
    shape, colour, size, position, background, pattern = labels
    text = pick(_TEMPLATES).format(
        opener=pick(_OPENERS),
        tail=pick(_TAILS),
        shape=pick(_NOUNS[shape]),
        colour=pick(_COLOUR_WORDS[colour]),
        size=pick(_SIZE_WORDS[size]),
        where=pick(_PLACES[position]),
        bg=pick(_BACKGROUND_WORDS[background]),
        adj=pick(_PATTERN_ADJECTIVES[pattern]),
        clause=pick(_PATTERN_CLAUSES[pattern]),
    )
    return _AN.sub("an ", text)  # "an orange", "an azure"


def captions_for(labels: Sequence[int], key: str, count: int = CAPTIONS_PER_IMAGE) -> list[str]:
    """`count` captions of one image, reproducible from `key` (any string naming the image)."""
    uniform = random.Random(key).random  # str seeds hash with SHA-512: the same on every machine

    def pick(options: Sequence[str]) -> str:  # 10× faster than Random.choice
        return options[int(uniform() * len(options))]

    labels = [int(v) for v in labels]
    return [_caption(labels, pick) for _ in range(count)]


# --- the torch Dataset -------------------------------------------------------------------------


class ShapesDataset(Dataset):
    """The shapes set at a preset's two sides, one caption (and its embedding) per access.

    Images are rendered once, in the constructor (a few seconds per 10,000 at 64 px, see
    `benchmarks/shapes.py`), and kept as uint8. `image1` is the area average of the same float render as `image2`. Which of an
    image's captions is returned depends on (seed, epoch, index): call `set_epoch` each epoch.

    Embeddings come from `embed_fn` (default: the shipped text encoder of the preset,
    `stackgan_lite.text.embed`), computed for all captions up front. Pass `with_embedding=False`
    to get samples without one (e.g. to train the text encoder itself).

    `contrast=True` also writes, for every caption, the same sentence describing the image
    wrongly in exactly one attribute (`contrast_labels`), and embeds it unless
    `with_embedding=False`: the hard "wrong" captions of the preset's `contrast_share`, and the
    text encoder's hard negatives. `contrast_weights` weighs which attribute is changed
    (`contrast_labels`; default: each alike).
    """

    def __init__(
        self,
        preset: str | Preset = "lite",
        split: str = "train",
        size: int | None = None,
        seed: int = 0,
        *,
        with_embedding: bool = True,
        embed_fn: Callable[[list[str]], Tensor] | None = None,
        contrast: bool = False,
        contrast_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.preset = presets.get(preset) if isinstance(preset, str) else preset
        self.split, self.seed = split, seed
        _split_code(split)  # fail on an unknown split before any work
        n = DEFAULT_SIZES[split] if size is None else size
        self.scenes = sample_scenes(n, split, seed)
        self.labels = torch.from_numpy(self.scenes.labels)
        self.images1, self.images2 = self._render()
        self.captions = self._captions(self.scenes.labels)
        self.embeddings = self._embed(self.captions, embed_fn) if with_embedding else None
        self.contrast_captions, self.contrast = None, None
        if contrast:
            # the same key, so the same template and words: only the changed attribute reads
            # differently
            self.contrast_captions = self._captions(
                contrast_labels(self.scenes.labels, split, seed, contrast_weights)
            )
            if with_embedding:
                self.contrast = self._embed(self.contrast_captions, embed_fn)
        self.set_epoch(0)

    def _captions(self, labels: np.ndarray) -> list[list[str]]:
        return [
            captions_for(row, f"shapes/{self.seed}/{self.split}/{i}")
            for i, row in enumerate(labels)
        ]

    def _render(self) -> tuple[Tensor, Tensor]:
        s1, s2 = self.preset.stage1_side, self.preset.stage2_side
        n = len(self.scenes.labels)
        images1 = torch.empty(n, 3, s1, s1, dtype=torch.uint8)
        images2 = torch.empty(n, 3, s2, s2, dtype=torch.uint8)
        for start in range(0, n, _CHUNK):
            chunk = Scenes(*(a[start : start + _CHUNK] for a in self.scenes))
            image2 = render(chunk, s2)
            images2[start : start + _CHUNK] = _to_uint8(image2)
            images1[start : start + _CHUNK] = _to_uint8(area_downsample(image2, s2 // s1))
        return images1, images2

    def _embed(
        self, captions: list[list[str]], embed_fn: Callable[[list[str]], Tensor] | None
    ) -> Tensor:
        if embed_fn is None:
            from stackgan_lite import text  # text.py imports this module to train on it

            def embed_fn(captions: list[str]) -> Tensor:
                return text.embed(captions, self.preset)

        flat = [c for per_image in captions for c in per_image]
        return embed_fn(flat).float().reshape(len(captions), CAPTIONS_PER_IMAGE, -1)

    def set_epoch(self, epoch: int) -> None:
        """Choose which caption each image returns this epoch (deterministic in seed, epoch)."""
        rng = np.random.default_rng([self.seed, _split_code(self.split), 100, epoch])
        self._choice = rng.integers(CAPTIONS_PER_IMAGE, size=len(self))

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index: int) -> Sample:
        j = int(self._choice[index])
        embedding = torch.empty(0) if self.embeddings is None else self.embeddings[index, j]
        wrong = "" if self.contrast_captions is None else self.contrast_captions[index][j]
        return Sample(
            image1=_to_signed(self.images1[index]),
            image2=_to_signed(self.images2[index]),
            embedding=embedding,
            caption=self.captions[index][j],
            labels=self.labels[index],
            contrast=torch.empty(0) if self.contrast is None else self.contrast[index, j],
            contrast_caption=wrong,
        )


def _to_uint8(images: np.ndarray) -> Tensor:
    return torch.from_numpy(np.rint(images * 255.0).astype(np.uint8))


def _to_signed(image: Tensor) -> Tensor:
    return image.float() / 127.5 - 1.0
