"""docclean's own Keras layers: serializable, registered under the ``docclean`` package.

Importing this module registers them, which :func:`docclean.modelstore.load_model` does before it
deserialises a model with ``safe_mode=True``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

LOGIT_EPS = 1.0 / 512
"""Pixel values are clipped to [eps, 1 - eps] first, so black and white map to about -/+ 6.2."""


@keras.saving.register_keras_serializable(package="docclean")
class Logit(keras.layers.Layer):
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

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "eps": self.eps}
