"""Named model architectures: one registry that training, loading and tiling all consult.

Each entry knows how to build a fresh Keras functional model for single-channel pages of any size
(multiples of ``stride``) and how far its output looks (``receptive_radius``), which is what the
tiler needs for seamless, exact stitching.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from docclean.errors import UsageError

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Architecture:
    """A buildable architecture and the geometry facts the tiler needs."""

    name: str
    summary: str
    build: Callable[[], keras.Model]
    receptive_radius: int
    stride: int
    bottleneck: str
    """Layer whose output is the code that ``--regularizer`` penalizes."""
    tile_size: int = 256
    """Default inference tile side: large enough that the margin wastes little work."""
    batch_size: int = 8
    """Default tiles per model call (about 0.5 to 2 Mpx a call)."""
    train_patch_size: int = 64
    """Default ``train --patch-size``: a few receptive fields wide."""
    train_batch_size: int = 32
    """Default ``train --batch-size``."""
    grows_from: str | None = None
    """An architecture whose trained weights carry over exactly (:func:`grow`)."""
    views: int = 1
    """How many views of the page the net runs on: a ``-mirrored`` wrapper's 2, or 4."""


def _seed_text() -> keras.Model:
    """The seed tutorial's text-cleaning autoencoder (Conv64-Pool-Conv64-Up-Conv1)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="enc_conv")(inputs)
    x = layers.MaxPooling2D(2, name="enc_pool")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="mid_conv")(x)
    x = layers.UpSampling2D(2, name="dec_up")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="clean")(x)
    return keras.Model(inputs, outputs, name="seed_text")


def _seed_deep() -> keras.Model:
    """The seed tutorial's deeper autoencoder: Conv 64, 32, 16 with max-pooling, mirrored."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    x = inputs
    for k, channels in enumerate((64, 32, 16)):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"enc_conv{k}")(x)
        x = layers.MaxPooling2D(2, name=f"enc_pool{k}")(x)
    for k, channels in enumerate((16, 32, 64)):
        x = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"dec_conv{k}")(x)
        x = layers.UpSampling2D(2, name=f"dec_up{k}")(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="clean")(x)
    return keras.Model(inputs, outputs, name="seed_deep")


