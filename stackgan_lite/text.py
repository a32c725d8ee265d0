"""Text → phi_t: a tokenizer and a small text encoder, trained jointly with an image encoder.

StackGAN conditions on a sentence embedding phi_t that the paper takes from Reed et al.'s
char-CNN-RNN, trained with a joint text-image objective (DS-SJE). The authors only released
the embeddings of CUB's and Oxford-102's captions, made by a Lua/Torch7 model nobody can run
today, so a typed-in sentence cannot be turned into phi_t with them. This module trains its own.

Word-level, not character-level: the captions of the shapes set, CUB and Oxford-102 use small
closed vocabularies (about 100, 5,000 and 3,000 words), a word sequence is about 5× shorter than
a character sequence, so the encoder trains in minutes on a CPU, and a word's vector can be
inspected. Any typed caption still works: words outside the vocabulary map to `<unk>` and the
rest of the caption is encoded as usual, hyphens and punctuation split words ("polka-dot" reads
as "polka dot"), and captions longer than `max_length` words are truncated.

Encoders (both end in the same t-dimensional space, t = preset.text_dim):

    phi_t = √t · g(T) / ‖g(T)‖      g: word embeddings → two 1-D convolutions → max over words
    psi_x = √t · f(x) / ‖f(x)‖      f: image at the Stage-II side → three convolutions → 4×4 → Linear

(√t makes phi_t's entries about unit size, as the conditioning network expects.)

Objective: the symmetric InfoNCE loss of CLIP (Radford et al., 2021), a softmax version of
DS-SJE's ranking loss. For a batch of B matching (image, caption) pairs, with cosine
similarities s_ij = cos(psi_i, phi_j) and a learned temperature τ,

    L = −1/(2B) Σ_i [ log( exp(s_ii/τ) / Σ_j exp(s_ij/τ) ) + log( exp(s_ii/τ) / Σ_j exp(s_ji/τ) ) ]

i.e. each image must pick out its caption among the batch's captions, and vice versa.
The model learns log(1/τ) (`logit_scale`, clamped to τ ≥ 1/100 as in CLIP).

Hard negatives (NegCLIP, Yuksekgonul et al., 2023). Random captions of a batch nearly always
differ from an image's in an easy attribute, so nothing forces the encoders to read a subtle
one (the shapes set's pattern). Where items carry a `contrast_caption` (the same sentence with
one attribute changed; the shapes set built with `contrast=True`), each image's softmax also
runs over those B hard captions: Σ_j in the first term gains exp(h_ij/τ), h_ij = cos(psi_i,
phi_hard_j).

Evaluation: R-precision (R = 1), as in AttnGAN: for each image, rank its true caption against
99 captions of other images; the score is the share of images whose true caption ranks first.

Data interface (`CaptionedImages`): any map-style dataset whose item i has fields `image2`
(float [3, S, S] in [-1, 1]) and `caption` (str, one of image i's captions), and which has
`captions` (list of all captions per image, for the vocabulary). `ShapesDataset` is one; a CUB
dataset with those fields plugs in unchanged. An optional `contrast_caption` per item adds the
hard negatives. An optional `set_epoch(epoch)` redraws captions;
an optional `labels` ([N, A] attribute labels) makes R-precision's mismatched captions come
from images whose attributes differ.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from stackgan_lite import presets, runtime
from stackgan_lite.data.shapes import ShapesDataset, is_held_out
from stackgan_lite.presets import Preset

__all__ = [
    "CaptionedImages",
    "ImageEncoder",
    "JointEmbedding",
    "TextEncoder",
    "Tokenizer",
    "embed",
    "evaluate",
    "info_nce",
    "load_text_encoder",
    "r_precision",
    "ranked_first",
    "save_text_encoder",
    "train_text_encoder",
    "weights_path",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"
_FORMAT_VERSION = 1


class CaptionedImages(Protocol):
    """What `train_text_encoder` reads (see the module docstring)."""

    captions: Sequence[Sequence[str]]

    def __len__(self) -> int: ...

    def __getitem__(self, index: int): ...  # an item with .image2 and .caption


# --- tokenizer ---------------------------------------------------------------------------------


class Tokenizer:
    """Lower-cased words → indices; 0 pads, 1 is every word outside the vocabulary."""

    PAD, UNK = "<pad>", "<unk>"
    _WORD = re.compile(r"[a-z0-9]+")

    def __init__(self, vocabulary: Sequence[str], max_length: int = 48) -> None:
        words = [w for w in vocabulary if w not in (self.PAD, self.UNK)]
        self.vocabulary = [self.PAD, self.UNK, *words]
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        self.max_length = max_length

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], max_length: int = 48, min_count: int = 1
    ) -> Tokenizer:
        """The vocabulary of `texts`, most frequent first (ties alphabetical): deterministic."""
        counts = Counter(w for text in texts for w in cls.words(text))
        ordered = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(ordered, max_length)

    @classmethod
    def words(cls, text: str) -> list[str]:
        return cls._WORD.findall(text.lower())

    def __len__(self) -> int:
        return len(self.vocabulary)

    def encode(self, captions: Sequence[str]) -> Tensor:
        """Token indices [B, L] (L = the longest caption, at most max_length), zero-padded."""
        if isinstance(captions, str):
            raise TypeError("encode takes a list of captions; wrap a single caption in a list")
        rows = []
        for k, caption in enumerate(captions):
            words = self.words(caption)
            if not words:
                what = "empty or whitespace only" if not caption.strip() else "without any word"
                raise ValueError(
                    f"caption {k} is {what} ({caption!r}); describe the image in words, "
                    "e.g. 'a small red striped circle in the middle on a white background'"
                )
            rows.append([self.index.get(w, 1) for w in words[: self.max_length]])
        if not rows:
            raise ValueError("no captions given: pass a non-empty list of strings")
        length = max(map(len, rows))
        return torch.tensor([row + [0] * (length - len(row)) for row in rows], dtype=torch.long)


# --- encoders ----------------------------------------------------------------------------------


def _scaled_unit(h: Tensor) -> Tensor:
    """√t · h / ‖h‖: on the sphere, with entries about unit size."""
    return math.sqrt(h.shape[1]) * F.normalize(h, dim=1)


class TextEncoder(nn.Module):
    """tokens [B, L] → phi_t [B, t]: word vectors, two 1-D convolutions (a residual one), max-pool."""

    def __init__(self, vocab_size: int, text_dim: int, word_dim: int = 32, width: int = 64) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.conv1 = nn.Conv1d(word_dim, width, 3, padding=1)
        self.conv2 = nn.Conv1d(width, width, 3, padding=1)
        self.proj = nn.Linear(width, text_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        # Zero the padding after each layer and max over real words only, so a caption's
        # embedding never depends on the longest caption in its batch.
        real = (tokens != 0)[:, None, :]
        h = self.words(tokens).transpose(1, 2)  # [B, word_dim, L]
        h = F.gelu(self.conv1(h)) * real
        h = h + F.gelu(self.conv2(h)) * real
        h = h.masked_fill(~real, float("-inf")).amax(dim=2)
        return _scaled_unit(self.proj(h))


class ImageEncoder(nn.Module):
    """image [B, 3, S, S] in [-1, 1] → psi_x [B, t], the image side of the joint embedding.

    Images are read at `side` px (area-averaged if larger), the Stage-II side by default: the
    shapes set's 4-px patterns need it. At 32 px a stripe 2 px wide that straddles a pixel pair
    averages away, the image encoder cannot see the pattern, and so neither encoder learns it
    (with 32 px, a linear probe read the pattern from phi_t for 53–67 % of captions; with
    64 px, 73 %). The first 4×4 stride-2 convolution spans a whole pattern period; pooling to
    a 4×4 grid (not 1×1) keeps where the object is.
    """

    def __init__(self, text_dim: int, side: int = 64, width: int = 32) -> None:
        super().__init__()
        self.side = side
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 2 * w, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.proj = nn.Linear(2 * w * 16, text_dim)

    def forward(self, images: Tensor) -> Tensor:
        if images.shape[-1] != self.side:
            images = F.adaptive_avg_pool2d(images, self.side)
        return _scaled_unit(self.proj(self.features(images).flatten(1)))


def info_nce(
    image_emb: Tensor, text_emb: Tensor, logit_scale: Tensor, hard_text_emb: Tensor | None = None
) -> Tensor:
    """CLIP's symmetric InfoNCE loss; row i of each is a matching pair, logit_scale = log(1/τ).

    `hard_text_emb` [B, t] adds one hard negative caption per image (NegCLIP, Yuksekgonul et
    al., 2023): image i must then pick its caption among the B captions and the B hard ones,
    s_ii against s_ij and h_ij = cos(psi_i, phi_hard_j). Captions still pick among images only.
    """
    image, scale = F.normalize(image_emb, dim=1), logit_scale.exp()
    logits = scale * image @ F.normalize(text_emb, dim=1).T
    target = torch.arange(len(logits), device=logits.device)
    image_to_text = logits
    if hard_text_emb is not None:
        hard = scale * image @ F.normalize(hard_text_emb, dim=1).T
        image_to_text = torch.cat([logits, hard], dim=1)
    return 0.5 * (F.cross_entropy(image_to_text, target) + F.cross_entropy(logits.T, target))


class JointEmbedding(nn.Module):
    """The tokenizer, both encoders and the temperature: everything the weights file holds."""

    def __init__(self, tokenizer: Tokenizer, text_dim: int, image_side: int = 64) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.text = TextEncoder(len(tokenizer), text_dim)
        self.image = ImageEncoder(text_dim, image_side)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial τ

    def loss(self, images: Tensor, tokens: Tensor, hard_tokens: Tensor | None = None) -> Tensor:
        hard = None if hard_tokens is None else self.text(hard_tokens)
        return info_nce(self.image(images), self.text(tokens), self.logit_scale, hard)

    @torch.no_grad()
    def embed_text(self, captions: Sequence[str], batch_size: int = 2048) -> Tensor:
        """phi_t [B, t] of any typed captions (see `Tokenizer.encode` for what is refused)."""
        tokens = self.tokenizer.encode(captions)  # validates all captions before any work
        device = self.logit_scale.device
        return torch.cat([self.text(t.to(device)).cpu() for t in tokens.split(batch_size)])

    @torch.no_grad()
    def embed_images(self, images: Tensor, batch_size: int = 512) -> Tensor:
        """psi_x [B, t] of images [B, 3, S, S] in [-1, 1]."""
        device = self.logit_scale.device
        return torch.cat([self.image(x.to(device)).cpu() for x in images.split(batch_size)])


# --- R-precision -------------------------------------------------------------------------------


def ranked_first(
    text_emb: Tensor,
    image_emb: Tensor,
    *,
    candidates: int = 100,
    seed: int = 0,
    labels: Tensor | None = None,
) -> Tensor:
    """Bool [N]: whether image i's caption (row i of text_emb) outscores candidates − 1 others.

    The mismatched captions are drawn at random from other rows; with `labels` [N, A], only from
    rows whose labels differ in at least one attribute (a caption that describes the image
    equally well is not a mistake).
    """
    n = len(image_emb)
    if text_emb.shape != image_emb.shape or text_emb.ndim != 2:
        raise ValueError(
            f"expected text and image embeddings of the same shape [N, t], "
            f"got {list(text_emb.shape)} and {list(image_emb.shape)}"
        )
    generator = torch.Generator().manual_seed(seed)
    text, image = F.normalize(text_emb.float(), dim=1), F.normalize(image_emb.float(), dim=1)
    hits = []
    for rows in torch.arange(n).split(512):
        keys = torch.rand(len(rows), n, generator=generator)
        same = rows[:, None] == torch.arange(n)[None]
        if labels is not None:
            same = (labels[rows][:, None] == labels[None]).all(dim=2)
        eligible = (~same).sum(dim=1)
        if eligible.min() < candidates - 1:
            raise ValueError(
                f"R-precision needs {candidates - 1} mismatched captions per image, but an image "
                f"has only {int(eligible.min())} eligible ones; pass more rows or fewer candidates"
            )
        wrong = keys.masked_fill(same, float("inf")).topk(candidates - 1, largest=False).indices
        scores = image[rows] @ text.T  # [rows, N]
        true = scores.gather(1, rows[:, None])
        hits.append((scores.gather(1, wrong) < true).all(dim=1))
    return torch.cat(hits)


def r_precision(
    text_emb: Tensor,
    image_emb: Tensor,
    *,
    candidates: int = 100,
    seed: int = 0,
    labels: Tensor | None = None,
) -> float:
    """R-precision (R = 1): the share of images whose true caption ranks first of `candidates`."""
    hits = ranked_first(text_emb, image_emb, candidates=candidates, seed=seed, labels=labels)
    return hits.float().mean().item()


# --- training ----------------------------------------------------------------------------------


def _preset(preset: str | Preset) -> Preset:
    return presets.get(preset) if isinstance(preset, str) else preset


def weights_path(preset: str | Preset = "lite") -> Path:
    """Where the shipped weights of a preset live: stackgan_lite/weights/text_<name>.pt, where
    <name> is the preset's `text_encoder` when set (lite_v2 and lite_v2_uncond: text_lite_v2.pt)."""
    p = _preset(preset)
    return WEIGHTS_DIR / f"text_{p.text_encoder or p.name}.pt"


