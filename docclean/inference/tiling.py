"""Split pages into overlapping fixed-size tiles and stitch the cleaned tiles back (pure numpy).

Geometry: the page sits in a virtual canvas that extends it by symmetric reflection on every side.
Tile ``(i, j)`` covers canvas rows ``[i * core_height - margin, i * core_height - margin + height)``
and the like for columns (page coordinates), and only its *core*, the part ``margin`` pixels inside
its border, is kept. When ``margin`` covers the model's receptive field and every tile origin lies
on the model's stride grid, the stitched result equals running the model once on the whole
reflected page (:func:`whole_page_canvas`), whatever the page size and the tile's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from docclean.errors import UsageError

BatchPredictor = Callable[[np.ndarray], np.ndarray]
"""Maps a float32 batch ``(B, H, W)`` to a float32 batch of the same shape."""


@dataclass(frozen=True)
class TileConfig:
    """Tile geometry: tiles of ``tile_size`` px (square, or ``tile_width`` px wide) whose outer
    ``margin`` px are context only."""

    tile_size: int
    margin: int
    batch_size: int = 16
    tile_width: int | None = None
    """Width of the tiles when they are not square (``tile_size`` is then their height)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of each tile."""
        return self.tile_size, self.tile_width or self.tile_size

    @property
    def core_shape(self) -> tuple[int, int]:
        """(height, width) of the part of each tile that is kept."""
        height, width = self.shape
        return height - 2 * self.margin, width - 2 * self.margin

    @property
    def overlap(self) -> int:
        """Pixels two neighbouring tiles share."""
        return 2 * self.margin

    def validate(self, receptive_radius: int = 0, stride: int = 1) -> None:
        """Raise :class:`UsageError` unless tiles of this shape give exact results for the model."""
        if self.batch_size < 1:
            raise UsageError(f"batch size must be at least 1, not {self.batch_size}")
        if self.margin < receptive_radius:
            raise UsageError(
                f"tile margin {self.margin} px is smaller than the model's receptive radius "
                f"{receptive_radius} px",
                "use a larger margin (or leave it to the default)",
            )
        height, width = self.shape
        if self.margin % stride or height % stride or width % stride:
            raise UsageError(
                f"tile size {self._size} and margin {self.margin} must be multiples of the "
                f"model's stride {stride}"
            )
        if min(self.core_shape) < max(stride, 1):
            raise UsageError(
                f"tile size {self._size} leaves no room inside a margin of {self.margin} px",
                f"use a tile size of at least {2 * self.margin + max(stride, 1)}",
            )

    @property
    def _size(self) -> str:
        """The tile size as a message gives it: its side, or height x width."""
        height, width = self.shape
        return str(height) if height == width else f"{height}x{width}"


def default_margin(receptive_radius: int, stride: int) -> int:
    """The smallest margin that covers ``receptive_radius`` and lies on the stride grid."""
    return -(-max(receptive_radius, 0) // stride) * stride


def tile_origins(height: int, width: int, config: TileConfig) -> list[tuple[int, int]]:
    """Page coordinates ``(y, x)`` of the top-left pixel of each tile's core, row by row."""
    core_height, core_width = config.core_shape
    rows = range(0, max(height, 1), core_height)
    cols = range(0, max(width, 1), core_width)
    return [(y, x) for y in rows for x in cols]


def reflect_indices(start: int, length: int, size: int) -> np.ndarray:
    """Indices ``start .. start+length-1`` folded into ``[0, size)`` by symmetric reflection.

    Matches ``numpy.pad(mode="symmetric")`` for any distance, also when it exceeds ``size``.
    """
    idx = np.arange(start, start + length) % (2 * size)
    return np.where(idx >= size, 2 * size - 1 - idx, idx)


def extract_tile(page: np.ndarray, y: int, x: int, config: TileConfig) -> np.ndarray:
    """The tile whose core starts at page pixel ``(y, x)``, reflected past the edges."""
    (tile_height, tile_width), m = config.shape, config.margin
    height, width = page.shape
    top, left = y - m, x - m
    if top >= 0 and left >= 0 and top + tile_height <= height and left + tile_width <= width:
        return page[top : top + tile_height, left : left + tile_width]
    rows = reflect_indices(top, tile_height, height)
    cols = reflect_indices(left, tile_width, width)
    return page.take(rows, axis=0).take(cols, axis=1)  # as page[np.ix_(rows, cols)], faster


def iter_batches(
    page: np.ndarray, config: TileConfig
) -> Iterator[tuple[np.ndarray, list[tuple[int, int]]]]:
    """Yield ``(batch, origins)``: full ``(batch_size, H, W)`` float32 batches and their tiles' origins.

    The last batch is padded with blank tiles so every batch has the same shape.
    """
    origins = tile_origins(page.shape[0], page.shape[1], config)
    size = config.batch_size
    for start in range(0, len(origins), size):
        chunk = origins[start : start + size]
        if size == 1:  # one tile: no batch to fill (a copy saved per tile)
            y, x = chunk[0]
            tile = np.ascontiguousarray(extract_tile(page, y, x, config), dtype=np.float32)
            yield tile[np.newaxis], chunk
            continue
        batch = np.ones((size, *config.shape), dtype=np.float32)
        for k, (y, x) in enumerate(chunk):
            batch[k] = extract_tile(page, y, x, config)
        yield batch, chunk


def stitch_tile(out: np.ndarray, tile: np.ndarray, y: int, x: int, config: TileConfig) -> None:
    """Copy the core of a cleaned ``tile`` into ``out`` at page pixel ``(y, x)``, clipped to the page."""
    m = config.margin
    core_height, core_width = config.core_shape
    h = min(core_height, out.shape[0] - y)
    w = min(core_width, out.shape[1] - x)
    out[y : y + h, x : x + w] = tile[m : m + h, m : m + w]


def run_tiled(page: np.ndarray, predict: BatchPredictor, config: TileConfig) -> np.ndarray:
    """Clean a 2-D float32 page tile by tile; memory is the page, its output and one batch."""
    if page.ndim != 2 or page.size == 0:
        raise UsageError(f"a page must be a non-empty 2-D array, got shape {page.shape}")
    page = np.asarray(page, dtype=np.float32)
    out = np.empty_like(page)
    for batch, origins in iter_batches(page, config):
        cleaned = predict(batch)
        for k, (y, x) in enumerate(origins):
            stitch_tile(out, cleaned[k], y, x, config)
    return out


def whole_page_canvas(page: np.ndarray, margin: int, stride: int) -> np.ndarray:
    """The page reflected by ``margin`` px on every side, then on the bottom and right up to a
    multiple of ``stride``: the input on which one whole-page model call matches :func:`run_tiled`.
    Crop the model's output with ``[margin : margin + H, margin : margin + W]``."""
    height, width = page.shape
    extra_h = -(height + 2 * margin) % stride
    extra_w = -(width + 2 * margin) % stride
    rows = reflect_indices(-margin, height + 2 * margin + extra_h, height)
    cols = reflect_indices(-margin, width + 2 * margin + extra_w, width)
    return page[np.ix_(rows, cols)]
