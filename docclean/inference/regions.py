"""Regions of a page that the rules after the model judge: a component's padded box, the paper
around a region and the values under a mask (shared by :mod:`docclean.inference.tints`,
:mod:`docclean.inference.marks` and :mod:`docclean.inference.two_tone`)."""

from __future__ import annotations

import numpy as np

RING_PAD = 5
"""Pixels a padded box needs around a region for :func:`surround`'s ring (4 px out)."""


def padded_box(stat: np.ndarray, shape: tuple[int, ...], pad: int) -> tuple[slice, slice]:
    """A connected component's bounding box (``stat``: x, y, width, height, ... as
    ``cv2.connectedComponentsWithStats`` gives it) padded by ``pad`` px, within a page of
    ``shape``."""
    x, y, width, height = (int(v) for v in stat[:4])
    return (
        slice(max(y - pad, 0), min(y + height + pad, shape[0])),
        slice(max(x - pad, 0), min(x + width + pad, shape[1])),
    )


def masked(mask: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each of ``arrays`` where ``mask`` is set (``array[mask != 0]``; a bool or a 0/1 uint8
    mask), gathered at the mask's flat indices: on a whole page several times faster than boolean
    indexing (7 against 42 ms)."""
    where = np.flatnonzero(mask)
    return [np.ravel(array).take(where) for array in arrays]


def surround(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2 px just outside ``region`` and its own pixels (``near``), and the ring 3-4 px out
    (``ring``), where the surrounding paper is read."""
    import cv2

    grown = region.astype(np.uint8)
    near = cv2.dilate(grown, np.ones((5, 5), np.uint8)).astype(bool)
    ring = cv2.dilate(grown, np.ones((9, 9), np.uint8)).astype(bool) & ~near
    return near, ring