def _residual(x: keras.KerasTensor, channels: int, name: str) -> keras.KerasTensor:
    """x + separable 3x3 conv of relu(x), starting as the identity (zero pointwise weights).

    Pre-activation and a zero start keep a stack of these trainable without normalization layers:
    every block begins as a no-op, so activations do not grow with depth and the sigmoid output
    does not saturate early in training.
    """
    from keras import layers

    y = layers.ReLU(name=f"{name}_relu")(x)
    y = layers.SeparableConv2D(
        channels, 3, padding="same", pointwise_initializer="zeros", name=name
    )(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _fast_unet_body(inputs: keras.KerasTensor, fine_blocks: int = 0) -> keras.KerasTensor:
    """fast-unet's encoder and decoder: 32 features per 4x4 patch, with context from 1/16 size.

    A 4x4 stride-4 convolution turns each patch into 32 features (lossless: 16 pixels, 32
    numbers); separable residual blocks work at 1/4, 1/8 and 1/16 resolution (a receptive radius
    of 95 px for stains, folds and shadows); transposed convolutions bring the context back through
    additive skips. Nothing heavy runs at full resolution: on CPUs a 3x3 convolution over a
    one-channel full-size page costs more than this whole net.
    """
    from keras import layers

    x1 = layers.Conv2D(32, 4, strides=4, activation="relu", name="patchify")(inputs)
    x1 = _residual(x1, 32, "enc1_0")
    x2 = layers.Conv2D(64, 2, strides=2, activation="relu", name="down1")(x1)
    for k in range(2):
        x2 = _residual(x2, 64, f"enc2_{k}")
    x3 = layers.Conv2D(96, 2, strides=2, activation="relu", name="down2")(x2)
    for k in range(3):
        x3 = _residual(x3, 96, f"mid_{k}")
    up2 = layers.Conv2DTranspose(64, 2, strides=2, activation="relu", name="up2")(x3)
    x = _residual(layers.Add(name="skip2")([x2, up2]), 64, "dec2_0")
    up1 = layers.Conv2DTranspose(32, 2, strides=2, activation="relu", name="up1")(x)
    x = _residual(layers.Add(name="skip1")([x1, up1]), 32, "dec1_0")
    for k in range(1, 1 + fine_blocks):  # more work on each patch's detail; 4 px more reach each
        x = _residual(x, 32, f"dec1_{k}")
    return x


def _curve_logits(
    features: keras.KerasTensor,
    pixels: keras.KerasTensor,
    gain: float,
    bias: float,
    linear: keras.KerasTensor | None = None,
) -> keras.KerasTensor:
    """``gain * pixels + bias``, the logits of a tone curve, a gain and a bias for every pixel.

    Two 4x4 stride-4 transposed convolutions turn each patch's features into 16 gains and 16
    biases, starting from the constants ``gain`` and ``bias``. With ``linear`` (the page itself when
    ``pixels`` is its logit) a third one paints a slope for it too, ``+ slope * linear``, starting
    at zero: a curve family that bends where the first cannot (see :data:`LINEAR_TERM`).
    """
    from keras import layers
    from keras.initializers import Constant

    g = layers.Conv2DTranspose(1, 4, strides=4, bias_initializer=Constant(gain), name="gain")
    b = layers.Conv2DTranspose(1, 4, strides=4, bias_initializer=Constant(bias), name="bias")
    terms = [layers.Multiply(name="scaled")([g(features), pixels]), b(features)]
    if linear is not None:
        s = layers.Conv2DTranspose(
            1, 4, strides=4, kernel_initializer="zeros", bias_initializer="zeros", name=LINEAR_TERM
        )
        terms.append(layers.Multiply(name="sloped")([s(features), linear]))
    return layers.Add(name="logits")(terms)


def _clean(logits: keras.KerasTensor) -> keras.KerasTensor:
    """The model's output, ``sigmoid(logits)``."""
    from keras import layers

    return layers.Activation("sigmoid", name="clean")(logits)


EDGE_WIDTH = 64
"""Channels, per 4x4 patch, of tone-unet-edge's refinement (see :func:`_edge_refined`)."""


def _edge_refined(
    features: keras.KerasTensor, page: keras.KerasTensor, logits: keras.KerasTensor
) -> keras.KerasTensor:
    """``sigmoid(logits + correction)``, the correction seen through each pixel's neighbourhood.

    The tone curve treats every pixel on its own, but 60 % of its squared error is on stroke
    edges, where the clean value depends on the neighbours too (how far the stroke's edge lies
    inside the pixel). A 4x4 stride-4 convolution packs each patch's pixels of the page and of the
    first pass (``sigmoid(logits)``) into features; with the patch features, a separable 3x3
    convolution over the neighbouring patches (every pixel's 5x5 neighbourhood and more) and a
    transposed one paint a correction to every pixel's logit. Everything heavy runs on the 4x4
    patches, where a CPU convolves many channels fast; the painting starts at zero, so a
    tone-unet-lin grows into this exactly.
    """
    from keras import layers

    first = layers.Activation("sigmoid", name="first_pass")(logits)
    pixels = layers.Concatenate(name="edge_pixels")([page, first])
    packed = layers.Conv2D(32, 4, strides=4, activation="relu", name="edge_patchify")(pixels)
    stack = layers.Concatenate(name="edge_stack")([features, packed])
    hidden = layers.SeparableConv2D(
        EDGE_WIDTH, 3, padding="same", activation="relu", name="edge_conv"
    )(stack)
    correction = layers.Conv2DTranspose(
        1, 4, strides=4, kernel_initializer="zeros", name="edge_correction"
    )(hidden)
    return _clean(layers.Add(name="refined_logits")([logits, correction]))


def _despeckled_input() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The model's input, and the page with lone dark specks filled, which the rest works on.

    A fixed prior, not learnt: nothing else in these nets removes a single dark pixel on light
    paper, which looks to them like the dot of an i (see :class:`docclean.models.layers.Despeckle`).
    """
    import keras

    from docclean.models.layers import Despeckle

    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    return inputs, Despeckle(name="despeckle")(inputs)


FINE_BLOCKS = 3
"""Residual blocks a ``-fine`` architecture adds on the 4x4 patches' features.

Where tone-unet's error lies is the edges of strokes (60 % of its squared error on NoisyOffice VA
is on the 13 % of pixels that are neither paper nor full ink): the gain and bias of each pixel are
a linear read-out of its patch's 32 features, which only two residual blocks at that resolution
shape. The blocks start as the identity, so a trained model's weights carry over exactly
(:func:`grow`); each reaches 4 px further.
"""


def _fast_unet(fine_blocks: int = 0, edge: bool = False) -> keras.Model:
    """fast-unet: the body, then ``sigmoid(gain * page + bias)`` for every pixel.

    A threshold that adapts to the local background and contrast, applied to each pixel's own
    full-resolution value. It starts as a soft threshold at mid-gray, sigmoid(10 * noisy - 5),
    which gives useful gradients on every pixel from the first step (a zero start plateaus on
    "everything white"). ``fine_blocks`` makes fast-unet-fine; ``edge`` corrects the logits
    from each pixel's neighbourhood (fast-unet-edge).
    """
    import keras

    inputs, page = _despeckled_input()
    body = _fast_unet_body(page, fine_blocks)
    logits = _curve_logits(body, page, gain=10.0, bias=-5.0)
    outputs = _edge_refined(body, page, logits) if edge else _clean(logits)
    name = "fast_unet_edge" if edge else "fast_unet_fine" if fine_blocks else "fast_unet"
    return keras.Model(inputs, outputs, name=name)


def _tone_unet(fine_blocks: int = 0, linear_term: bool = False, edge: bool = False) -> keras.Model:
    """tone-unet: the fast-unet body, then ``sigmoid(gain * logit(page) + bias)`` for every pixel.

    On the logit of the page the same head is a tone curve that can copy a pixel exactly (gain 1,
    bias 0), threshold it (a large gain), or anything between: clean text passes through
    unchanged, and anti-aliased stroke edges keep their gray levels. It starts as
    ``sigmoid(2.5 * logit(noisy))``, a mild contrast stretch about mid-gray. ``fine_blocks`` makes
    tone-unet-fine; ``linear_term`` adds ``slope * page`` inside the sigmoid (tone-unet-lin);
    ``edge`` then corrects every pixel's logit from its neighbourhood (tone-unet-edge).
    """
    import keras

    from docclean.models.layers import Logit

    inputs, page = _despeckled_input()
    logit = Logit(name="logit")(page)
    body = _fast_unet_body(page, fine_blocks)
    logits = _curve_logits(body, logit, gain=2.5, bias=0.0, linear=page if linear_term else None)
    outputs = _edge_refined(body, page, logits) if edge else _clean(logits)
    grown = "_edge" if edge else "_lin" if linear_term else "_fine" if fine_blocks else ""
    name = f"tone_unet{grown}"
    return keras.Model(inputs, outputs, name=name)


LINEAR_TERM = "slope"
"""The layer that paints tone-unet-lin's third curve parameter.

