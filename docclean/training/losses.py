"""Training losses by name: pixel losses and structure-aware terms for text pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docclean.errors import UsageError

LOSSES = {
    "mse": "mean squared error (the Kaggle score's square)",
    "bce": "binary cross-entropy (sharper, for near-bilevel targets)",
    "l1": "mean absolute error (robust to a few wrong target pixels)",
    "mse+ssim": "MSE + 0.1 x (1 - SSIM): keeps strokes and contrast",
    "mse+edge": "MSE + MSE of Sobel gradients: keeps stroke edges sharp",
    "mse+ink": "MSE, ink drawn lighter than its target counted 4 times: erasing costs more",
}

INK_LEVEL = 0.5
"""A target pixel darker than this is ink, for ``mse+ink``."""
INK_ERASE_WEIGHT = 3.0
"""Extra weight ``mse+ink`` puts on ink pixels drawn lighter than their target."""


def get_loss(name: str) -> Callable[[Any, Any], Any]:
    """The Keras loss function called ``name`` (see :data:`LOSSES`)."""
    import keras
    from keras import ops

    def mse(y_true: Any, y_pred: Any) -> Any:
        return ops.mean(ops.square(y_true - y_pred))

    def ssim_term(y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        return 1.0 - ops.mean(tf.image.ssim(y_true, y_pred, max_val=1.0, filter_size=7))

    def edge_term(y_true: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        return ops.mean(ops.square(tf.image.sobel_edges(y_true) - tf.image.sobel_edges(y_pred)))

    def ink_erase_term(y_true: Any, y_pred: Any) -> Any:
        ink = ops.cast(y_true < INK_LEVEL, y_pred.dtype)
        return ops.mean(ink * ops.square(ops.relu(y_pred - y_true)))

    losses: dict[str, Callable[[Any, Any], Any]] = {
        "mse": mse,
        "bce": keras.losses.BinaryCrossentropy(),
        "l1": keras.losses.MeanAbsoluteError(),
        "mse+ssim": lambda t, p: mse(t, p) + 0.1 * ssim_term(t, p),
        "mse+edge": lambda t, p: mse(t, p) + edge_term(t, p),
        "mse+ink": lambda t, p: mse(t, p) + INK_ERASE_WEIGHT * ink_erase_term(t, p),
    }
    if name not in losses:
        raise UsageError(f"unknown loss {name!r}", f"choose one of: {', '.join(LOSSES)}")
    return losses[name]
