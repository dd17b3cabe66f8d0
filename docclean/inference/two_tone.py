"""Good pages for the binarizer: strokes as wide as the page draws them.

A binarizer's decision level is chosen on degraded pages (DIBCO), whose targets count the soft
rims of strokes as ink; on a good scan of a clean page (paper and ink in two clean tones) that
level thickens every stroke, and a global threshold (Otsu) gives the page back better. So the
level follows the page: Otsu's separability (between-class over total variance) says how cleanly
a page splits into two tones. Up to :data:`TWO_TONE_FROM` the model's own level holds (every page
of DIBCO 2016 and Bickley, all but one each of PHIBD's and MSI's); from :data:`TWO_TONE_AT` on the thin
:data:`THIN_LEVEL`; linearly in between. Strokes narrow, marks stay: a mark the thin level would
cut to half or less (a dot, a hairline rule) keeps the model's own level.

From :data:`DRAWN_FROM` on, the page itself draws the strokes (:func:`drawn_ink`): wherever the
model sees ink, a pixel is ink when it is darker than the midpoint of its local ink and paper
tones, so strokes come out as wide as the page draws them, with the model's say over which marks
are ink. Measured in docs/do-no-harm.md ("The binarizer on good pages").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from docclean.inference.regions import masked

TWO_TONE_FROM = 0.85
"""Separability up to which a page keeps the model's own decision level."""
TWO_TONE_AT = 0.95
"""Separability from which a page gets :data:`THIN_LEVEL`."""
THIN_LEVEL = 0.3
"""Decision level (on the model's output before its own level is applied) for two-tone pages."""
DRAWN_FROM = 0.90
"""Separability from which the page's own tones draw the strokes (:func:`drawn_ink`)."""
SEEN_INK = 0.95
"""Output below which the model sees some ink: where the page may draw a stroke."""
EDGE_REACH = 3
"""Pixels beyond where the model sees ink that the page may still draw as ink."""
TONE_REACH = 25.0
"""Gaussian sigma (px) of the neighbourhood whose ink and paper tones set a pixel's midpoint."""
TONE_STEP = 8
"""The tones are averaged on the page shrunk this many times: they vary slowly, and it is fast."""
PRIOR_WEIGHT = 0.01
"""Weight of the page's mean tone in each local tone: where a tone has no pixels near, the page's."""


def separability(page: np.ndarray) -> float:
    """Otsu's separability of ``page`` (float in [0, 1]): the between-class variance at Otsu's
    threshold over the total variance, on a 256-bin histogram of
    :func:`~docclean.inference.levels.sampled_grid`; 1 for a page of two flat tones, 0 for a flat
    page."""
    from docclean.inference.levels import sampled_grid

    sample = sampled_grid(np.asarray(page))
    if sample.size < 2:
        return 0.0
    bins = np.clip(np.rint(sample * 255.0), 0, 255).astype(np.intp)
    counts = np.bincount(bins.ravel(), minlength=256).astype(np.float64)
    p = counts / counts.sum()
    levels = np.arange(256, dtype=np.float64)
    mean = float((p * levels).sum())
    variance = float((p * (levels - mean) ** 2).sum())
    if variance < 1e-6:
        return 0.0
    dark_share = np.cumsum(p)[:-1]  # share at or below each threshold
    dark_sum = np.cumsum(p * levels)[:-1]
    inside = (dark_share > 0) & (dark_share < 1)
    between = np.zeros_like(dark_share)
    share = dark_share[inside]
    between[inside] = (mean * share - dark_sum[inside]) ** 2 / (share * (1.0 - share))
    return min(float(between.max() / variance), 1.0)


def page_level(page: np.ndarray, model_level: float) -> float:
    """The decision level for ``page``: ``model_level`` below :data:`TWO_TONE_FROM`, moving to
    :data:`THIN_LEVEL` at :data:`TWO_TONE_AT` (never thicker than the model's own)."""
    return _level_at(separability(page), model_level)


def _level_at(separation: float, model_level: float) -> float:
    """:func:`page_level` for a page of separability ``separation``."""
    share = (separation - TWO_TONE_FROM) / (TWO_TONE_AT - TWO_TONE_FROM)
    share = min(max(share, 0.0), 1.0)
    return model_level + share * (min(THIN_LEVEL, model_level) - model_level)


def recentre(output: np.ndarray, level: float) -> np.ndarray:
    """``output`` with ``level`` moved to 0.5, order kept and 0 and 1 fixed (as
    :class:`docclean.models.layers.Recentre` does inside a model)."""
    if level == 0.5:
        return output
    kept = output * np.float32(1.0 - level)
    return (kept / np.maximum(kept + (1.0 - output) * np.float32(level), 1e-12)).astype(np.float32)


