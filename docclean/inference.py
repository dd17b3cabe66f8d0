"""Run a loaded model over pages: fixed-shape batches through one traced graph, then stitching."""

from __future__ import annotations

from typing import Any

import numpy as np

from docclean.backend import Device, tensorflow
from docclean.modelstore import LoadedModel
from docclean.tiling import TileConfig, default_margin, run_tiled

DEFAULT_TILE_SIZE = 256
DEFAULT_BATCH_SIZE = 8


class PageCleaner:
    """Cleans whole pages with one model; the graph is traced once for ``(batch, tile, tile, 1)``."""

    def __init__(
        self,
        loaded: LoadedModel,
        tile_size: int = DEFAULT_TILE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        margin: int | None = None,
        device: Device = "auto",
    ) -> None:
        tf = tensorflow(device)
        self.loaded = loaded
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
        """Clean one float32 grayscale page of any size; returns float32 in [0, 1]."""
        return run_tiled(page, self.predict_batch, self.config)
