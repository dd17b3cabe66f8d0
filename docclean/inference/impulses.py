"""Salt-and-pepper taken out before the model, on a speckled page, as far as its type allows.

The models leave much of heavy salt-and-pepper on a page: specks touching letters, specks that
JPEG has smeared past the ``Despeckle`` layer's test, salt on strokes. A classic impulse filter
finds them before the model does: a pixel is an impulse when, along each of the four lines through
it (across, down, both diagonals), at least one of its two neighbours differs from it by more than
:data:`CONTRAST` in the same direction. A stroke's pixel has a neighbour on either side along the
stroke, so strokes, rules and the middles of letters stay; a lone dot, a 2 x 2 cluster and a speck
stuck to the side of a letter do not, and take the median of their 3 x 3 neighbourhood.

A full stop or the dot of an i is such a dot when the type is small in pixels: at 150-200 dpi
(letters about 11-17 px tall) that filter cost 44-148 marks of three damaged specimen pages where
the model alone loses 4-16. So :func:`clear_impulses` runs it only on a page that
:func:`docclean.inference.marks.census` finds speckled and whose letters are at least
:data:`MIN_TEXT_HEIGHT` px tall (:func:`docclean.inference.marks.glyph_height`); a speckled page
set smaller loses its lone impulses only (pixels all eight of whose neighbours differ from them by
more than :data:`LONE_CONTRAST`), and one set smaller still (:data:`MIN_LONE_TEXT_HEIGHT`)
nothing. Measured: docs/do-no-harm.md, "Impulses cleared".
"""

from __future__ import annotations

import numpy as np

from docclean.inference.marks import Census, glyph_height
from docclean.inference.regions import line_pairs

CONTRAST = 0.5
"""How much lighter (darker) than a dark (light) impulse one of its two neighbours on each line
through it is (on damaged pages at 250-400 dpi, 0.4 lost more marks, 0.6 scored worse)."""
MIN_TEXT_HEIGHT = 20
"""Median height (px) of a page's components from which its type is large enough for the filter:
damaged specimen pages measure 11-13 px at 150 dpi and 13-17 at 200 (where the filter lost more
marks than the model alone on 42 of 48 pages), 14-23 at 250 and 16-27 at 300 (at most 3 more, on
2 of 24)."""
MIN_LONE_TEXT_HEIGHT = 10
"""The same for lone pixels: under it (letters of 5-8 px, the synthesizer's 768-px pages) a full
stop or an i's dot is one pixel."""
LONE_CONTRAST = 0.35
"""How much lighter (darker) than a lone dark (light) pixel all its neighbours are on a speckled
page set too small for :data:`CONTRAST`'s filter (0.25 scored as well and lost more marks)."""


def clear_impulses(levelled: np.ndarray, page_census: Census) -> np.ndarray:
    """``levelled`` with its impulses replaced by their 3 x 3 median when the page is speckled
    (only the lone ones when its type is small; see the module's text); ``levelled`` itself on
    any other page and where its type is smaller still."""
    height = text_height(page_census) if page_census.kind == "speckled" else 0.0
    if height >= MIN_TEXT_HEIGHT:
        return replace_impulses(levelled)
    if height >= MIN_LONE_TEXT_HEIGHT:
        return replace_lone_pixels(levelled)
    return levelled


def text_height(page_census: Census) -> float:
    """The census's letter height: :func:`docclean.inference.marks.glyph_height`."""
    return glyph_height(page_census.stats)


def replace_impulses(page: np.ndarray, contrast: float = CONTRAST) -> np.ndarray:
    """``page`` (float32 in [0, 1]) with every impulse (see the module's text) taking the median
    of its 3 x 3 neighbourhood."""
    page = np.asarray(page, np.float32)
    lightest_pair, darkest_pair = line_pairs(page)
    return _median_at(page, (lightest_pair - page > contrast) | (page - darkest_pair > contrast))


def replace_lone_pixels(page: np.ndarray, contrast: float = LONE_CONTRAST) -> np.ndarray:
    """``page`` (float32 in [0, 1]) with every pixel whose eight neighbours are all lighter (or
    all darker) than it by more than ``contrast`` taking the median of its 3 x 3 neighbourhood."""
    import cv2

    page = np.asarray(page, np.float32)
    ring = np.ones((3, 3), np.uint8)
    ring[1, 1] = 0
    darkest_neighbour = cv2.erode(page, ring)  # the border counts as no neighbour
    lightest_neighbour = cv2.dilate(page, ring)
    lone = (darkest_neighbour - page > contrast) | (page - lightest_neighbour > contrast)
    return _median_at(page, lone)


def _median_at(page: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``page`` with the pixels ``where`` taking their 3 x 3 median; ``page`` itself if none."""
    import cv2

    if not where.any():
        return page
    out = page.copy()
    out[where] = cv2.medianBlur(page, 3)[where]
    return out