def model_level(model: Any) -> float:
    """The decision level a model carries (its :class:`~docclean.models.layers.Recentre` layer's),
    0.5 for a model without one."""
    from docclean.models.layers import Recentre

    for layer in getattr(model, "layers", ()):
        if isinstance(layer, Recentre):
            return float(np.asarray(layer.level))
    return 0.5


def _thin_cut(separation: float, level: float) -> float | None:
    """Where the level of a page of separability ``separation`` lies on the output (recentred at
    the model's ``level``); None when the page keeps the model's own level."""
    wanted = _level_at(separation, level)
    if wanted == level:
        return None
    # the output is x recentred at ``level``; x at ``wanted`` lies at recentre(wanted, level)
    return float(recentre(np.array(wanted, dtype=np.float32), level))


def two_tone_ink(output: np.ndarray, page: np.ndarray, level: float) -> np.ndarray:
    """The ink (True) of a binarizer's ``output`` (its own ``level`` at 0.5) for ``page``: drawn by
    the page (:func:`drawn_ink`) from :data:`DRAWN_FROM` on, else at the page's level
    (:func:`page_level`), every mark kept (:func:`_marks_kept`)."""
    separation = separability(page)
    if separation >= DRAWN_FROM:
        return drawn_ink(output, page)
    cut = _thin_cut(separation, level)
    ink = np.asarray(output) < 0.5
    return ink if cut is None else _marks_kept(np.asarray(output) < cut, ink)


def two_tone_output(output: np.ndarray, page: np.ndarray, level: float) -> np.ndarray:
    """A binarizer's ``output`` (its own ``level`` at 0.5) for ``page`` recentred at the page's
    level instead, every mark kept: :func:`two_tone_ink` is where it lies below 0.5. Unchanged for
    every page that is not two-tone."""
    separation = separability(page)
    if separation >= DRAWN_FROM:  # the page's strokes: solid where they differ from output
        ink = drawn_ink(output, page)
        agree = ink == (output < 0.5)
        return np.where(agree, output, np.where(ink, 0.0, 1.0)).astype(np.float32)
    cut = _thin_cut(separation, level)
    if cut is None:
        return output
    thin = recentre(output, cut)
    ink = output < 0.5
    kept = _marks_kept(thin < 0.5, ink)
    return np.where(kept & (thin >= 0.5), output, thin).astype(np.float32)


