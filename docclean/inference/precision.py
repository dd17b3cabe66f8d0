"""Mixed precision for inference, used only where it keeps a model's pages within 1/255.

:func:`mixed_precision_model` copies a model with its many-channel layers (the U-Net body, on
4x4 patches) in ``mixed_float16`` and its one-channel, full-resolution layers (despeckling, the
tone-curve head) in float32. :func:`mixed_precision_error` measures how far the copy's pages are
from the float32 model's on probe pages; :class:`~docclean.inference.cleaner.PageCleaner` uses the
copy only when that is at most :data:`MAX_ERROR`. Measured on the CPU (float16 emulated,
2026-12-07): the default moves by 0.8 gray levels and runs mixed; the specialist (four mirrored
views of a net) by 1.2 and the binarizer (two) by 1.4, and they are kept in float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_ERROR = 1 / 255
"""The most any output pixel may change for mixed precision to be used: one gray level."""


def mixed_precision_model(model: Any) -> Any:
    """A copy of ``model`` (same weights) whose layers with more than one output channel compute
    in float16 (``mixed_float16``: float32 weights and outputs cast at the one-channel layers).
    A ``-mirrored`` model's nested net is copied so too (its own output has one channel)."""
    import keras

    def clone(layer: Any) -> Any:
        if isinstance(layer, keras.Model):  # a -mirrored model's net, run on each view
            return mixed_precision_model(layer)
        config = layer.get_config()
        if layer.output.shape[-1] > 1:
            config["dtype"] = "mixed_float16"
        return layer.__class__.from_config(config)

    mixed = keras.models.clone_model(model, clone_function=clone)
    mixed.set_weights(model.get_weights())
    return mixed


def probe_tiles(size: int = 256, count: int = 6) -> np.ndarray:
    """``count`` gray test tiles (``size`` px): paper with a gradient, text-like strokes of
    several darknesses, a stain and noise; always the same. Three were too few: the four-view
    specialist moved by 0.94 gray levels on them, by 1.2 on six and on a dirty page."""
    rng = np.random.default_rng(255)
    tiles = np.empty((count, size, size), np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for k in range(count):
        tile = np.full((size, size), 0.92, np.float32) - 0.1 * xx / size
        for top in range(6, size - 10, 14):
            x = int(rng.integers(2, 10))
            while x < size - 12:
                word = int(rng.integers(4, 24))
                tile[top : top + 7, x : x + word] = rng.uniform(0.02, 0.5)
                x += word + int(rng.integers(3, 9))
        cy, cx = rng.uniform(0, size, 2)
        r = rng.uniform(0.15, 0.4) * size
        tile *= 1 - 0.3 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        tile += rng.normal(0, 0.03, tile.shape).astype(np.float32)
        tiles[k] = np.clip(tile, 0, 1)
    return tiles


def mixed_precision_error(model: Any, mixed: Any, tiles: np.ndarray | None = None) -> float:
    """The largest difference between ``mixed``'s outputs and ``model``'s on probe tiles."""
    batch = (probe_tiles() if tiles is None else tiles)[..., np.newaxis]
    exact = np.asarray(model(batch, training=False), np.float32)
    approx = np.asarray(mixed(batch, training=False)).astype(np.float32)
    return float(np.abs(exact - approx).max())
