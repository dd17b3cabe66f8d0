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
}


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

    losses: dict[str, Callable[[Any, Any], Any]] = {
        "mse": mse,
        "bce": keras.losses.BinaryCrossentropy(),
        "l1": keras.losses.MeanAbsoluteError(),
        "mse+ssim": lambda t, p: mse(t, p) + 0.1 * ssim_term(t, p),
        "mse+edge": lambda t, p: mse(t, p) + edge_term(t, p),
    }
    if name not in losses:
        raise UsageError(f"unknown loss {name!r}", f"choose one of: {', '.join(LOSSES)}")
    return losses[name]