def _marks_kept(thin_ink: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """``thin_ink`` (changed in place), with every mark of ``ink`` (4-connected components at the
    model's own level, so that a dot does not merge with the letter beside it) of which it keeps
    half or less, a dot or a hairline rule, put back whole: thinning narrows strokes, it never
    deletes a mark."""
    found = _faint_marks(ink, thin_ink)
    if found is not None:
        thin_ink = np.ascontiguousarray(thin_ink)
        thin_ink.ravel()[found.removed] = True
    return thin_ink


@dataclass(frozen=True)
class _FaintMarks:
    """The marks of some ink that a thinner decision keeps half or less of."""

    labels: np.ndarray  # every pixel's mark (0: paper), flat
    faint: np.ndarray  # per mark: True when faint
    removed: np.ndarray  # flat indices of the faint marks' pixels the thinner decision dropped
    removed_marks: np.ndarray  # their marks


def _faint_marks(ink: np.ndarray, kept: np.ndarray) -> _FaintMarks | None:
    """The marks of ``ink`` (:func:`_marks`) of which ``kept`` keeps half or less; None if none."""
    labels, count = _marks(ink)
    if count == 0:
        return None
    flat_labels = labels.ravel()
    (own,) = masked(ink, labels)
    sizes = np.bincount(own, minlength=count + 1)  # ink pixels only: faster
    gone = np.flatnonzero(ink & ~kept)  # only these pixels can come back
    gone_marks = flat_labels[gone]
    faint = 2 * np.bincount(gone_marks, minlength=count + 1) >= sizes
    faint[0] = False
    if not faint.any():
        return None
    in_faint = faint[gone_marks]
    return _FaintMarks(flat_labels, faint, gone[in_faint], gone_marks[in_faint])


def drawn_ink(output: np.ndarray, page: np.ndarray) -> np.ndarray:
    """The ink of a two-tone ``page`` as the page draws it, where a binarizer's ``output`` (its own
    level at 0.5) sees ink: within :data:`EDGE_REACH` px of output below :data:`SEEN_INK`, a pixel
    is ink when darker than the midpoint of the local ink tone (the model's ink, less a 2 px rim)
    and paper tone (beyond :data:`EDGE_REACH` + 2 px of it), averaged over :data:`TONE_REACH` px;
    elsewhere the model's ink. A mark of the model's ink that this keeps half or less of (a faint
    rule, a dot) comes back at its own midpoint, between its darkest pixel and the paper."""
    import cv2

    page = np.ascontiguousarray(page, dtype=np.float32)
    output = np.asarray(output)
    # uint8 masks and OpenCV's parallel operations, as few passes over the page as can be
    ink = output < 0.5
    ink_255 = ink.view(np.uint8) * np.uint8(255)
    seen = cv2.dilate((output < SEEN_INK).view(np.uint8), _square(EDGE_REACH))
    ink_core = cv2.erode(ink_255, _square(2))
    near_ink = cv2.dilate(ink_255, _square(EDGE_REACH + 2))
    height, width = page.shape
    small = (max(1, width // TONE_STEP), max(1, height // TONE_STEP))
    page_sum = _shrunk(page, small)
    core_share, core_sum = _shrunk_masked(page, ink_core, small)
    near_share, near_sum = _shrunk_masked(page, near_ink, small)
    ink_tone = _local_tone(core_sum, core_share)
    paper_tone = _local_tone(page_sum - near_sum, 1.0 - near_share)
    midpoint = cv2.resize(
        (ink_tone + paper_tone) / 2, (width, height), interpolation=cv2.INTER_LINEAR
    )
    darker = cv2.compare(page, midpoint, cv2.CMP_LT)
    drawn = cv2.bitwise_and(darker, darker, mask=seen).view(bool)  # ink lies within seen
    return _marks_redrawn(drawn, ink, page, paper_tone)


def _square(radius: int) -> np.ndarray:
    """A (2 radius + 1)-px square: morphology within ``radius`` px (chessboard distance)."""
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)


def _marks(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """The marks of ``ink``: 4-connected components (so that a dot does not merge with the letter
    beside it), as (int32 labels, count)."""
    import cv2

    count, labels = cv2.connectedComponents(ink.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels, count - 1


def _shrunk(values: np.ndarray, small: tuple[int, int]) -> np.ndarray:
    """``values`` averaged over blocks: the page shrunk to ``small`` (width, height); halved first,
    which OpenCV does several times faster than any other factor."""
    import cv2

    half = (max(small[0], values.shape[1] // 2), max(small[1], values.shape[0] // 2))
    halved = cv2.resize(values, half, interpolation=cv2.INTER_AREA)
    return cv2.resize(halved, small, interpolation=cv2.INTER_AREA).astype(np.float32)


def _shrunk_masked(
    page: np.ndarray, mask: np.ndarray, small: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The share of each block that ``mask`` (uint8, 0 or 255) covers, and the block mean of the
    page there (0 elsewhere), on the page shrunk to ``small``."""
    import cv2

    share = _shrunk(mask, small) / np.float32(255.0)
    return share, _shrunk(cv2.bitwise_and(page, page, mask=mask), small)


def _local_tone(block_sums: np.ndarray, block_shares: np.ndarray) -> np.ndarray:
    """The page's mean tone over some of its pixels near each block, from each block's share of
    them and their block mean (:func:`_shrunk_masked`): Gaussian-weighted over :data:`TONE_REACH`
    px and drawn towards the mean over the page there where few such pixels lie near."""
    import cv2

    sigma = TONE_REACH / TONE_STEP
    total = cv2.GaussianBlur(block_sums, (0, 0), sigma)
    weight = cv2.GaussianBlur(block_shares, (0, 0), sigma)
    mean = float(total.sum() / max(float(weight.sum()), 1e-6))
    return ((total + PRIOR_WEIGHT * mean) / (weight + PRIOR_WEIGHT)).astype(np.float32)


def _marks_redrawn(
    drawn: np.ndarray, ink: np.ndarray, page: np.ndarray, paper_tone: np.ndarray
) -> np.ndarray:
    """``drawn`` (changed in place), with every mark of ``ink`` (4-connected) of which it keeps
    half or less drawn again at the mark's own midpoint: between its darkest pixel and the local
    paper tone (``paper_tone``, on the page shrunk :data:`TONE_STEP` times)."""
    found = _faint_marks(ink, drawn)
    if found is None:
        return drawn
    removed, removed_marks = found.removed, found.removed_marks
    darkest = np.ones(found.faint.size, np.float32)
    at_marks = np.flatnonzero(found.faint[found.labels])  # every pixel of the faint marks
    np.minimum.at(darkest, found.labels[at_marks], page.ravel()[at_marks])
    rows, cols = np.divmod(removed, page.shape[1])
    small_rows = np.minimum(rows // TONE_STEP, paper_tone.shape[0] - 1)
    small_cols = np.minimum(cols // TONE_STEP, paper_tone.shape[1] - 1)
    own_midpoint = (darkest[removed_marks] + paper_tone[small_rows, small_cols]) / 2
    drawn = np.ascontiguousarray(drawn)
    drawn.ravel()[removed[page.ravel()[removed] < own_midpoint]] = True
    return drawn
