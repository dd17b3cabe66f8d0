"""Tints kept: headings in a colour or gray tint, and shaded boxes, come back as the page has them.

The office models learnt that flat gray is a stain or a shadow. A heading in a tint (a coloured
heading as the gray page shows it: Word's blue has luma 0.43) is flat mid-gray too, and the default
hollows it, blackens it or whitens it (at 300 dpi 72 % of a 0.45-tint heading's ink lost, at 600
dpi 95 %); a shaded table row or box (0.78-0.95) comes back white. What tells them from a stain or
a shadow is the page around them, so after the model :func:`keep_tints` checks each flat region the
model changed, and puts it back as the levelled page has it when

- it sits on paper (the median of a ring 3-4 px around it, ink left out);
- it is one flat tone inside (a small standard deviation, a few specks left out and no more than
  the page's own grain allowed: stains, halftones and text under a shadow are mottled), or one
  tone lit unevenly where a shadow's edge crosses it (below); a tint
  (median :data:`MIN_TINT` or lighter: black ink the model keeps anyway) or a shade
  (:data:`SHADE_RANGE`), a shade also a rectangle (:data:`SQUARENESS`);
- its edges are as sharp as the page's own: the steep end of its edge gradient over its contrast is
  at least :data:`SHARPNESS` times the page's black-on-white edges' (a shadow's or a stain's
  penumbra is softer; measured against the page, so a 600-dpi scan's wider blur and a phone's
  are allowed for);
- tinted ink is no thicker than a heading's stroke (:data:`MAX_HALF_WIDTH`).

A tinted component comes back with a rim of :data:`RIM` px; a shade with the text inside it (the
darker of the model's page and the levelled page).

A shadow divided out of the page (:mod:`docclean.inference.shadows`) leaves a heading letter that
its edge crosses lit unevenly: a light or dark band over the letter, which the flat test refuses
(the default hollowed such an "R" at 150 dpi, 72 % of its ink lost). Given the undivided page, a
component the division lifted :data:`UNEVEN_LIFT` times more on one side than the other is flat
when it deviates little from its own smooth trend (:data:`TREND_SIGMA`), and comes back evened out
to the darker of its median and its commonest level (a small letter may lie in the light band
all but whole). Ridges of coffee stains are lit unevenly too, but the division lifts their
insides evenly (see :data:`UNEVEN_LIFT`). Measured:
docs/do-no-harm.md, "Tints kept" and "Tints across a shadow's edge".
"""

from __future__ import annotations

import numpy as np

from docclean.inference.levels import grain
from docclean.inference.regions import (
    RING_PAD,
    components,
    disk,
    masked_gaussian,
    padded_box,
    squareness,
    surround,
    taken,
)

DARK = 0.65
"""Levelled gray below which a pixel may be ink, tinted or black."""
MIN_AREA = 30
"""Components smaller than this (px) are left to the model: specks, dots."""
CHANGED = 0.1
ERASED_SHARE = 0.03
"""A tinted component needs keeping when the model changed it by :data:`CHANGED` on average
(lighter or darker) or turned this share of its ink (< 0.5) into paper."""
PAPER = 0.85
MIN_TINT = 0.25
MAX_SPREAD = 0.025
"""Standard deviation of the levelled gray inside the component (2 px in from its edge)."""
GRAIN_SPREAD = 1.5
"""On a noisy page a region is flat up to this many times the noise on its paper (when that is
more than :data:`MAX_SPREAD` or :data:`SHADE_MAX_SPREAD`)."""
INNER_MIN_PIXELS = 20
SPECK_DISTANCE = 0.2
SPECK_SHARE = 0.02
"""Inner grays further than :data:`SPECK_DISTANCE` from the component's median are specks (left
out of its spread) when they are at most this share of them: black and white specks on a tint."""
TREND_SIGMA = 3.0
"""The gaussian (px) that takes an unevenly lit component's smooth trend."""
UNEVEN_LIFT = 1.15
"""How many times more the division lifted one side of a component's inside than the other (95th
over 5th percentile) for it to count as crossed by a shadow's edge: the tinted letters that the
specimens' shadow edges cross measure 1.26-2.49, the coffee stains' ridges on NoisyOffice that are
flat about their trend 1.01-1.03."""
UNCLIPPED = 0.05
"""The lift is read where both pages are at least this light: levelling clips the darkest ink to
black, where a ratio says nothing."""
SHARPNESS = 0.7
MAX_HALF_WIDTH = 80.0
"""Widest stroke half-width (px) of tinted ink: a 48 pt bold heading at 600 dpi has about 40."""
RIM = 2
EDGE_GRADIENT = 0.1
"""Gradients (per px) from which a pixel is on an edge, for the page's own sharpness."""
SHARPNESS_BAND = 64
SHARPNESS_PIXELS = 2**21
"""The page's sharpness is measured over bands of this many rows, this many pixels in all."""
SHADE_RANGE = (DARK, 0.95)
"""Levelled gray of a shaded box or row (lighter than tinted ink, darker than paper)."""
SHADE_MIN_AREA = 400
SHADE_LIGHTENED = 0.05
SHADE_MAX_SPREAD = 0.015
SHADE_PAPER = 0.95
SHADE_MIN_CONTRAST = 0.04
SQUARENESS = 0.85
"""Share of its smallest enclosing rectangle a shade fills: boxes and rows are rectangles (turned
with the page), the facets of crumpled paper are not."""


