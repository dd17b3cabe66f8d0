"""docclean's own Keras layers: serializable, registered under the ``docclean`` package.

Importing this module registers them, which :func:`docclean.models.store.load_model` does before it
deserialises a model with ``safe_mode=True``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import keras
from keras import ops


class _ShapeKeeping(keras.layers.Layer):
    """A layer whose output has its input's shape (every layer here)."""

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


LOGIT_EPS = 1.0 / 512
"""Pixel values are clipped to [eps, 1 - eps] first, so black and white map to about -/+ 6.2."""


@keras.saving.register_keras_serializable(package="docclean")
class Logit(_ShapeKeeping):
    """``log(x / (1 - x))`` of pixel values clipped to ``[eps, 1 - eps]``: the inverse of a sigmoid.

    A head ``sigmoid(gain * logit(x) + bias)`` then returns the pixel itself at gain 1 and bias 0,
    a threshold at large gain, and a smooth tone curve between.
    """

    def __init__(self, eps: float = LOGIT_EPS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x: Any) -> Any:
        x = ops.clip(x, self.eps, 1.0 - self.eps)
        return ops.log(x / (1.0 - x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "eps": self.eps}


@keras.saving.register_keras_serializable(package="docclean")
class Despeckle(_ShapeKeeping):
    """Fills lone dark pixels: salt-and-pepper's black dots and one-pixel dust on light paper.

    A pixel is a speck when its 8 neighbours are all within ``spread`` of each other and all at
    least ``contrast`` lighter than it; it takes its darkest neighbour's value. Nothing else
    changes: text strokes, dots and rules have dark neighbours, and light pixels inside dark areas
    (the 1 px counters of small print) are left alone. Page borders are mirrored.

    The contrast is high (0.7) because the full stop of very small print can be one pixel too,
    but a scanner's optics soften it: on rendered 6 px print, 0.7 fills a third as many real ink
    pixels as 0.4 while it fills every black speck on paper lighter than 0.7.
    """

    def __init__(self, spread: float = 0.2, contrast: float = 0.7, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spread = float(spread)
        self.contrast = float(contrast)

    def call(self, x: Any) -> Any:
        padded = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        shifts = [slice(0, -2), slice(1, -1), slice(2, None)]
        neighbours = [
            padded[:, rows, cols, :]
            for i, rows in enumerate(shifts)
            for j, cols in enumerate(shifts)
            if (i, j) != (1, 1)
        ]
        lightest = functools.reduce(ops.maximum, neighbours)
        darkest = functools.reduce(ops.minimum, neighbours)
        speck = ops.logical_and(lightest - darkest < self.spread, darkest - x > self.contrast)
        return ops.where(speck, darkest, x)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "spread": self.spread, "contrast": self.contrast}


@keras.saving.register_keras_serializable(package="docclean")
class Mirror(_ShapeKeeping):
    """Mirrors a ``(batch, rows, columns, channels)`` page left-right (``"columns"``),
    top-bottom (``"rows"``) or both ways (``"both"``, a half turn); applied twice it gives the
    page back exactly."""

    AXES: ClassVar[dict[str, tuple[int, ...]]] = {"rows": (1,), "columns": (2,), "both": (1, 2)}

    def __init__(self, axis: str = "columns", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis not in self.AXES:
            raise ValueError(f"axis must be one of {sorted(self.AXES)}, not {axis!r}")
        self.axis = axis

    def call(self, x: Any) -> Any:
        return ops.flip(x, axis=self.AXES[self.axis])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="docclean")
class Recentre(_ShapeKeeping):
    """Moves a binarizer's decision level to 0.5: ``sigmoid(logit(x) - logit(level))``.

    Written as ``x (1 - l) / (x (1 - l) + (1 - x) l)``, which is the same and exact at the ends:
    0 and 1 stay, ``level`` becomes 0.5, and order is kept, so thresholding the output at 0.5 is
    thresholding ``x`` at ``level``. The level is one non-trainable weight, 0.5 (the identity) when
    built; a model that binarizes best at another level carries it in its file, and every consumer
    of the output (``clean --binarize``, ``evaluate``) applies it without knowing of it.
    """

    def build(self, input_shape: Any) -> None:
        self.level = self.add_weight(
            name="level", shape=(), initializer=keras.initializers.Constant(0.5), trainable=False
        )

    def call(self, x: Any) -> Any:
        kept = x * (1.0 - self.level)
        return kept / (kept + (1.0 - x) * self.level)


@keras.saving.register_keras_serializable(package="docclean")
class PatchTranspose(keras.layers.Layer):
    """A transposed convolution whose kernel equals its stride, computed as what it is: each input
    pixel's features mapped (one matrix product) to a ``stride x stride`` patch of outputs, the
    patches then laid side by side.

    Same weights and outputs as ``Conv2DTranspose(filters, k, strides=k)`` (``"valid"`` padding),
    a third of the time on CPUs, where TensorFlow runs a transposed convolution as a generic
    convolution gradient. :func:`docclean.inference.graph.inference_model` puts one in place of
    each such layer for inference, sharing its weights; models are trained and saved with the
    plain layer.
    """

    def __init__(self, filters: int, patch: int, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.patch = int(patch)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: Any) -> None:
        channels = int(input_shape[-1])
        size = (self.patch, self.patch, self.filters, channels)  # Conv2DTranspose's layout
        self.kernel = self.add_weight(name="kernel", shape=size)
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def share_weights_of(self, layer: keras.layers.Conv2DTranspose) -> None:
        """Compute with ``layer``'s own kernel and bias (the same variables, not copies), so that
        what changes them (training, loading weights) changes this layer too."""
        self.kernel, self.bias = layer.kernel, layer.bias
        self.built = True

    def call(self, x: Any) -> Any:
        k, filters = self.patch, self.filters
        # (k, k, out, in) -> (in, k * k * out): the output (row a, column b, channel o) of a patch
        kernel = ops.reshape(ops.transpose(self.kernel, (3, 0, 1, 2)), (-1, k * k * filters))
        y = ops.matmul(x, kernel) + ops.tile(self.bias, [k * k])
        batch, rows, cols = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
        y = ops.reshape(y, (batch, rows, cols, k, k, filters))
        y = ops.transpose(y, (0, 1, 3, 2, 4, 5))
        return self.activation(ops.reshape(y, (batch, rows * k, cols * k, filters)))

    def compute_output_shape(self, input_shape: Any) -> Any:
        batch, rows, cols, _ = input_shape
        rows, cols = (None if side is None else side * self.patch for side in (rows, cols))
        return (batch, rows, cols, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "patch": self.patch,
            "activation": keras.activations.serialize(self.activation),
        }
