"""Small marks and specks after the model: kept on a clean page, dropped on a speckled one.

Punctuation and diacritics of small print (a 6-pt full stop at 150 dpi is 4-5 px) look like the
specks a model is taught to remove, and which of them a model keeps is a matter of its training's
luck: a fine-tune with the same recipe and another seed erased 13 of the 5,070 marks on two clean
150-dpi pages that the default keeps (docs/do-no-harm.md). Whether a small dark dot is a mark or a
speck the page as a whole tells, so after the model :func:`mend_marks` counts the page's lone
specks (dark components of at most :data:`SPECK_AREA` px with nothing dark within
:data:`CLEARANCE` px) and

- on a clean page (few specks, or few off its lines of text: :data:`SPECK_SHARE`,
  :data:`LINE_REACH`) puts back, as the levelled page has them, the marks the model turned more
  than half into paper, when a mark is small (:data:`MAX_MARK_AREA`), dark at its core
  (:data:`MAX_CORE`) and on clean paper (:data:`PAPER`, :data:`MAX_GRAY_SHARE`);
- on a speckled page (salt-and-pepper, dust: :data:`SPECKLED_SHARE` of its components are lone
  specks with a dark core) turns the lone specks of at most :data:`DROPPED_AREA` px that the model
  left into paper, fills the pinholes salt left in its strokes (:data:`PINHOLE_AREA`), and puts
  back the marks the model erased that are larger than a speck (:data:`SPECKLED_MARK_AREA`), dark
  at its core and on light paper (:data:`SPECKLED_PAPER`);
- leaves every other page as the model cleaned it.

The page's :class:`Census` is taken once, before the model, and serves
:mod:`docclean.inference.impulses` too. Measured: docs/do-no-harm.md, "Marks kept", "Specks
dropped" and "Punctuation on its lines".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from docclean.inference.levels import sampled_quantiles
from docclean.inference.regions import RING_PAD, masked, padded_box, surround

INK = 0.5
"""Levelled gray below which a pixel is ink (the harm measure's line)."""
SPECK_AREA = 4
CLEARANCE = 3
"""A speck: a dark component of at most :data:`SPECK_AREA` px with no other dark pixel within
:data:`CLEARANCE` px of its bounding box."""
SPECK_SHARE = 0.05
MIN_SPECKS = 5
"""A page is clean when at most this share of its dark components (or :data:`MIN_SPECKS`) are
specks: 2 % on clean and light-scanned specimen pages at 150 dpi, 0 at 300-600 dpi; 13 % on
blurred noisy scans, 35-65 % under salt-and-pepper, 1-10 % on NoisyOffice. Specks on a line of
text (:data:`LINE_REACH`) are not counted when the count is over."""
LINE_REACH = 2.0
MIN_GLYPH_AREA = 16
"""A speck lies on a line of text (a full stop, a comma, a colon's dot) when a dark component
that is no speck lies on its row within this many of the page's letter heights across (the
median height of its components of at least :data:`MIN_GLYPH_AREA` px). A crop of 150-dpi
punctuation ("... ,,, ;;; :::") is 7 % specks, all on its lines; salt-and-pepper falls between
the lines and in the margins too."""
MAX_MARK_AREA = 40
"""Largest mark put back (px): the marks models erase are small print's full stops, commas and
dots, 4-19 px at 150-300 dpi (a 6-pt full stop at 600 dpi is 36); larger erased blobs are stains'
drops (NoisyOffice's coffee drops are 60-100 px)."""
MAX_CORE = 0.4
PAPER = 0.95
MAX_GRAY_SHARE = 0.15
"""A mark's darkest levelled pixel is at most :data:`MAX_CORE` (a 6-pt apostrophe at 150 dpi:
0.36); the ring 3-4 px around it is clean paper: its median at least :data:`PAPER`, at most
:data:`MAX_GRAY_SHARE` of it gray (between :data:`INK` and 0.85: the shading of a stain or a
crease; at most 0.11 on specimen pages)."""
SPECKLED_SHARE = 0.2
SPECK_CORE = 0.3
DROPPED_AREA = 2
"""A page is speckled when at least :data:`SPECKLED_SHARE` of its dark components are specks with
a pixel darker than :data:`SPECK_CORE` (33-62 % under salt-and-pepper; at most 10 % on NoisyOffice,
0.5 % on phone photos, whose small print blurs into pale fragments); the specks of at most
:data:`DROPPED_AREA` px left in the model's output, with nothing dark within :data:`CLEARANCE` px,
are dropped there (3-4 px specks are where 150-dpi punctuation lies: dropping them cost 70 marks on
nine such pages, 2 px one)."""
SPECKLED_MARK_AREA = 5
SPECKLED_PAPER = 0.8
"""On a speckled page, an erased mark is put back when it has :data:`SPECKLED_MARK_AREA` px or
more (of what the default erased on damaged specimen pages, 90 % of the specks are 3-4 px, the
marks 3-20 px, median 9), at most :data:`MAX_MARK_AREA`, its darkest pixel at most
:data:`MAX_CORE`, and the median of the ring around it :data:`SPECKLED_PAPER` or lighter (the
clean-paper test fails on noisy paper; under a stain's shade specks were put back). Where salt
and pepper fall between the words, the model erases the odd full stop or comma as a speck: on 12
damaged pages at 150-300 dpi the default lost 59 marks, 36 with them put back, at the same
RMSE."""
PINHOLE_AREA = 2
"""On a speckled page, light holes of at most this many px inside ink (salt on a stroke) are
filled; a small letter's counter at 150 dpi that the model keeps open is larger."""


@dataclass(frozen=True)
class Census:
    """A levelled page's dark components (``labels`` and ``stats`` from
    ``cv2.connectedComponentsWithStats``, background first) and what they make it: ``"clean"``,
    ``"speckled"`` or ``"other"`` (see the module's text)."""

    dark: np.ndarray
    labels: np.ndarray
    stats: np.ndarray
    kind: Literal["clean", "speckled", "other"]


def census(levelled: np.ndarray) -> Census:
    """Count ``levelled``'s dark components and its lone specks, and say what kind of page it is."""
    import cv2

    dark = levelled < INK
    dark_u8 = dark.view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark_u8, connectivity=8)
    if count <= 1:
        return Census(dark, labels, stats, "other")
    specks = lone_specks(dark_u8, stats)
    allowed = max(MIN_SPECKS, SPECK_SHARE * specks.size)
    if specks.sum() <= allowed or _specks_off_lines(labels, stats, specks) <= allowed:
        return Census(dark, labels, stats, "clean")
    own, gray = masked(dark, labels, levelled)
    cored = np.bincount(own[gray < SPECK_CORE], minlength=count)[1:] > 0
    speckled = (specks & cored).sum() >= SPECKLED_SHARE * specks.size
    return Census(dark, labels, stats, "speckled" if speckled else "other")