On NoisyOffice VA, the best curve ``sigmoid(g * logit(x) + b)`` fitted to each 4x4 patch on its
own (an oracle: the target is known; ``lab/curve_oracle.py``) still leaves an RMSE of 0.0201;
with a third term ``+ h * x`` it leaves 0.0160, with ``h * sqrt(x)``, ``h * logit(x)**2`` or
``h * x**2`` instead 0.0168, 0.0180 and 0.0184. Stains darken paper and ink alike (nearly a
product), which a curve in the logit alone cannot undo for paper, stroke edges and ink at once.
"""


_FAST_UNET = Architecture(
    name="fast-unet",
    summary="lone dark specks filled, then a U-Net on 4x4 patches: separable residual "
    "blocks at 1/4, 1/8 and 1/16 resolution, 96 px receptive radius, output "
    "sigmoid(gain * page + bias) per pixel; nothing heavy at full resolution (fast on CPUs)",
    build=_fast_unet,
    receptive_radius=96,  # 95 for the U-Net, 1 for the despeckle layer
    stride=16,
    bottleneck="mid_2_add",
    tile_size=1472,  # squares for any page; portrait A4 and Letter take the page-shaped tile
    batch_size=1,
    train_patch_size=256,
    train_batch_size=8,
)
_TONE_UNET = replace(
    _FAST_UNET,
    name="tone-unet",
    summary="fast-unet (lone dark specks filled, then the U-Net) with a tone-curve head: "
    "output sigmoid(gain * logit(page) + bias) per pixel, which can copy clean pixels "
    "exactly or threshold them; same speed",
    build=_tone_unet,
)


def _fine(base: Architecture, build: Callable[..., keras.Model], note: str = "") -> Architecture:
    """``base`` with :data:`FINE_BLOCKS` more blocks: a grown architecture, 4 px more reach each."""
    radius = base.receptive_radius + 4 * FINE_BLOCKS
    return replace(
        base,
        name=f"{base.name}-fine",
        summary=f"{base.name} with three more separable residual blocks on the 4x4 "  # FINE_BLOCKS
        f"patches' features{note}, {radius} px receptive radius; a quarter more FLOPs",
        build=functools.partial(build, fine_blocks=FINE_BLOCKS),
        receptive_radius=radius,
        grows_from=base.name,
    )


_TONE_UNET_FINE = _fine(_TONE_UNET, _tone_unet, " (sharper stroke edges)")
_TONE_UNET_LIN = replace(
    _TONE_UNET_FINE,
    name="tone-unet-lin",
    summary=_TONE_UNET_FINE.summary.replace("tone-unet with", "tone-unet-fine: tone-unet with", 1)
    + "; its tone curve has a third term, sigmoid(gain * logit(page) + slope * page + bias)",
    build=functools.partial(_tone_unet, fine_blocks=FINE_BLOCKS, linear_term=True),
    grows_from=_TONE_UNET_FINE.name,
)


def _edge(base: Architecture, name: str) -> Architecture:
    """``base`` with :func:`_edge_refined`'s correction: a grown architecture, 4 px more reach."""
    build: Callable[..., keras.Model] = base.build  # a builder that takes ``edge``
    return replace(
        base,
        name=name,
        summary=f"{base.name}, its logits corrected pixel by pixel from the neighbouring 4x4 "
        "patches of the page and of its first pass, with the patch features: a separable 3x3 "
        f"convolution ({EDGE_WIDTH} channels) on the patches (sharper stroke edges)",
        build=functools.partial(build, edge=True),
        receptive_radius=base.receptive_radius + 4,  # one patch further, through the 3x3
        grows_from=base.name,
    )