def keep_tints(
    levelled: np.ndarray, cleaned: np.ndarray, undivided: np.ndarray | None = None
) -> np.ndarray:
    """``cleaned`` with the tinted ink and the shaded boxes the model changed put back as
    ``levelled`` (the page the model cleaned, at full contrast) has them; ``cleaned`` itself when
    there are none. ``undivided``: ``levelled`` before a shadow was divided out of it, if one was
    (tinted ink the shadow's edge crosses is then kept too)."""
    edges = PageEdges(levelled)
    return _keep_shades(levelled, _keep_tinted_ink(levelled, cleaned, edges, undivided), edges)


class PageEdges:
    """The page's own edges and grain, against which a region's edges and flatness are judged
    (each measured once a page, when first needed)."""

    def __init__(self, levelled: np.ndarray) -> None:
        self._levelled = levelled
        self._sharpness: float | None = None
        self._grain: float | None = None

    def is_flat(self, deviation: float, spread: float) -> bool:
        """Whether a region whose grays deviate by ``deviation`` is one flat tone: up to
        ``spread``, or on a noisy page up to :data:`GRAIN_SPREAD` times the noise on its paper
        (:func:`~docclean.inference.levels.grain`, measured only when ``spread`` is passed): a
        tint is as grainy as the paper around it."""
        if deviation <= spread:
            return True
        if self._grain is None:
            self._grain = grain(self._levelled)
        return deviation <= GRAIN_SPREAD * self._grain

    def as_sharp(self, gray: np.ndarray, edge: np.ndarray, contrast: float) -> bool:
        """Whether the steep end (90th percentile) of ``gray``'s gradient at ``edge``, over
        ``contrast``, is at least :data:`SHARPNESS` times the page's own."""
        if self._sharpness is None:
            self._sharpness = _page_sharpness(self._levelled)
        steep = float(np.percentile(_gradient(gray)[edge], 90))
        return steep / contrast >= SHARPNESS * self._sharpness


def _keep_tinted_ink(
    levelled: np.ndarray, cleaned: np.ndarray, edges: PageEdges, undivided: np.ndarray | None
) -> np.ndarray:
    """``cleaned`` with each component of tinted ink the model changed put back as ``levelled``."""
    dark = components((levelled < DARK).view(np.uint8))
    count, area, labels = dark.count, dark.area, dark.labels
    if count <= 1:
        return cleaned
    (before,) = taken(dark.where, levelled)
    # tinted (not black ink) and no speck: the model's page is read for these components only
    possible = (np.bincount(dark.own, before, count) / area >= 0.8 * MIN_TINT) & (area >= MIN_AREA)
    possible[0] = False
    if not possible.any():
        return cleaned
    kept = possible[dark.own]
    own, before, (after,) = dark.own[kept], before[kept], taken(dark.where[kept], cleaned)
    changed = np.bincount(own, after - before, count) / area
    erased_share = np.bincount(own[(before < 0.5) & (after >= 0.5)], minlength=count) / area
    needs_keeping = (np.abs(changed) >= CHANGED) | (erased_share >= ERASED_SHARE)
    needs_keeping &= possible
    boxes = dark.boxes(needs_keeping)
    candidates = [int(i) for i in np.flatnonzero(needs_keeping)]
    found = (_Component(i, boxes[i], labels, levelled, undivided, edges) for i in candidates)
    tinted = [c for c in found if c.flat]
    if not tinted:
        return cleaned
    out = cleaned.copy()
    for c in tinted:
        if edges.as_sharp(levelled[c.box], c.edge, max(c.contrast, 0.05)):
            c.restore(out, levelled, labels)
    return out