def glyph_height(stats: np.ndarray) -> float:
    """Median height (px) of the components (``stats`` from ``cv2.connectedComponentsWithStats``,
    background first) of at least :data:`MIN_GLYPH_AREA` px; 0 when there are none."""
    import cv2

    glyphs = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= MIN_GLYPH_AREA]
    return float(np.median(glyphs[:, cv2.CC_STAT_HEIGHT])) if len(glyphs) else 0.0


def _specks_off_lines(labels: np.ndarray, stats: np.ndarray, specks: np.ndarray) -> int:
    """How many of the components flagged in ``specks`` (background left out) have their centre
    off the page's lines of text: no component that is no speck within :data:`LINE_REACH` letter
    heights along their row."""
    import cv2

    reach = round(LINE_REACH * glyph_height(stats))
    if reach == 0:
        return int(specks.sum())
    letters = np.concatenate([[False], ~specks]).astype(np.uint8)
    lines = cv2.dilate(letters[labels], np.ones((1, 2 * reach + 1), np.uint8))
    x, y, width, height = (stats[1:, i][specks] for i in range(4))
    return int(np.count_nonzero(lines[y + height // 2, x + width // 2] == 0))


def mend_marks(
    levelled: np.ndarray, cleaned: np.ndarray, page_census: Census | None = None
) -> np.ndarray:
    """``cleaned`` with the small marks of a clean ``levelled`` page that the model erased put back
    (the darker of the two pages over each mark and a 1-px rim), or on a speckled page with the
    lone specks it left turned into paper, the pinholes in its strokes filled and the marks larger
    than a speck that it erased put back; ``cleaned`` itself when there are none. ``page_census``
    is ``census(levelled)`` where the caller has it."""
    if page_census is None:
        page_census = census(levelled)
    if page_census.kind == "clean":
        return _keep_marks(
            levelled, cleaned, page_census.dark, page_census.labels, page_census.stats
        )
    if page_census.kind == "speckled":
        import cv2

        cleaned = _fill_pinholes(_drop_specks(cleaned))
        # labelled anew: the page the model saw has its impulses cleared, the census's has not
        dark = levelled < INK
        _, labels, stats, _ = cv2.connectedComponentsWithStats(
            dark.astype(np.uint8), connectivity=8
        )
        return _keep_marks(
            levelled, cleaned, dark, labels, stats, SPECKLED_MARK_AREA, _on_light_paper
        )
    return cleaned


def _keep_marks(
    levelled: np.ndarray,
    cleaned: np.ndarray,
    inside: np.ndarray,
    labels: np.ndarray,
    stats: np.ndarray,
    min_area: int = 1,
    on_paper: Callable[[np.ndarray], bool] | None = None,
) -> np.ndarray:
    """``cleaned`` with the marks of ``levelled`` (its dark pixels ``inside``, their components
    ``labels`` and ``stats``) of ``min_area`` px or more that the model erased and that pass the
    guards put back: a dark core, and ``on_paper`` (the ring around the mark; clean paper unless
    given)."""
    import cv2

    area = stats[:, cv2.CC_STAT_AREA]
    own, after = masked(inside, labels, cleaned)
    erased = np.bincount(own[after >= INK], minlength=area.size)
    candidates = np.flatnonzero((2 * erased > area) & (area >= min_area) & (area <= MAX_MARK_AREA))
    on_paper = on_paper or _on_clean_paper
    out = cleaned
    for label in candidates[candidates > 0]:
        box = padded_box(stats[label], labels.shape, RING_PAD)
        mark = labels[box] == label
        gray = levelled[box]
        if float(gray[mark].min()) > MAX_CORE or not on_paper(gray[surround(mark)[1]]):
            continue
        grown = cv2.dilate(mark.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        out = out.copy() if out is cleaned else out
        out[box][grown] = np.minimum(out[box][grown], gray[grown])
    return out


def _drop_specks(cleaned: np.ndarray) -> np.ndarray:
    """``cleaned`` with its lone specks of at most :data:`DROPPED_AREA` px (and a 1-px rim) raised
    to its paper level (its 90 % quantile)."""
    import cv2

    ink = (cleaned < INK).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    dropped = np.zeros(count, bool)
    dropped[1:] = lone_specks(ink, stats, DROPPED_AREA)
    if not dropped.any():
        return cleaned
    where = cv2.dilate(dropped[labels].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    out = cleaned.copy()
    out[where] = np.maximum(out[where], np.float32(sampled_quantiles(cleaned, [0.9])[0]))
    return out


def _fill_pinholes(cleaned: np.ndarray) -> np.ndarray:
    """``cleaned`` with its pinholes (salt on ink: light components of at most
    :data:`PINHOLE_AREA` px, 4-connected, with nothing light within 1 px of their box) taking the
    darkest of their 8 neighbours' values."""
    import cv2

    light = (cleaned >= INK).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=4)
    pinholes = np.zeros(count, bool)
    pinholes[1:] = lone_specks(light, stats, PINHOLE_AREA, clearance=1)
    if not pinholes.any():
        return cleaned
    where = pinholes[labels]
    out = cleaned.copy()
    out[where] = cv2.erode(cleaned, np.ones((3, 3), np.uint8))[where]
    return out


def lone_specks(
    mask: np.ndarray,
    stats: np.ndarray,
    max_area: int = SPECK_AREA,
    clearance: int = CLEARANCE,
) -> np.ndarray:
    """For each component of the uint8 ``mask`` (``stats`` from
    ``cv2.connectedComponentsWithStats``, background first and left out), whether it is a speck:
    at most ``max_area`` px, with no other pixel of ``mask`` within ``clearance`` px of its box."""
    import cv2

    x, y, width, height, area = (stats[1:, i].astype(np.int64) for i in range(5))
    rows, cols = mask.shape
    top, bottom = np.maximum(y - clearance, 0), np.minimum(y + height + clearance, rows)
    left, right = np.maximum(x - clearance, 0), np.minimum(x + width + clearance, cols)
    sums = cv2.integral(mask, sdepth=cv2.CV_32S)
    around = sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]
    specks: np.ndarray = (area <= max_area) & (around <= area)
    return specks


def _on_light_paper(ring: np.ndarray) -> bool:
    return float(np.median(ring)) >= SPECKLED_PAPER


def _on_clean_paper(ring: np.ndarray) -> bool:
    gray = (ring >= INK) & (ring < 0.85)
    return float(np.median(ring)) >= PAPER and float(gray.mean()) <= MAX_GRAY_SHARE