MIRROR_AXES = ("columns", "rows")
"""The views a ``-mirrored`` architecture averages: the page mirrored left-right, then top-bottom.

The nets' kernels are not symmetric, so each view errs a little differently and their average errs
less, like an ensemble of two models for the weights of one. On DIBCO 2016 the binarizers'
validation twin (``fast-unet``, 2009-2014) went from FM 88.75 / PSNR 18.74 to 89.02 / 18.84, both
thresholded at 0.5, and to 90.08 / 19.01 against 89.52 / 18.83 at its decision level 0.65
(``lab/mirror_views.py``); this pair did as well as all four flips in a first check.
"""
FOUR_VIEWS = (None, "columns", "rows", "both")
"""The views a ``-mirrored4`` architecture averages: the page as it is, mirrored left-right,
top-bottom and both ways. For the specialist, whose budget is RMSE alone: on NoisyOffice VA its
twin's 0.0192 with two views is 0.0189 with four, every one of the 72 pages closer, for twice the
two views' work.
"""


def _mirrored(base: Architecture, views: tuple[str | None, ...], suffix: str) -> keras.Model:
    """``base`` run on each of ``views`` (:class:`~docclean.models.layers.Mirror` axes, None for
    the page as it is), mirrored back and averaged.

    The same weights serve every view (``base``'s model is one nested layer), so the model costs
    one pass per view and nothing more. A tile whose side is a multiple of ``base``'s stride keeps
    its pooling grid when mirrored, so the tiler's exact stitching holds. The average then goes
    through :class:`~docclean.models.layers.Recentre`, the identity until a binarizer's decision level is
    set in it.
    """
    import keras

    from docclean.models.layers import Mirror, Recentre

    inner = base.build()
    inputs = keras.Input(shape=(None, None, 1), name="noisy")
    outputs = []
    for axis in views:
        if axis is None:
            outputs.append(inner(inputs))
            continue
        mirrored = Mirror(axis, name=f"mirror_{axis}")(inputs)
        outputs.append(Mirror(axis, name=f"unmirror_{axis}")(inner(mirrored)))
    mean = keras.layers.Average(name="views_mean")(outputs)
    return keras.Model(inputs, Recentre(name="clean")(mean), name=f"{inner.name}_{suffix}")