def _default_data(
    preset: Preset, seed: int, hard_weights: Mapping[str, float] | None = None
) -> tuple[CaptionedImages, CaptionedImages]:
    if preset.dataset != "shapes":
        raise ValueError(
            f"preset {preset.name!r} trains on {preset.dataset!r}: pass its train_data and "
            "test_data (datasets of items with .image2 and .caption, see stackgan_lite.text)"
        )
    train = ShapesDataset(
        preset,
        "train",
        seed=seed,
        with_embedding=False,
        contrast=True,
        contrast_weights=hard_weights,
    )
    test = ShapesDataset(preset, "test", seed=seed, with_embedding=False)
    return train, test


def evaluate(model: JointEmbedding, data: CaptionedImages, seed: int = 0) -> dict[str, float]:
    """R-precision on `data` (one caption per image, as its items give them)."""
    items = [data[i] for i in range(len(data))]
    text = model.embed_text([item.caption for item in items])
    image = model.embed_images(torch.stack([item.image2 for item in items]))
    labels = getattr(data, "labels", None)
    hits = ranked_first(text, image, seed=seed, labels=labels)
    metrics = {"r_precision": hits.float().mean().item(), "images": float(len(items))}
    if isinstance(data, ShapesDataset) and data.split == "test":
        metrics["r_precision_held_out"] = hits[is_held_out(labels)].float().mean().item()
    return metrics


