"""Good pages for the binarizer: strokes as wide as the page draws them.

A binarizer's decision level is chosen on degraded pages (DIBCO), whose targets count the soft
rims of strokes as ink; on a good scan of a clean page (paper and ink in two clean tones) that
level thickens every stroke, and a global threshold (Otsu) gives the page back better. So the
level follows the page: Otsu's separability (between-class over total variance) says how cleanly
a page splits into two tones. Up to :data:`TWO_TONE_FROM` the model's own level holds (every page
of DIBCO 2016 and Bickley, all but one each of PHIBD's and MSI's); from :data:`TWO_TONE_AT` on the thin
:data:`THIN_LEVEL`; linearly in between. Strokes narrow, marks stay: a mark the thin level would
cut to half or less (a dot, a hairline rule) keeps the model's own level. Measured in
docs/do-no-harm.md ("The binarizer on good pages").
"""

from __future__ import annotations

from typing import Any

import numpy as np

TWO_TONE_FROM = 0.85
"""Separability up to which a page keeps the model's own decision level."""
TWO_TONE_AT = 0.95
"""Separability from which a page gets :data:`THIN_LEVEL`."""
THIN_LEVEL = 0.3
"""Decision level (on the model's output before its own level is applied) for two-tone pages."""


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
    share = (separability(page) - TWO_TONE_FROM) / (TWO_TONE_AT - TWO_TONE_FROM)
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


def _thin_cut(page: np.ndarray, level: float) -> float | None:
    """Where the page's level lies on the output (recentred at the model's ``level``); None when
    the page keeps the model's own level."""
    wanted = page_level(page, level)
    if wanted == level:
        return None
    # the output is x recentred at ``level``; x at ``wanted`` lies at recentre(wanted, level)
    return float(recentre(np.array(wanted, dtype=np.float32), level))


def two_tone_ink(output: np.ndarray, page: np.ndarray, level: float) -> np.ndarray:
    """The ink (True) of a binarizer's ``output`` (its own ``level`` at 0.5) for ``page``, at the
    page's level (:func:`page_level`), every mark kept (:func:`_marks_kept`)."""
    cut = _thin_cut(page, level)
    ink = np.asarray(output) < 0.5
    return ink if cut is None else _marks_kept(np.asarray(output) < cut, ink)


def two_tone_output(output: np.ndarray, page: np.ndarray, level: float) -> np.ndarray:
    """A binarizer's ``output`` (its own ``level`` at 0.5) for ``page`` recentred at the page's
    level instead, every mark kept: :func:`two_tone_ink` is where it lies below 0.5. Unchanged for
    every page that is not two-tone."""
    cut = _thin_cut(page, level)
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
    from scipy import ndimage

    labels, count = ndimage.label(ink)  # 4-connected: fewer marks merged at the thick level
    if count == 0:
        return thin_ink
    sizes = np.bincount(labels[ink], minlength=count + 1)  # ink pixels only: faster
    kept = np.bincount(labels[thin_ink], minlength=count + 1)
    faint = 2 * kept <= sizes
    faint[0] = False
    if faint.any():
        removed = np.flatnonzero(ink & ~thin_ink)  # only these pixels can come back
        thin_ink = np.ascontiguousarray(thin_ink)
        thin_ink.ravel()[removed[faint[labels.ravel()[removed]]]] = True
    return thin_ink