def nested_base(model: keras.Model) -> keras.Model | None:
    """The base net a ``-mirrored`` model runs on each view (one nested layer); None for others."""
    import keras

    return next((layer for layer in model.layers if isinstance(layer, keras.Model)), None)


def _with_mirrors(base: Architecture, views: tuple[str | None, ...] = MIRROR_AXES) -> Architecture:
    """``base`` averaged over mirrored views (:func:`_mirrored`): grows from ``base`` exactly."""
    suffix = "mirrored" if views == MIRROR_AXES else f"mirrored{len(views)}"
    summary = (
        f"{base.name} run on the page mirrored left-right and on the page mirrored top-bottom, "
        "the two outputs mirrored back and averaged (one set of weights, twice the work); a "
        "binarizer's decision level then moved to 0.5 (its threshold)"
        if views == MIRROR_AXES
        else f"{base.name} run on the page as it is and mirrored left-right, top-bottom and both "
        f"ways, the {len(views)} outputs mirrored back and averaged (one set of weights, "
        f"{len(views)} times the work)"
    )
    return replace(
        base,
        name=f"{base.name}-{suffix}",
        summary=summary,
        build=functools.partial(_mirrored, base, views, suffix),
        bottleneck="",  # inside the nested base model: regularize the base, then grow
        grows_from=base.name,
        views=len(views),
    )


_FAST_UNET_FINE = _fine(_FAST_UNET, _fast_unet)
_TONE_UNET_EDGE = _edge(_TONE_UNET_LIN, "tone-unet-edge")

ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            name="seed-text",
            summary="seed tutorial autoencoder: Conv64 3x3, MaxPool 2, Conv64 3x3, UpSample 2, Conv1 "
            "3x3 sigmoid (MSE, Adam 1e-3)",
            build=_seed_text,
            receptive_radius=5,
            stride=2,
            bottleneck="mid_conv",
        ),
        Architecture(
            name="seed-deep",
            summary="seed tutorial deep autoencoder: Conv 64, 32, 16 with max-pooling, mirrored "
            "with upsampling, Conv1 sigmoid",
            build=_seed_deep,
            receptive_radius=29,
            stride=8,
            bottleneck="enc_pool2",
        ),
        _FAST_UNET,
        _with_mirrors(_FAST_UNET),
        _TONE_UNET,
        _FAST_UNET_FINE,
        _with_mirrors(_FAST_UNET_FINE),
        _edge(_FAST_UNET, "fast-unet-edge"),
        _TONE_UNET_FINE,
        _TONE_UNET_LIN,
        _TONE_UNET_EDGE,
        _with_mirrors(_TONE_UNET_EDGE),
        _with_mirrors(_TONE_UNET_EDGE, FOUR_VIEWS),
    )
}