def train_text_encoder(
    preset: str | Preset = "lite",
    *,
    steps: int = 1500,
    seed: int = 0,
    out_path: str | os.PathLike | None = None,
    train_data: CaptionedImages | None = None,
    test_data: CaptionedImages | None = None,
    batch_size: int = 128,
    lr: float = 2e-3,
    device: str | torch.device = "cpu",
    log_every: int = 100,
    progress: bool = False,
    image_side: int | None = None,
    hard_weights: Mapping[str, float] | None = None,
) -> dict:
    """Train the joint embedding with InfoNCE; evaluate R-precision; optionally save the weights.

    Without data, trains on the shapes set of a "shapes" preset (train split; test split for
    the score). `out_path` (e.g. `weights_path(preset)`) receives the weights atomically.
    Returns the metrics: R-precision on the test data (and on its held-out pairs for shapes),
    the loss every `log_every` steps, the seconds taken and the parameter count. `progress`
    shows a progress bar. `image_side` is the image encoder's side (default: the Stage-II side).
    `hard_weights` weighs which attribute the shapes set's hard negatives change (attribute →
    weight, `shapes.contrast_labels`; default: the preset's `text_hard_weights`).
    """
    preset = _preset(preset)
    if hard_weights is None and preset.text_hard_weights:
        hard_weights = dict(preset.text_hard_weights)
    torch.manual_seed(seed)
    if train_data is None or test_data is None:
        train_data, test_data = _default_data(preset, seed, hard_weights)
    tokenizer = Tokenizer.from_texts(c for captions in train_data.captions for c in captions)
    side = image_side or preset.stage2_side
    model = JointEmbedding(tokenizer, preset.text_dim, side).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine decay to 0
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    loader = DataLoader(
        train_data,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        collate_fn=lambda items: items,  # captions are tokenized per batch, below
        generator=torch.Generator().manual_seed(seed),
    )

    start, step, epoch, losses = time.perf_counter(), 0, 0, []
    bar = tqdm(total=steps, desc=f"text encoder ({preset.name})", disable=not progress)
    model.train()
    while step < steps:
        if hasattr(train_data, "set_epoch"):
            train_data.set_epoch(epoch)
        for items in loader:
            images = torch.stack([item.image2 for item in items]).to(device)
            tokens = tokenizer.encode([item.caption for item in items]).to(device)
            hard = [getattr(item, "contrast_caption", "") for item in items]
            hard_tokens = tokenizer.encode(hard).to(device) if all(hard) else None
            loss = model.loss(images, tokens, hard_tokens)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            with torch.no_grad():  # CLIP's clamp: τ ≥ 1/100 keeps the logits finite
                model.logit_scale.clamp_(max=math.log(100))
            step += 1
            bar.update()
            if step % log_every == 0 or step == steps:
                losses.append((step, loss.item()))
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if step == steps:
                break
        epoch += 1
    bar.close()
    seconds = time.perf_counter() - start

    model.eval()
    metrics = {
        **evaluate(model, test_data, seed),
        "loss": losses,
        "train_seconds": seconds,
        "steps": steps,
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocabulary": len(tokenizer),
    }
    if out_path is not None:
        save_text_encoder(model, out_path, preset, metrics)
    return metrics


