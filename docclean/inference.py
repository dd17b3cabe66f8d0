"""Run a loaded model over pages: fixed-shape batches through one traced graph, then stitching."""

from __future__ import annotations

from typing import Any

import numpy as np

from docclean.architectures import ARCHITECTURES
from docclean.backend import Device, tensorflow
from docclean.modelstore import LoadedModel
from docclean.tiling import TileConfig, default_margin, run_tiled

DEFAULT_TILE_SIZE = 256
DEFAULT_BATCH_SIZE = 8
BINARIZE_THRESHOLD = 0.5
"""``--binarize``: output values at or above this are white (background), below it black (text)."""


class PageCleaner:
    """Cleans whole pages with one model; the graph is traced once for ``(batch, tile, tile, 1)``.

    Tile and batch size default to the architecture's (see :mod:`docclean.architectures`).
    With ``binarize`` the cleaned page is thresholded into a bool page (True = white).
    """

    def __init__(
        self,
        loaded: LoadedModel,
        tile_size: int | None = None,
        batch_size: int | None = None,
        margin: int | None = None,
        device: Device = "auto",
        binarize: bool = False,
    ) -> None:
        tf = tensorflow(device)
        self.loaded = loaded
        self.binarize = binarize
        arch = ARCHITECTURES.get(str(loaded.card.get("architecture")))
        if tile_size is None:
            tile_size = arch.tile_size if arch else DEFAULT_TILE_SIZE
        if batch_size is None:
            batch_size = arch.batch_size if arch else DEFAULT_BATCH_SIZE
        if margin is None:
            margin = default_margin(loaded.receptive_radius, loaded.stride)
        self.config = TileConfig(tile_size=tile_size, margin=margin, batch_size=batch_size)
        self.config.validate(loaded.receptive_radius, loaded.stride)
        self.traces = 0
        model = loaded.model
        spec = tf.TensorSpec((batch_size, tile_size, tile_size, 1), tf.float32)

        def forward(batch: Any) -> Any:
            self.traces += 1  # runs only while tracing
            return model(batch, training=False)

        self._forward = tf.function(forward, input_signature=[spec])

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Clean a ``(B, T, T)`` float32 batch of tiles."""
        result = self._forward(batch[..., np.newaxis])
        return np.asarray(result)[..., 0]

    def clean(self, page: np.ndarray) -> np.ndarray:
        """Clean one float32 grayscale page of any size: float32 in [0, 1], or bool if binarizing."""
        cleaned = run_tiled(page, self.predict_batch, self.config)
        return cleaned >= BINARIZE_THRESHOLD if self.binarize else cleaned
