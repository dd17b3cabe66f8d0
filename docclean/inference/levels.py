"""Paper and ink levels: a page put at full contrast before a model that learnt pages so.

A good light scan has paper at 0.92-0.96 and ink at 0.10-0.20; the anti-aliased edges of small
type then sit near the 0.5 line, and a model that keeps the scan's tone returns them a shade too
light (the ink lost of docs/do-no-harm.md). A model whose card says ``input_levels: paper-ink``
learnt, and cleans, every page with its paper level (:data:`PAPER_QUANTILE`) put at 1 and its
darkest ink (:data:`INK_QUANTILE`) at 0, by one linear map anchored at the paper. The gain is at
most ``1 / MIN_SPREAD``, so blank paper keeps its grain faint; a page whose paper level is darker
than :data:`MIN_PAPER` (a photo, white on black) is left as it is.

The darkest ink is read from the page's strokes, not from its pepper: black specks of
salt-and-pepper (dots of 1-2 px darker than a lighter neighbour on every line through them by
:data:`SPECK_CONTRAST`) are left out of the ink's quantile. Without that, 0.4 % of black specks
on a light scan pinned the ink level at 0 and left its ink and tints unstretched, a tinted
heading a shade too light (docs/do-no-harm.md, "Levels read past the pepper").
"""

from __future__ import annotations

import math

import numpy as np

from docclean.inference.regions import line_pairs

INK_QUANTILE = 0.001
PAPER_QUANTILE = 0.9
"""A high quantile, not the median: a shadow over half the page is not the paper."""
MIN_SPREAD = 0.6
"""The paper-to-ink spread below which the gain stops growing (at most 1 / 0.6)."""
MIN_PAPER = 0.5
SPECK_CONTRAST = 0.5
"""How much lighter than a black speck one of its two neighbours on each line through it is (the
impulses' contrast, :data:`docclean.inference.impulses.CONTRAST`)."""
SAMPLED_PIXELS = 2**19
"""Quantiles are taken over at most about this many pixels (an even grid over the page)."""
GRAIN_PAPER = 0.7
"""Levelled gray from which a pixel may be paper, where :func:`grain` reads the noise."""
GRAIN_STEP = 3
""":func:`grain` takes its median over every this many rows and columns."""
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def sampled_grid(page: np.ndarray) -> np.ndarray:
    """An even grid of at most about :data:`SAMPLED_PIXELS` of ``page``'s pixels (an A4 page at
    300 dpi: every fourth pixel of every fourth row), enough for page-wide gray statistics."""
    step = max(1, math.ceil(math.sqrt(page.size / SAMPLED_PIXELS)))
    return page[::step, ::step]


def sampled_quantiles(page: np.ndarray, quantiles: list[float]) -> list[float]:
    """``page``'s gray quantiles over :func:`sampled_grid`."""
    return [float(v) for v in np.quantile(sampled_grid(page), quantiles)]


def normalize_levels(page: np.ndarray) -> np.ndarray:
    """``page`` (float32 in [0, 1]) with its paper level mapped to 1 and its darkest ink to 0
    (the gain capped at ``1 / MIN_SPREAD``), or as it is when its paper is darker than
    :data:`MIN_PAPER`. A page already at full contrast comes back unchanged."""
    if page.size == 0:
        return page
    (paper,) = sampled_quantiles(page, [PAPER_QUANTILE])
    ink = ink_level(page)
    if paper < MIN_PAPER or (paper >= 1.0 and ink <= 0.0):
        return page
    gain = 1.0 / max(paper - ink, MIN_SPREAD)
    levelled = np.subtract(np.float32(paper), page, dtype=np.float32)  # in place from here on:
    levelled *= np.float32(gain)  # a third of the time of the same steps with new arrays
    np.subtract(np.float32(1.0), levelled, out=levelled)
    return np.clip(levelled, 0.0, 1.0, out=levelled)


def ink_level(page: np.ndarray) -> float:
    """The darkest ink of ``page``: its :data:`INK_QUANTILE` over :func:`sampled_grid`, black
    specks left out (see the module's text)."""
    page = np.asarray(page, np.float32)
    step = max(1, math.ceil(math.sqrt(page.size / SAMPLED_PIXELS)))
    sample = page[::step, ::step]
    lightest_pair, _ = line_pairs(page, step)
    strokes = sample[lightest_pair - sample <= SPECK_CONTRAST]
    return float(np.quantile(strokes if strokes.size else sample, INK_QUANTILE))


def grain(levelled: np.ndarray) -> float:
    """The standard deviation of the noise on a levelled page's paper (lighter than
    :data:`GRAIN_PAPER`, 2 px from anything darker): Immerkaer's fast estimate (a 3 x 3 filter
    that cancels smooth shading), made robust by a median over the paper pixels of a grid of
    every :data:`GRAIN_STEP`-th row and column; 0 when the page has too little paper to tell."""
    import cv2

    page = np.asarray(levelled, np.float32)
    response = cv2.filter2D(page, -1, _IMMERKAER)
    paper = cv2.erode((page > GRAIN_PAPER).view(np.uint8), np.ones((5, 5), np.uint8))
    grid = (slice(None, None, GRAIN_STEP), slice(None, None, GRAIN_STEP))
    found = np.abs(response[grid][paper[grid].view(bool)])
    if found.size < 100:
        return 0.0
    # the filter's response to noise of sigma s has a standard deviation of 6 s (the root of the
    # sum of its squared weights); 1.4826 turns a median absolute value into a sigma
    return 1.4826 * float(np.median(found)) / 6.0