class _Component:
    """One dark component of the levelled page, within its padded bounding box."""

    def __init__(
        self,
        label: int,
        stat: np.ndarray,
        labels: np.ndarray,
        levelled: np.ndarray,
        undivided: np.ndarray | None,
        edges: PageEdges,
    ) -> None:
        import cv2

        self.label = label
        self.box = padded_box(stat, labels.shape, BOX_PAD)
        self.mask = labels[self.box] == label
        mask = self.mask.astype(np.uint8)
        near, ring = surround(self.mask)
        self.edge = near & ~self.mask
        inner = cv2.erode(mask, disk(2)).astype(bool)
        gray = levelled[self.box]
        self.flat = False
        self.unevenness: np.ndarray | None = None
        """Where the component is lit unevenly: its trend less its level (0 away from it)."""
        if not ring.any() or inner.sum() < INNER_MIN_PIXELS:
            return
        paper = float(np.median(gray[ring]))
        self.tint = float(np.median(gray[inner]))
        self.contrast = paper - float(np.median(gray[self.mask]))
        half_width = float(cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3).max())
        if paper < PAPER or self.tint < MIN_TINT or half_width > MAX_HALF_WIDTH:
            return
        self.flat = edges.is_flat(_spread(gray[inner]), MAX_SPREAD)
        if self.flat or undivided is None or not _crossed(gray, undivided[self.box], inner):
            return
        trend = masked_gaussian(gray, inner, TREND_SIGMA, np.nan)  # its smooth trend
        self.flat = edges.is_flat(float(np.std((gray - trend)[inner])), MAX_SPREAD)
        if self.flat:  # evened out to the darker of its median and its commonest level
            level = min(self.tint, _commonest(trend[inner]))
            self.unevenness = np.nan_to_num(trend - np.float32(level))

    def restore(self, out: np.ndarray, levelled: np.ndarray, labels: np.ndarray) -> None:
        """Put the component and its rim (where no other component lies) back as levelled,
        evened out if it is lit unevenly."""
        import cv2

        grown = cv2.dilate(self.mask.astype(np.uint8), disk(RIM)).astype(bool)
        own = labels[self.box]
        grown &= (own == self.label) | (own == 0)
        restored = levelled[self.box]
        if self.unevenness is not None:  # evened out: its pixels and the gray ones around them
            lit = grown & (restored < PAPER)
            restored = restored.copy()
            restored[lit] = np.clip(restored[lit] - self.unevenness[lit], 0.0, 1.0)
        out[self.box][grown] = restored[grown]


