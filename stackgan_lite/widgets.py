"""The functions behind the notebooks' sliders, usable (and tested) without a browser.

Two layers:

* pure functions: `ca_sample` (CA with a given epsilon → c_hat, mu, sigma), `stage1_images`,
  `stage2_images` and `tree_images` (the generators' forward with a given z and epsilon, in eval
  mode, so the same slider values always give bit-identical images), `interpolate_captions` (images along the line
  between two captions' embeddings), `pixel_diversity`;
* builders: `epsilon_slider` and `z_and_epsilon_sliders` return a `SliderPanel`, an ipywidgets
  VBox of a caption box, one FloatSlider per shown dimension of z / epsilon, a status line and
  an Image widget; given a StackGAN-v2 tree, the panel shows every scale. Every widget change calls the panel's `update()`, a plain method that tests
  call directly; it re-renders the images (and, for the epsilon slider, c_hat against mu ± sigma)
  into a PNG with matplotlib's Agg canvas, so nothing depends on a notebook front end.

No network code lives here: the generators' own `forward(..., epsilon=...)` does the work, and
`epsilon` replaces the N(0, I) draw of Conditioning Augmentation,

    c_hat = mu + sigma ⊙ epsilon,      sigma = exp(logvar / 2).

An epsilon of zeros gives c_hat = mu: the generator without the augmentation noise.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from stackgan_lite import text
from stackgan_lite.runtime import eval_mode
from stackgan_lite.stackgan_v2 import TreeGenerator
from stackgan_lite.viz import generate

__all__ = [
    "CASample",
    "Interpolation",
    "SliderPanel",
    "ca_sample",
    "embed_caption",
    "epsilon_slider",
    "interpolate_captions",
    "pixel_diversity",
    "render_panel",
    "stage1_images",
    "stage2_images",
    "tree_images",
    "with_values",
    "z_and_epsilon_sliders",
]

DEFAULT_CAPTION = "a large red circle in the middle on a white background"


class CASample(NamedTuple):
    c_hat: Tensor  # [B, c]
    mu: Tensor  # [B, c]
    sigma: Tensor  # [B, c] = exp(logvar / 2)


def embed_caption(caption_or_phi: str | Tensor, generator: nn.Module) -> Tensor:
    """phi_t [1, t] (or [B, t] for a batch of embeddings) for `generator`'s preset.

    A caption is embedded with the preset's shipped text encoder (`text.embed`), which raises a
    ValueError saying what to do for an empty caption; a tensor is taken as phi_t itself."""
    preset = generator.preset
    if isinstance(caption_or_phi, str):
        return text.embed([caption_or_phi], preset)
    phi_t = caption_or_phi.detach()
    return phi_t.unsqueeze(0) if phi_t.ndim == 1 else phi_t


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _batched(rows: Tensor, batch: int, what: str = "text embeddings") -> Tensor:
    if rows.shape[0] == batch:
        return rows
    if rows.shape[0] != 1:
        raise ValueError(f"got {rows.shape[0]} {what} for a batch of {batch}")
    return rows.expand(batch, -1)


def _as_batch(vector: Tensor, name: str, size: int) -> Tensor:
    vector = vector.unsqueeze(0) if vector.ndim == 1 else vector
    if vector.ndim != 2 or vector.shape[1] != size:
        raise ValueError(
            f"expected {name} of shape [batch, {size}] or [{size}], got {list(vector.shape)}"
        )
    return vector


@torch.no_grad()
def ca_sample(generator: nn.Module, caption_or_phi: str | Tensor, epsilon: Tensor) -> CASample:
    """Conditioning Augmentation of `generator` (its own `ca` layer) with a given epsilon [c] or
    [B, c]: c_hat = mu + sigma ⊙ epsilon."""
    device = _device(generator)
    c = generator.preset.condition_dim
    epsilon = _as_batch(epsilon, "epsilon", c).to(device)
    phi_t = _batched(embed_caption(caption_or_phi, generator).to(device), epsilon.shape[0])
    with eval_mode(generator):
        c_hat, mu, logvar = generator.ca(phi_t, epsilon)
    return CASample(c_hat, mu, torch.exp(0.5 * logvar))


def _inputs(
    generator: nn.Module, caption_or_phi: str | Tensor, z: Tensor, epsilon: Tensor | None
) -> tuple[Tensor, Tensor, Tensor]:
    preset, device = generator.preset, _device(generator)
    z = _as_batch(z, "z", preset.z_dim).to(device)
    if epsilon is None:
        epsilon = torch.zeros(preset.condition_dim)
    epsilon = _as_batch(epsilon, "epsilon", preset.condition_dim).to(device)
    phi_t = embed_caption(caption_or_phi, generator).to(device)
    batch = max(z.shape[0], epsilon.shape[0], phi_t.shape[0])
    z, epsilon = _batched(z, batch, "noise vectors z"), _batched(epsilon, batch, "epsilons")
    return _batched(phi_t, batch), z, epsilon


def stage1_images(
    g1: nn.Module, caption_or_phi: str | Tensor, z: Tensor, epsilon: Tensor | None = None
) -> Tensor:
    """Stage-I images [B, 3, s1, s1] in [-1, 1] for a caption (or phi_t), noise z [B, z_dim]
    (or [z_dim]) and CA noise epsilon [B, c] (or [c]; None: zeros, i.e. c_hat = mu), in eval mode.
    A single caption, z or epsilon is shared by the whole batch; phi_t may be a batch [B, t]."""
    phi_t, z, epsilon = _inputs(g1, caption_or_phi, z, epsilon)
    return generate(g1, None, phi_t, z, epsilon)[0]


def stage2_images(
    g2: nn.Module,
    g1: nn.Module,
    caption_or_phi: str | Tensor,
    z: Tensor,
    epsilon: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """(Stage-I images, Stage-II images) as in `stage1_images`; one epsilon drives both stages'
    CA (each stage has its own CA layer, `viz.generate`)."""
    phi_t, z, epsilon = _inputs(g1, caption_or_phi, z, epsilon)
    image1, image2 = generate(g2, g1, phi_t, z, epsilon)
    return image1, image2


def tree_images(
    tree: TreeGenerator, caption_or_phi: str | Tensor, z: Tensor, epsilon: Tensor | None = None
) -> list[Tensor]:
    """A StackGAN-v2 tree's images at every scale, [B, 3, side_i, side_i] each, as in
    `stage1_images` (one z and one c_hat feed all the branches)."""
    phi_t, z, epsilon = _inputs(tree, caption_or_phi, z, epsilon)
    with torch.no_grad(), eval_mode(tree):
        return tree(phi_t, z, epsilon).images


class Interpolation(NamedTuple):
    """A walk between two captions (`interpolate_captions`)."""

    alphas: Tensor  # [n] from 0 (caption a) to 1 (caption b)
    phi_t: Tensor  # [n, t] (1 − alpha) phi_a + alpha phi_b
    images: Tensor  # [n, 3, s1, s1] in [-1, 1]


def interpolate_captions(
    g1: nn.Module,
    caption_a: str | Tensor,
    caption_b: str | Tensor,
    z: Tensor,
    steps: int = 8,
    epsilon: Tensor | None = None,
) -> Interpolation:
    """Stage-I images for text embeddings on the straight line between two captions,

        phi_t(alpha) = (1 − alpha) phi_a + alpha phi_b,   alpha = 0, 1/(steps − 1), …, 1,

    with one fixed z [z_dim] and epsilon [c] (None: zeros, so c_hat = mu) for every image, as in
    the paper's interpolation figure: only the text changes along the row. Without the ReLU
    after CA's linear layer (`preset.ca_relu=False`, as in the lite preset) CA is affine, so
    mu(phi_t(alpha)) = (1 − alpha) mu_a + alpha mu_b: the line in phi_t is a line in condition
    space too."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two captions), got {steps}")
    ends = [embed_caption(c, g1) for c in (caption_a, caption_b)]
    for end in ends:
        if end.shape[0] != 1:
            raise ValueError(f"expected one caption or phi_t per end, got {end.shape[0]}")
    alphas = torch.linspace(0.0, 1.0, steps)
    phi_t = torch.lerp(ends[0], ends[1], alphas[:, None].to(ends[0].dtype))
    z = _as_batch(z, "z", g1.preset.z_dim)
    if z.shape[0] != 1:
        raise ValueError(f"interpolation keeps one z fixed, got {z.shape[0]}")
    return Interpolation(alphas, phi_t, stage1_images(g1, phi_t, z, epsilon))


