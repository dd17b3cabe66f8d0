"""Pictures kept: photographs and gray figures printed on a page come back as the page has them.

The office models learnt that a large gray area is a stain or a shadow, so a photograph in a
report comes back posterized and a soft gray one (the moon on a page) comes back blank. A cleaner
must not delete what the page shows, so after everything else :func:`keep_pictures` looks, on the
page at full contrast (not divided: a division takes a gray picture for a shadow), for regions
that are

- large: at least :data:`MIN_SIDE` px and :data:`MIN_LETTERS` letter heights a side;
- toned: a component of pixels darker than :data:`TONED` that fills :data:`MIN_FILL` of its box,
  :data:`MIN_MID_SHARE` of them mid-tones (from :data:`MID_TONE`: black ink is the model's anyway),
  and not one flat tone (:data:`MIN_SPREAD`: a flat tint or shaded box is
  :mod:`docclean.inference.tints`' to keep);
- a picture's shape on paper: rectangular (:data:`SQUARENESS`), on paper (the ring around it,
  all of it on the page: a hand's or a phone's shadow comes in from the page's edge, and a page
  photographed on a dark ground is toned to its edges) and edged as sharply as the page's own
  ink (a stain's or a shadow's penumbra is softer);

and puts each back, with a rim of :data:`RIM` px, as the levelled page has it: a picture is not
cleaned. Pictures with a white background (an object cut out on paper) are not rectangles and
are left to the model. Measured: docs/do-no-harm.md, "Pictures kept".
"""

from __future__ import annotations

import numpy as np

from docclean.inference.marks import Census, glyph_height
from docclean.inference.regions import (
    RING_PAD,
    components,
    disk,
    squareness,
    surround,
)
from docclean.inference.tints import PAPER, RIM, SQUARENESS, PageEdges

TONED = 0.85
"""Levelled gray below which a pixel is not paper."""
MIN_SIDE = 48
MIN_LETTERS = 4.0
"""A picture's box is at least this many px, and this many of the page's letter heights, a
side: a paragraph of blurred small print merged into one component is a few letters high."""
MIN_FILL = 0.6
"""Share of its bounding box a picture's toned pixels fill (a table's rules fill a few %, a bold
heading's letters are components of their own)."""
MID_TONE = 0.15
MIN_MID_SHARE = 0.25
"""Share of a picture's pixels in the mid-tones, from this gray to :data:`TONED`: a bold
letter's are its anti-aliased rim."""
MIN_SPREAD = 0.03
"""Standard deviation of a picture's levelled gray at least this (flat: a tint or a shade)."""
MIN_AREA = MIN_SIDE * MIN_SIDE * MIN_FILL
SHRINK = 4
"""Pictures are looked for on the page shrunk this many times (a picture of :data:`MIN_SIDE` px
is 12 px there), then checked at full size in the box of each found."""

Picture = tuple[tuple[slice, slice], np.ndarray]
"""A picture's padded box on the page and its pixels (with a rim) within the box."""


def keep_pictures(levelled: np.ndarray, cleaned: np.ndarray, census: Census) -> np.ndarray:
    """``cleaned`` with each picture of ``levelled`` (the page at full contrast, undivided) put back
    as ``levelled`` has it; ``cleaned`` itself when there are none."""
    pictures = find_pictures(levelled, census)
    if not pictures:
        return cleaned
    out = cleaned.copy()
    for box, pixels in pictures:
        out[box][pixels] = levelled[box][pixels]
    return out


def find_pictures(levelled: np.ndarray, census: Census) -> list[Picture]:
    """The pictures of ``levelled`` (the page at full contrast; ``census`` its census, for the
    letter height): see the module's text. Looked for on the page shrunk :data:`SHRINK` times,
    each found checked at full size within its box."""
    min_side = max(MIN_SIDE, MIN_LETTERS * glyph_height(census.stats))
    edges = PageEdges(levelled)
    pictures = []
    for box in _candidate_boxes(levelled, min_side):
        gray = levelled[box]
        toned = components((gray < TONED).view(np.uint8))
        if toned.count <= 1:
            continue
        label = int(np.argmax(toned.area[1:])) + 1  # the largest: the picture, if any
        chosen = np.zeros(toned.count, bool)
        chosen[label] = True
        x, y, width, height = (int(v) for v in toned.boxes(chosen)[label])
        area = float(toned.area[label])
        inside = min(x, y, gray.shape[1] - x - width, gray.shape[0] - y - height)
        if (
            area < MIN_AREA
            or min(width, height) < min_side
            or area < MIN_FILL * width * height
            or inside < RIM + RING_PAD  # reaches the box's edge: the page's, or more than found
        ):
            continue
        region = toned.labels == label
        if float(np.mean(gray[region] >= MID_TONE)) < MIN_MID_SHARE:
            continue
        filled = _filled(region)
        if _is_picture(gray, region, filled, edges):
            pictures.append((box, _grown(filled)))
    return pictures


def _candidate_boxes(levelled: np.ndarray, min_side: float) -> list[tuple[slice, slice]]:
    """Boxes on the page around the toned components of the page shrunk :data:`SHRINK` times
    that could be pictures: large enough, off the page's edges; each padded by twice
    :data:`SHRINK` px and room for a rim and a ring."""
    import cv2

    height, width = levelled.shape
    small_size = (max(1, width // SHRINK), max(1, height // SHRINK))
    small = cv2.resize(levelled, small_size, interpolation=cv2.INTER_AREA)
    toned = (small < TONED).view(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(toned, connectivity=8)
    pad = 2 * SHRINK + RIM + RING_PAD
    boxes = []
    for x, y, w, h, area in stats[1:].tolist():
        if min(w, h) * SHRINK < min_side - 2 * SHRINK or area * SHRINK**2 < MIN_AREA / 2:
            continue
        top, left = y * SHRINK - pad, x * SHRINK - pad
        bottom, right = (y + h) * SHRINK + pad, (x + w) * SHRINK + pad
        if top >= 0 and left >= 0 and bottom <= height and right <= width:  # off the edges
            boxes.append((slice(top, bottom), slice(left, right)))
    return boxes


def _is_picture(gray: np.ndarray, region: np.ndarray, filled: np.ndarray, edges: PageEdges) -> bool:
    """Whether ``region`` of ``gray`` (``filled``: with its holes) is many-toned, rectangular,
    on paper and as sharply edged as the page's ink."""
    if float(np.std(gray[region])) < MIN_SPREAD or squareness(filled) < SQUARENESS:
        return False
    near, ring = surround(filled)
    paper = float(np.median(gray[ring])) if ring.any() else 0.0
    if paper < PAPER:
        return False
    contrast = max(paper - float(np.median(gray[region])), 0.05)
    return edges.as_sharp(gray, near & ~filled, contrast)


def _filled(region: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    filled: np.ndarray = ndimage.binary_fill_holes(region)
    return filled


def _grown(filled: np.ndarray) -> np.ndarray:
    """``filled`` with a rim of :data:`RIM` px."""
    import cv2

    return cv2.dilate(filled.astype(np.uint8), disk(RIM)).astype(bool)