def get_architecture(name: str) -> Architecture:
    """The registered architecture called ``name``; unknown names are a usage error."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UsageError(f"unknown architecture {name!r}", f"choose one of: {known}") from None


def grows_into(source: str, arch: Architecture) -> bool:
    """Whether a ``source`` model grows into ``arch``: directly, or through the ones between."""
    step = arch.grows_from
    while step is not None:
        if step == source:
            return True
        step = ARCHITECTURES[step].grows_from
    return False


def grow(model: keras.Model, arch: Architecture) -> keras.Model:
    """A fresh ``arch`` model carrying ``model``'s weights, layer by layer name.

    ``model`` must be of ``arch.grows_from``, or grow into it (tone-unet into tone-unet-fine, then
    tone-unet-lin): every layer of it is in ``arch`` under the same name, and the layers ``arch``
    adds start as the identity, so the grown model computes what ``model`` did until training
    changes it. A ``-mirrored`` architecture holds the model it grows from whole, as one layer.
    """
    source = model.name.replace("_", "-")  # the builders name a model after its architecture
    if arch.grows_from is None or not grows_into(source, arch):
        raise ValueError(f"a {source} model does not grow into {arch.name}")
    if arch.grows_from != source:
        model = grow(model, get_architecture(arch.grows_from))
    grown = arch.build()
    base = nested_base(grown)
    if base is not None:
        base.set_weights(model.get_weights())
        return grown
    for layer in model.layers:
        if layer.weights:
            grown.get_layer(layer.name).set_weights(layer.get_weights())
    return grown


def unwrap(model: keras.Model, arch: Architecture) -> keras.Model:
    """A fresh ``arch`` model carrying the base net of ``model``, a ``-mirrored`` model grown from
    ``arch``: the base alone, run once instead of once per view (before any fine-tuning)."""
    base = nested_base(model)
    source = model.name.replace("_", "-")
    if base is None or ARCHITECTURES[source].grows_from != arch.name:
        raise ValueError(f"a {source} model does not unwrap into {arch.name}")
    plain = arch.build()
    plain.set_weights(base.get_weights())
    return plain


def flops_per_pixel(model: keras.Model, side: int = 256) -> int:
    """Floating-point operations per input pixel of one forward pass: 2 per multiply-add.

    Counts convolutions (plain, separable and transposed) and their biases, which are nearly all of
    the work; pooling, upsampling, additions and activations are left out. Measured on a
    ``side`` x ``side`` input, a multiple of every registered architecture's stride.
    """
    import keras
    import numpy as np

    base = nested_base(model)
    if base is not None:  # a -mirrored wrapper: its base's work once per view (mirrors cost none)
        return flops_per_pixel(base, side) * len(model.get_layer("views_mean").input)
    kinds = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.Conv2DTranspose)
    convs = [layer for layer in model.layers if isinstance(layer, kinds)]
    probe = keras.Model(model.input, [[layer.input, layer.output] for layer in convs])
    shapes = probe(np.zeros((1, side, side, 1), np.float32))
    macs = 0
    for layer, (x, y) in zip(convs, shapes, strict=True):
        kh, kw = layer.kernel_size
        c_in, c_out = int(x.shape[-1]), int(y.shape[-1])
        out_px = int(y.shape[1] * y.shape[2])
        if isinstance(layer, keras.layers.SeparableConv2D):
            macs += out_px * (kh * kw * c_in + c_in * c_out)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            macs += int(x.shape[1] * x.shape[2]) * kh * kw * c_in * c_out
        else:
            macs += out_px * kh * kw * c_in * c_out
        macs += out_px * c_out if layer.use_bias else 0
    return round(2 * macs / (side * side))
