"""Rules kept whole: a table's or a form's thin ruled lines come back unbroken.

A rule one or two pixels wide that a photo or a low-resolution scan has blurred to mid-gray sits
where the office models' tone curve is steep, and the page's noise then decides pixel by pixel
whether it is ink or paper: a phone photo's table at 150 dpi came back with its vertical rules
dashed. Whether a thin straight line is a rule the model itself says, by keeping most of it; so
after the model :func:`keep_rules` finds the page's straight runs of darker gray (an opening with
a line :data:`MIN_LENGTH` px long, across and down, no wider than :data:`MAX_WIDTH`), and where
the model kept at least :data:`KEPT_SHARE` of such a line's length as ink, draws each gap
between the stretches it kept that is as dark as they are on the page (:data:`SAME_GRAY`) as dark
as it drew them. A line the model took away as a whole or for the most part (a fold, a crease, a
stain's straight edge) stays away, and so does a crease running between the letters it kept.
Measured: docs/do-no-harm.md, "Rules kept whole".
"""

from __future__ import annotations

import numpy as np

from docclean.inference.marks import INK
from docclean.inference.regions import masked

DARK = 0.75
"""Levelled gray below which a pixel may belong to a rule."""
MIN_LENGTH = 41
"""Px a run must span, across or down, to be a rule: longer than body text's strokes at 150 dpi
(letters 20 px tall); longer strokes of larger type are kept by the model anyway."""
MAX_WIDTH = 6
"""Widest rule (px across it, on average over its length): thicker bars are not what the tone
curve breaks."""
CORE = 0.1
"""A gap's pixels within this of the line's darkest there are its core, the ones drawn."""
SAME_GRAY = 0.1
"""A gap is the line's own when its darkest gray is at most this much lighter than the median of
the stretches the model kept."""
KEPT_SHARE = 0.5
"""Share of a line's length the model must keep as ink (below
:data:`docclean.inference.marks.INK`) for its gaps to come back."""


def keep_rules(levelled: np.ndarray, cleaned: np.ndarray) -> np.ndarray:
    """``cleaned`` with the thin straight lines of ``levelled`` that the model kept in part put
    back whole; ``cleaned`` itself when there are none. Lines are found on the page at half size
    (any of 2 x 2 pixels dark: a 1-px rule stays whole), in a third of the time; they are mended
    at full size."""
    import cv2

    dark = levelled < DARK
    small_dark = _halved(dark.view(np.uint8))
    small_erased = _halved((dark & (cleaned >= INK)).view(np.uint8))
    height, width = levelled.shape
    length = -(-MIN_LENGTH // 2)  # at half size
    out = cleaned
    for axis in (1, 0):  # 1: lines across (runs along the rows), 0: lines down
        kernel = np.ones((1, length) if axis == 1 else (length, 1), np.uint8)
        lines = cv2.morphologyEx(small_dark, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        if count <= 1:
            continue
        (own,) = masked(small_erased, labels)
        erased = np.bincount(own, minlength=count)
        along = stats[:, cv2.CC_STAT_WIDTH if axis == 1 else cv2.CC_STAT_HEIGHT]
        thin = stats[:, cv2.CC_STAT_AREA] <= (MAX_WIDTH // 2 + 1) * along
        candidates = np.flatnonzero(thin & (erased > 0))
        for label in candidates[candidates > 0]:  # not the background
            x, y, w, h = (int(v) for v in stats[label, :4])
            box = (slice(2 * y, min(2 * (y + h), height)), slice(2 * x, min(2 * (x + w), width)))
            mine = (labels[y : y + h, x : x + w] == label).repeat(2, 0).repeat(2, 1)
            line = dark[box] & mine[: box[0].stop - box[0].start, : box[1].stop - box[1].start]
            out = _mend_line(levelled, out, box, line, axis, cleaned)
    return out


def _halved(mask: np.ndarray) -> np.ndarray:
    """``mask`` at half size, a pixel set where any of its 2 x 2 is."""
    import cv2

    grown = cv2.dilate(mask, np.ones((2, 2), np.uint8), anchor=(0, 0))
    return np.ascontiguousarray(grown[::2, ::2])


def _mend_line(
    levelled: np.ndarray,
    out: np.ndarray,
    box: tuple[slice, slice],
    line: np.ndarray,
    axis: int,
    cleaned: np.ndarray,
) -> np.ndarray:
    """``out`` with one line (``line``, its pixels within ``box``) mended, if the model kept
    :data:`KEPT_SHARE` of its length: each gap between stretches it kept (a column of a line
    across, a row of a line down, none of it kept as ink) whose darkest gray is within
    :data:`SAME_GRAY` of the kept stretches' (the same line, not a crease running between letters)
    has its core (its darkest pixels, within :data:`CORE`) drawn at the model's median gray for the
    line's ink."""
    gray = levelled[box]
    across = 1 - axis
    kept = (line & (out[box] < INK)).any(axis=across)
    present = line.any(axis=across)
    if kept.sum() < KEPT_SHARE * present.sum() or kept.sum() == present.sum():
        return out
    darkest = np.where(line, gray, np.inf).min(axis=across)
    first, last = np.flatnonzero(kept)[[0, -1]]
    gaps = present & ~kept & (darkest <= np.median(darkest[kept]) + SAME_GRAY)
    gaps[:first] = gaps[last + 1 :] = False  # its ends stay as the model made them
    core = line & (gray <= np.expand_dims(darkest + CORE, across)) & np.expand_dims(gaps, across)
    if not core.any():
        return out
    drawn = float(np.median(out[box][line & (out[box] < INK)]))  # the model's own gray for it
    out = out.copy() if out is cleaned else out
    region = out[box]
    region[core] = np.minimum(region[core], drawn)
    return out
