"""Shadows divided out before the model: a hand's, a phone's or a lamp's shade lifted to the paper.

The default cleans a page in tiles of a few hundred pixels, too small to tell a hard shadow from a
heading or a stain, and leaves the text under a phone photo's shadow on textured gray. So before
the model a page is divided by an estimate of its paper (:func:`paper_estimate`): a morphological
closing, which fills every stroke narrower than its disc with the paper around it, then a gaussian.
The disc is sized by the page's own widest strokes (:func:`stroke_disc`, :data:`DISC_STROKES`
times the widest), so a bold heading is text, not paper, and ink wider still is darker than any
shadow (:data:`SHADOW_FLOOR`) and left out of the estimate; a page whose paper estimate is nowhere
:data:`MIN_DEPTH` darker than its paper is left as it is (clean pages, good scans). What the
closing cannot tell from a shadow is a flat tint or a shaded box wider than the disc: the cleaner
looks for tints twice after the model (:func:`docclean.inference.tints.keep_tints`, which keeps
only sharp-edged flat regions on paper: a shadow's penumbra is softer), on the divided page (tints
under the shadow, now on paper, and those its edge crosses), then on the undivided one (tints
the division whitened; only where that darkens the page).
Measured: docs/do-no-harm.md, "Shadows divided out, gated".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from docclean.inference.levels import sampled_quantiles
from docclean.inference.regions import masked_gaussian

MIN_DEPTH = 0.1
"""The paper estimate's darkest point at least this share below the page's paper: divided (the
phone photos' shadows measure 0.40-0.61; clean, toned and blurred specimen pages at 150-600 dpi,
light scans included, 0.00-0.04)."""
DISC_STROKES = 2.0
"""The closing's disc spans this many of the page's widest strokes (twice the distance from a
stroke's edge to its middle, at :data:`WIDEST_QUANTILE` of its ink): 6 followed shadows' edges
less closely (phone photos 0.0562 against 0.0553, NoisyOffice VA 0.0257 against 0.0256)."""
WIDEST_QUANTILE = 0.995
MIN_DISC = 31
MAX_DISC = 401
WORK_DISC = 20
"""The closing runs on the page shrunk so that its disc is about this many px (its cost does not
grow with the disc: 0.14 s for an A4 page, 0.28 at 25 for the same figures within 0.0001; at 12,
0.09 s, but three of the 150-dpi toned specimen pages measured 12-13 % deep and were divided)."""
SHADOW_FLOOR = 0.35
"""The darkest a shadow is taken to make the paper (a share of its paper level; the photos' shadows
take 35-65 % of the light): darker than that, the closing found ink wider than its disc, which is
divided by this level only and stays ink."""
LIFTED = 0.03
"""A division that lifts the paper by less than this share of it leaves the page as it was."""
PAPER_QUANTILE = 0.9
"""The paper level the divided page is scaled back to: a quantile of the paper estimate."""
INK_WINDOW = 25
INK_K = 0.2
"""Sauvola's window (px of the shrunk page) and k for the ink whose strokes size the disc; a
stroke wider than the window shows Sauvola only its rims and is :data:`SHADOW_FLOOR`'s (a window
of 51 took the edges of NoisyOffice's stains for strokes)."""
WORK_PIXELS = 2**21
"""Strokes are measured on the page shrunk to at most this many pixels (A4 at 300 dpi: by 2)."""


@dataclass(frozen=True)
class Division:
    """A page divided by its paper estimate, and the box (top, left, bottom, right) outside which
    that moved its paper by less than :data:`LIFTED` of it: where a shadow was, or a tint the
    division took for one."""

    page: np.ndarray
    box: tuple[int, int, int, int]


def divide_shadows(page: np.ndarray) -> Division | None:
    """``page`` (float32 in [0, 1]) divided by its paper estimate and scaled back to its paper
    level, when the estimate is :data:`MIN_DEPTH` darker somewhere; None otherwise."""
    if page.ndim != 2 or min(page.shape) < 2:
        return None
    disc = stroke_disc(page)
    paper_map = paper_estimate(page, disc)
    (paper,) = sampled_quantiles(paper_map, [PAPER_QUANTILE])
    if paper <= 0.0 or float(paper_map.min()) > (1.0 - MIN_DEPTH) * paper:
        return None
    step = max(1, min(page.shape) // 256)
    rows, cols = np.nonzero(paper_map[::step, ::step] < (1.0 - LIFTED) * paper)
    height, width = page.shape
    if rows.size == 0:  # a dip narrower than the sampling step: the whole page
        rows, cols = np.array([0, height // step]), np.array([0, width // step])
    box = (
        max(0, int(rows.min()) * step - disc),
        max(0, int(cols.min()) * step - disc),
        min(height, (int(rows.max()) + 1) * step + disc),
        min(width, (int(cols.max()) + 1) * step + disc),
    )
    np.maximum(paper_map, SHADOW_FLOOR * paper, out=paper_map)
    divided = np.array(page, dtype=np.float32)
    divided /= paper_map
    divided *= np.float32(paper)
    return Division(np.clip(divided, 0.0, 1.0, out=divided), box)


def paper_estimate(page: np.ndarray, disc: int) -> np.ndarray:
    """The page's paper under its strokes: a closing with a disc of ``disc`` px, then a gaussian of
    a quarter of it, both on the page shrunk so the disc is :data:`WORK_DISC` px, grown back.
    What the closing leaves darker than :data:`SHADOW_FLOOR` of the paper is ink wider than the
    disc, not paper: the gaussian averages the paper around it only (a normalized convolution)."""
    import cv2

    height, width = page.shape
    scale = max(1.0, disc / WORK_DISC)
    small_size = (max(1, round(width / scale)), max(1, round(height / scale)))
    small = cv2.resize(np.asarray(page, np.float32), small_size, interpolation=cv2.INTER_AREA)
    small_disc = round(disc / scale) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (small_disc, small_disc))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    (paper,) = sampled_quantiles(closed, [PAPER_QUANTILE])
    is_paper = cv2.erode((closed >= SHADOW_FLOOR * paper).astype(np.float32), np.ones((3, 3)))
    smooth = masked_gaussian(closed, is_paper, small_disc / 4, paper)
    estimate: np.ndarray = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
    return estimate


def stroke_disc(page: np.ndarray) -> int:
    """The closing's disc (odd, px): :data:`DISC_STROKES` times the width of the page's widest
    strokes (Sauvola's ink, opened by 2 px against noise; measured on the page shrunk to at most
    :data:`WORK_PIXELS`), within :data:`MIN_DISC`-:data:`MAX_DISC`."""
    import cv2

    scale = max(1.0, math.sqrt(page.size / WORK_PIXELS))
    work: np.ndarray = np.asarray(page, np.float32)
    if scale > 1.0:
        size = (max(1, round(page.shape[1] / scale)), max(1, round(page.shape[0] / scale)))
        work = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
    # Sauvola by box filters: scikit-image's takes 20 times as long (0.41 s against 0.02 on 2 Mpx)
    window = (INK_WINDOW, INK_WINDOW)
    mean = cv2.boxFilter(work, -1, window, borderType=cv2.BORDER_REFLECT)
    mean_square = cv2.boxFilter(work * work, -1, window, borderType=cv2.BORDER_REFLECT)
    deviation = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
    dynamic_range = max(0.5 * (float(work.max()) - float(work.min())), 1e-6)
    ink = (work < mean * (1.0 + INK_K * (deviation / dynamic_range - 1.0))).astype(np.uint8)
    opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    depth = cv2.distanceTransform(opened, cv2.DIST_L2, 3)
    inside = depth[depth > 0]
    widest = 2.0 * scale * float(np.quantile(inside, WIDEST_QUANTILE)) if inside.size else 2.0
    return int(np.clip(DISC_STROKES * widest, MIN_DISC, MAX_DISC)) | 1