# --- weights -----------------------------------------------------------------------------------


def save_text_encoder(
    model: JointEmbedding, path: str | os.PathLike, preset: Preset, metrics: dict
) -> None:
    """Write the weights, vocabulary and metrics to a temporary file, then rename it into place."""
    payload = {
        "format": _FORMAT_VERSION,
        "preset": preset.name,
        "text_dim": preset.text_dim,
        "image_side": model.image.side,
        "vocabulary": model.tokenizer.vocabulary,
        "max_length": model.tokenizer.max_length,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": {k: v for k, v in metrics.items() if k != "loss"},
    }
    runtime.save_torch_file(path, payload)


def load_text_encoder(
    preset: str | Preset = "lite", path: str | os.PathLike | None = None
) -> JointEmbedding:
    """The trained joint embedding (eval mode) from `path`, by default the preset's shipped weights."""
    preset = _preset(preset)
    path = Path(path) if path is not None else weights_path(preset)
    if not path.is_file():
        raise FileNotFoundError(
            f"no text encoder weights at {path}; train them with "
            f"`python -m stackgan_lite train-text --preset {preset.name}` (or "
            f"stackgan_lite.text.train_text_encoder({preset.name!r}, out_path=...))"
        )
    payload = runtime.load_torch_file(path)
    if payload.get("format") != _FORMAT_VERSION or payload["text_dim"] != preset.text_dim:
        raise ValueError(
            f"{path} holds a text encoder for text_dim={payload.get('text_dim')} "
            f"(format {payload.get('format')}), but preset {preset.name!r} needs "
            f"text_dim={preset.text_dim} (format {_FORMAT_VERSION}); retrain it"
        )
    tokenizer = Tokenizer(payload["vocabulary"], payload["max_length"])
    model = JointEmbedding(tokenizer, preset.text_dim, payload["image_side"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


_LOADED: dict[Path, JointEmbedding] = {}


def embed(captions: Sequence[str], preset: str | Preset = "lite") -> Tensor:
    """phi_t [B, text_dim] of captions, with the preset's shipped encoder (loaded once)."""
    path = weights_path(preset)
    if path not in _LOADED:
        _LOADED[path] = load_text_encoder(preset)
    return _LOADED[path].embed_text(captions)