def pixel_diversity(images: Tensor) -> float:
    """Mean pairwise distance between images [N, 3, H, W]: the mean absolute pixel difference
    (in [-1, 1] units, so at most 2) averaged over all N(N−1)/2 pairs."""
    if len(images) < 2:
        raise ValueError(f"need at least two images to measure diversity, got {len(images)}")
    flat = images.detach().flatten(1).float()
    distances = torch.cdist(flat, flat, p=1) / flat.shape[1]
    n = len(flat)
    return (distances.sum() / (n * (n - 1))).item()


def with_values(base: Tensor, dims: Sequence[int], values: Sequence[float]) -> Tensor:
    """A copy of the vector `base` with base[dims[k]] = values[k]: what the sliders set."""
    if len(dims) != len(values):
        raise ValueError(f"got {len(values)} values for {len(dims)} dimensions")
    out = base.detach().clone()
    for d, v in zip(dims, values, strict=True):
        out[..., d] = float(v)
    return out


def render_panel(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ca: CASample | None = None,
    size: float = 1.8,
    highlight: Sequence[int] = (),
) -> bytes:
    """A PNG of the images side by side (pixels drawn nearest-neighbour), and, given `ca`, a
    plot of c_hat against mu ± sigma per condition dimension (first row of the batch), with the
    `highlight` dimensions (those with a slider) shaded."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(images)
    extra = 2.2 if ca is not None else 0.0
    fig = Figure(figsize=(max(size * n, 4.0), size + 0.3 + extra), dpi=80)
    FigureCanvasAgg(fig)
    rows = 2 if ca is not None else 1
    grid = fig.add_gridspec(rows, n, height_ratios=[size + 0.3, extra][:rows])
    for k in range(n):
        ax = fig.add_subplot(grid[0, k])
        image = ((images[k].detach().cpu().float() + 1) / 2).clamp(0, 1)
        ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.axis("off")
        if titles is not None:
            ax.set_title(titles[k], fontsize=8)
    if ca is not None:
        ax = fig.add_subplot(grid[1, :])
        c_hat, mu, sigma = (t[0].detach().cpu() for t in ca)
        dims = torch.arange(len(mu))
        for d in highlight:
            ax.axvspan(d - 0.4, d + 0.4, color="gold", alpha=0.3, lw=0)
        ax.errorbar(dims, mu, yerr=sigma, fmt="o", ms=3, color="grey", label="mu ± sigma")
        ax.plot(dims, c_hat, "x", color="tab:red", label="c_hat")
        ax.set_xlabel("condition dimension (shaded: a slider moves it)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper right", ncols=2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _widgets():
    import ipywidgets

    return ipywidgets


class SliderPanel:
    """A caption box and sliders for some dimensions of z and epsilon, bound to `update()`.

    `widget` is the ipywidgets VBox to display (`display(panel)` works too). `z` and `epsilon`
    are the full vectors the sliders edit (the dimensions without a slider keep their values);
    `images` / `stage1` / `ca` hold the last result, `status` its message (an error message
    when the caption cannot be embedded, the previous images are then kept)."""

    def __init__(
        self,
        g1: nn.Module,
        g2: nn.Module | None,
        caption: str,
        z: Tensor,
        epsilon: Tensor,
        z_dims: Sequence[int],
        epsilon_dims: Sequence[int],
        show_ca: bool,
        slider_range: float = 3.0,
    ) -> None:
        w = _widgets()
        self.g1, self.g2, self.show_ca = g1, g2, show_ca
        self.z, self.epsilon = z.detach().clone(), epsilon.detach().clone()
        self.z_dims, self.epsilon_dims = list(z_dims), list(epsilon_dims)
        self.images: Tensor | None = None
        self.stage1: Tensor | None = None
        self.ca: CASample | None = None
        self.updates = 0

        def slider(label: str, value: float) -> object:
            return w.FloatSlider(
                value=round(float(value), 2),
                min=-slider_range,
                max=slider_range,
                step=0.05,
                description=label,
                continuous_update=False,
                readout_format=".2f",
            )

        self.caption = w.Text(
            value=caption, description="caption", continuous_update=False, layout={"width": "95%"}
        )
        self.z_sliders = [slider(f"z[{d}]", self.z[..., d].flatten()[0]) for d in self.z_dims]
        self.epsilon_sliders = [
            slider(f"ε[{d}]", self.epsilon[..., d].flatten()[0]) for d in self.epsilon_dims
        ]
        self.status = w.HTML(value="")
        self.image = w.Image(format="png")
        for control in (self.caption, *self.z_sliders, *self.epsilon_sliders):
            control.observe(self.update, names="value")
        rows = [self.caption]
        if self.z_sliders:
            rows.append(w.HBox(self.z_sliders, layout={"flex_flow": "row wrap"}))
        if self.epsilon_sliders:
            rows.append(w.HBox(self.epsilon_sliders, layout={"flex_flow": "row wrap"}))
        self.widget = w.VBox([*rows, self.status, self.image])
        self.update()

    @property
    def sliders(self) -> list:
        return [*self.z_sliders, *self.epsilon_sliders]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def update(self, change: object = None) -> None:
        """Read the widgets, regenerate, redraw. A bad caption shows its error message instead."""
        for d, s in zip(self.z_dims, self.z_sliders, strict=True):
            self.z[..., d] = s.value
        for d, s in zip(self.epsilon_dims, self.epsilon_sliders, strict=True):
            self.epsilon[..., d] = s.value
        caption = self.caption.value
        try:
            phi_t = embed_caption(caption, self.g1)
        except ValueError as error:
            self.status.value = f"<span style='color:#b00'>⚠ {error}</span>"
            return
        if isinstance(self.g1, TreeGenerator):
            scales = tree_images(self.g1, phi_t, self.z, self.epsilon)
            self.stage1, self.images = scales[0], scales[-1]
            images = [im for per_sample in zip(*scales, strict=True) for im in per_sample]
            titles = [f"{x.shape[-1]} px" for x in scales] * len(scales[0])
        elif self.g2 is None:
            images = stage1_images(self.g1, phi_t, self.z, self.epsilon)
            titles = ["Stage-I"] * len(images) if len(images) == 1 else None
            self.stage1, self.images = images, images
        else:
            self.stage1, self.images = stage2_images(self.g2, self.g1, phi_t, self.z, self.epsilon)
            images = [im for pair in zip(self.stage1, self.images, strict=True) for im in pair]
            titles = ["Stage-I", "Stage-II"] * len(self.images)
        first = self.epsilon if self.epsilon.ndim == 1 else self.epsilon[0]
        self.ca = ca_sample(self.g1, phi_t, first) if self.show_ca else None
        self.image.value = render_panel(images, titles, self.ca, highlight=self.epsilon_dims)
        self.status.value = f"<small>{caption}</small>"
        self.updates += 1


def _default_dims(dims: int | Sequence[int], size: int) -> list[int]:
    chosen = list(range(min(dims, size))) if isinstance(dims, int) else list(dims)
    if any(not 0 <= d < size for d in chosen):
        raise ValueError(f"slider dimensions must be in [0, {size}), got {chosen}")
    return chosen


def epsilon_slider(
    g1: nn.Module,
    caption: str = DEFAULT_CAPTION,
    dims: int | Sequence[int] = 4,
    n_images: int = 4,
    seed: int = 0,
) -> SliderPanel:
    """Sliders for `dims` dimensions of epsilon (an int: the dimensions where the caption's
    sigma is largest, i.e. where epsilon moves c_hat most; or a list of indices), epsilon = 0
    elsewhere; `n_images` Stage-I images with fixed seeded z, all with the same c_hat; and a plot
    of c_hat against mu ± sigma."""
    preset = g1.preset
    if isinstance(dims, int):
        sigma = ca_sample(g1, caption, torch.zeros(preset.condition_dim)).sigma[0]
        dims = sigma.argsort(descending=True)[:dims].sort().values.tolist()
    epsilon_dims = _default_dims(dims, preset.condition_dim)
    z = torch.randn(n_images, preset.z_dim, generator=torch.Generator().manual_seed(seed))
    epsilon = torch.zeros(preset.condition_dim)
    return SliderPanel(g1, None, caption, z, epsilon, [], epsilon_dims, show_ca=True)


def z_and_epsilon_sliders(
    g1: nn.Module,
    g2: nn.Module | None = None,
    caption: str = DEFAULT_CAPTION,
    dims: int | Sequence[int] = 4,
    epsilon_dims: int | Sequence[int] | None = None,
    seed: int = 0,
) -> SliderPanel:
    """Sliders for the first `dims` dimensions of z and epsilon (or the listed indices; the rest
    of z is a seeded N(0, I) draw, the rest of epsilon zeros) and a caption box; shows the
    Stage-I image, and beside it the Stage-II image when `g2` is given. Given a StackGAN-v2 tree
    as `g1` (and no `g2`), it shows the tree's image at every scale."""
    preset = g1.preset
    z_dims = _default_dims(dims, preset.z_dim)
    eps_dims = _default_dims(dims if epsilon_dims is None else epsilon_dims, preset.condition_dim)
    z = torch.randn(preset.z_dim, generator=torch.Generator().manual_seed(seed))
    epsilon = torch.zeros(preset.condition_dim)
    return SliderPanel(g1, g2, caption, z, epsilon, z_dims, eps_dims, show_ca=False)
