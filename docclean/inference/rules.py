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

Under heavy noise and blur the model takes away whole rules too (a table's 1-px rules at 300 dpi
blurred to 0.55 gray). Such a line comes back whole when it is plainly a printed rule: long
(:data:`PLAIN_RULE_HEIGHTS` letter heights, at least :data:`PLAIN_RULE_LENGTH` px), straight
(:data:`STRAIGHT`), darker than the paper beside it by :data:`PLAIN_RULE_CONTRAST`, with the same
paper on both sides (:data:`SIDE_GAP`, :data:`SAME_SIDES`): a crease has a shaded side, a wrinkle
wanders, a shadow's edge is a step. Measured: docs/do-no-harm.md, "Rules kept whole" and "Plain
rules kept under heavy noise".
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
:data:`docclean.inference.marks.INK`) for its gaps to come back, unless it is a plain rule."""
PLAIN_RULE_HEIGHTS = 8.0
PLAIN_RULE_LENGTH = 3 * MIN_LENGTH
"""A line the model took away comes back only when it spans this many of the page's letter heights
and at least this many px (a wrinkle through a line of NoisyOffice's text: 107 px, 10 heights)."""
STRAIGHT = 0.5
"""Largest RMS distance (px) of a plain rule's centre from the straight line fitted to it (rules
on noisy 200-300 dpi pages 0.25-0.38, a wrinkle 0.85)."""
SIDE_GAP = (3, 5)
"""Px beyond each side of a line where the paper beside it is read."""
SAME_SIDES = 0.05
PLAIN_RULE_CONTRAST = 0.25
"""The paper beside a plain rule: its two sides' medians within :data:`SAME_SIDES` of each other,
and both this much lighter than the line's median darkest gray."""


def keep_rules(levelled: np.ndarray, cleaned: np.ndarray, letter_height: float = 0.0) -> np.ndarray:
    """``cleaned`` with the thin straight lines of ``levelled`` that the model kept in part, and the
    plain rules it took away, put back whole; ``cleaned`` itself when there are none.
    ``letter_height`` (px; 0 if unknown) sets how long a plain rule is. Lines are found on the page
    at half size (any of 2 x 2 pixels dark: a 1-px rule stays whole), in a third of the time; they
    are mended at full size."""
    import cv2

    dark = levelled < DARK
    small_dark = _halved(dark.view(np.uint8))
    small_erased = _halved((dark & (cleaned >= INK)).view(np.uint8))
    height, width = levelled.shape
    length = -(-MIN_LENGTH // 2)  # at half size
    plain_length = max(PLAIN_RULE_HEIGHTS * letter_height, PLAIN_RULE_LENGTH)
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
            out = _mend_line(levelled, out, box, line, axis, cleaned, plain_length)
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
    plain_length: float,
) -> np.ndarray:
    """``out`` with one line (``line``, its pixels within ``box``) mended, if the model kept
    :data:`KEPT_SHARE` of its length: each gap between stretches it kept (a column of a line
    across, a row of a line down, none of it kept as ink) whose darkest gray is within
    :data:`SAME_GRAY` of the kept stretches' (the same line, not a crease running between letters)
    has its core (its darkest pixels, within :data:`CORE`) drawn at the model's median gray for the
    line's ink (black where it kept none). A line it kept less of comes back whole, ends and all,
    only when it is a plain rule (see the module's text) ``plain_length`` px long or longer."""
    gray = levelled[box]
    across = 1 - axis
    inked = line & (out[box] < INK)
    kept = inked.any(axis=across)
    present = line.any(axis=across)
    if kept.sum() == present.sum():
        return out
    darkest = np.where(line, gray, np.inf).min(axis=across)
    if kept.sum() >= KEPT_SHARE * present.sum():
        first, last = np.flatnonzero(kept)[[0, -1]]
        gaps = present & ~kept & (darkest <= np.median(darkest[kept]) + SAME_GRAY)
        gaps[:first] = gaps[last + 1 :] = False  # its ends stay as the model made them
    elif present.sum() >= plain_length and _plain_rule(levelled, box, line, axis, darkest):
        gaps = present & ~kept
    else:
        return out
    core = line & (gray <= np.expand_dims(darkest + CORE, across)) & np.expand_dims(gaps, across)
    if not core.any():
        return out
    drawn = float(np.median(out[box][inked])) if kept.any() else 0.0  # the model's own gray
    out = out.copy() if out is cleaned else out
    region = out[box]
    region[core] = np.minimum(region[core], drawn)
    return out


def _plain_rule(
    levelled: np.ndarray, box: tuple[slice, slice], line: np.ndarray, axis: int, darkest: np.ndarray
) -> bool:
    """Whether a line (``line`` within ``box``; ``darkest``: its darkest gray at each position
    along it) is straight and sits evenly on paper (see the module's text)."""
    page, along_line = (levelled, line) if axis == 1 else (levelled.T, line.T)
    top, left = (box[0].start, box[1].start) if axis == 1 else (box[1].start, box[0].start)
    present = along_line.any(axis=0)
    positions = np.flatnonzero(present)
    first = along_line[:, present].argmax(axis=0)  # the line's first and last row at each column
    last = along_line.shape[0] - 1 - along_line[::-1, present].argmax(axis=0)
    centre = (first + last) / 2.0
    fitted = np.polyval(np.polyfit(positions, centre, 1), positions)
    if float(np.sqrt(np.mean((centre - fitted) ** 2))) > STRAIGHT:
        return False
    gaps = np.arange(SIDE_GAP[0], SIDE_GAP[1] + 1)
    columns = np.broadcast_to((left + positions)[:, None], (positions.size, gaps.size))
    sides = []
    for edge, sign in ((first, -1), (last, 1)):
        rows = top + edge[:, None] + sign * gaps[None, :]
        inside = (rows >= 0) & (rows < page.shape[0])
        if not inside.any():
            return False
        sides.append(float(np.median(page[rows[inside], columns[inside]])))
    line_gray = float(np.median(darkest[present]))
    return abs(sides[0] - sides[1]) <= SAME_SIDES and min(sides) - line_gray >= PLAIN_RULE_CONTRAST