def _keep_shades(levelled: np.ndarray, cleaned: np.ndarray, edges: PageEdges) -> np.ndarray:
    """``cleaned`` with each shaded box the model lightened put back (the darker of the two)."""
    import cv2
    from scipy import ndimage

    low, high = SHADE_RANGE
    in_range = ((levelled >= low) & (levelled < high)).view(np.uint8)
    band = cv2.morphologyEx(in_range, cv2.MORPH_OPEN, disk(2))  # no anti-aliased stroke edges
    shades = components(band)
    count, area, labels = shades.count, shades.area, shades.labels
    large = area >= SHADE_MIN_AREA
    large[0] = False
    if not large.any():
        return cleaned
    kept = large[shades.own]  # the pages' values are read for the large components only
    own, before, after = shades.own[kept], *taken(shades.where[kept], levelled, cleaned)
    lightened = np.bincount(own, after - before, count) / area
    chosen = (lightened >= SHADE_LIGHTENED) & large
    candidates = np.flatnonzero(chosen)
    if candidates.size == 0:
        return cleaned
    boxes = shades.boxes(chosen)
    out = cleaned
    for label in candidates:
        box = padded_box(boxes[label], labels.shape, BOX_PAD)
        shade = labels[box] == label
        gray = levelled[box]
        inner = cv2.erode(shade.astype(np.uint8), disk(2)).astype(bool)  # off stroke edges
        if inner.sum() < 20 or not edges.is_flat(float(np.std(gray[inner])), SHADE_MAX_SPREAD):
            continue
        region = ndimage.binary_fill_holes(shade)  # the text within it too
        near, ring = surround(region)
        ring &= gray >= low
        edge = near & ~region & (gray >= low)
        if min(ring.sum(), edge.sum()) < 20:
            continue
        paper = float(np.median(gray[ring]))
        contrast = paper - float(np.median(gray[shade]))
        if paper < SHADE_PAPER or contrast < SHADE_MIN_CONTRAST or squareness(region) < SQUARENESS:
            continue
        if edges.as_sharp(gray, edge, contrast):
            out = out.copy() if out is cleaned else out
            out[box][region] = np.minimum(out[box][region], gray[region])
    return out


BOX_PAD = RIM + RING_PAD
"""Pixels around a region's bounding box: room for its rim and the ring around it."""


def _crossed(gray: np.ndarray, undivided: np.ndarray, inner: np.ndarray) -> bool:
    """Whether a shadow's edge crosses a component: the division lifted one side of its inside
    :data:`UNEVEN_LIFT` times more than the other (read where levelling clipped neither page)."""
    unclipped = inner & (gray >= UNCLIPPED) & (undivided >= UNCLIPPED)
    if unclipped.sum() < INNER_MIN_PIXELS:
        return False
    low, high = np.percentile(gray[unclipped] / undivided[unclipped], [5, 95])
    return bool(high >= UNEVEN_LIFT * low)


def _spread(values: np.ndarray) -> float:
    """The standard deviation of a component's inner grays, specks left out: values further than
    :data:`SPECK_DISTANCE` from their median, when they are at most :data:`SPECK_SHARE` of them
    (dust and salt-and-pepper on a tint; a stain's mottling is not so few)."""
    median = float(np.median(values))
    close = np.abs(values - np.float32(median)) <= SPECK_DISTANCE
    if close.mean() >= 1.0 - SPECK_SHARE:
        values = values[close]
    return float(np.std(values))


def _commonest(values: np.ndarray) -> float:
    """The commonest of ``values`` (in [0, 1], to 0.01): an unevenly lit tint's own level, where
    the light does not vary (its median moves with the part of it the light changed)."""
    counts, edges = np.histogram(values, bins=100, range=(0.0, 1.0))
    return float(edges[np.argmax(counts)] + 0.005)


def _gradient(page: np.ndarray) -> np.ndarray:
    """Gradient magnitude per px of ``page`` lightly smoothed (sigma 0.7 px: sensor noise)."""
    import cv2

    smooth = cv2.GaussianBlur(page, (0, 0), 0.7)
    dx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    return np.hypot(dx, dy) / np.float32(8)


def _page_sharpness(levelled: np.ndarray) -> float:
    """How sharp the page's own edges are: the 90th percentile of its edge gradients (black ink
    on white paper: contrast 1 after levelling), over bands of rows spread down the page (at most
    :data:`SHARPNESS_PIXELS`)."""
    rows, cols = levelled.shape
    count = max(1, min(rows // SHARPNESS_BAND, SHARPNESS_PIXELS // (SHARPNESS_BAND * cols)))
    starts = np.linspace(0, max(rows - SHARPNESS_BAND, 0), count).astype(int)
    gradients = [_gradient(levelled[start : start + SHARPNESS_BAND]) for start in starts]
    edges = np.concatenate([g[g > EDGE_GRADIENT] for g in gradients])
    return float(np.percentile(edges, 90)) if edges.size > 100 else 0.4
