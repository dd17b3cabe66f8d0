"""Do-no-harm checks: a cleaner must give back clean pages, and good light scans of them, unharmed.

Specimen pages are rendered with real TrueType fonts at an exact point-to-pixel scale
(``pt * dpi / 72``): bold headings of 24-48 pt, body text of 9-12 pt regular and bold, small print of
6-7 pt, lines full of punctuation, a table with ruled lines and horizontal rules of 1-3 px. Each
page also comes as a *good light scan*: light paper, dark ink, a slight blur, mild noise and a gentle
illumination gradient, all from a seed; and, on request, as a *toned* page whose gray belongs to it
(headings in a tint, as coloured headings scan; shaded table header rows), which is its own pure
page, and a light scan of it; or as a *blurred* scan (a phone's photo, a scan out of focus). The
toned and blurred scans are reported, not judged. A cleaner's output on each is compared with the
pure page:

- **ink lost**: the fraction of the pure page's ink pixels (< 0.5) that come back light (>= 0.5);
- **ink added**: the fraction of its paper pixels (>= 0.5) that come back dark;
- **RMSE** against the pure page;
- **components lost**: connected ink components of the pure page (a dot, a comma, a rule) of which
  more than half the pixels come back light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docclean.evaluation.metrics import fmeasure

Cleaner = Callable[[np.ndarray], np.ndarray]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Box = tuple[int, int, int, int]
"""(top, left, bottom, right) in pixels, bottom and right exclusive."""

DPIS: tuple[int, ...] = (150, 300, 600)
A4_MM: tuple[float, float] = (297.0, 210.0)  # (height, width)
INK_LEVEL = 0.5
"""Pixels darker than this are ink, on the pure page and on a cleaned one."""
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf",
    ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf",
    ("serif", True): "DejaVuSerif-Bold.ttf",
}
MIN_COMPONENT = 3
"""Ink components of fewer pixels (specks of a glyph's anti-aliased edge) are not counted."""


@dataclass(frozen=True)
class Targets:
    """What a cleaner must meet on specimen pages (issue "First, do no harm")."""

    ink_lost_worst: float = 0.01
    """Ink lost on the worst page, pure or light scan."""
    pure_rmse: float = 0.010
    """RMSE of a cleaned pure page against itself, worst page."""
    scan_rmse: float = 0.040
    """RMSE of a cleaned light scan against its pure page, pooled over the pages."""


TARGETS = Targets()


# --- rendering ------------------------------------------------------------------------------


@cache
def load_font(family: str, bold: bool, size_px: float) -> Font:
    """DejaVu ``family`` (sans or serif) at ``size_px``; Pillow's bundled font when it is missing."""
    path = FONT_DIR / FONT_FILES[(family, bold)]
    try:
        return ImageFont.truetype(str(path), size_px)
    except OSError:
        return ImageFont.load_default(size=max(1.0, size_px))


def points_to_pixels(points: float, dpi: float) -> float:
    """The exact pixel size of ``points`` at ``dpi`` (a point is 1/72 inch)."""
    return points * dpi / 72.0


@dataclass(frozen=True)
class Block:
    """One block of a specimen page, sizes in points."""

    kind: str  # heading | text | rules | table
    points: float = 10.0
    family: str = "sans"
    bold: bool = False
    text: str = ""
    lines: int = 1
    rules_px: tuple[int, ...] = ()


BODY = (
    "The quarterly figures show a steady rise in orders from the northern region, while returns "
    "fell to their lowest level since records began. Staff costs were held flat; freight and "
    "energy rose by 4.5 % and 7.25 % respectively. Minutes of the meeting of 12 March are attached "
    "for approval, with the amended budget (see table 2) and the auditor's notes on inventory."
)
PUNCTUATION = (
    "Dots. commas, semi;colons: \"quotes\" 'single' (round) [square] {curly} a-b c--d e/f "
    "i.e. e.g. No. 1,234.56; 7:30 p.m.! Why? 50% & co. @ #3 * ~ ... ,,, ;;; ::: !!! ???"
)
SMALL_PRINT = (
    "Terms: payment is due within 30 days of the invoice date; late payments incur interest at "
    "1.5% per month. E. & O.E. All prices exclude VAT. Goods remain our property until paid."
)
FULL_LAYOUT: tuple[Block, ...] = (
    Block("heading", 48, "sans", True, "Annual Report 2026"),
    Block("text", 12, "serif", False, BODY, lines=4),
    Block("heading", 36, "serif", True, "Section 1. Results"),
    Block("text", 10, "sans", False, BODY, lines=4),
    Block("text", 11, "sans", True, BODY, lines=2),
    Block("text", 10, "sans", False, PUNCTUATION, lines=2),
    Block("rules", rules_px=(1, 2, 3)),
    Block("heading", 24, "sans", True, "Summary of findings"),
    Block("text", 9, "serif", True, BODY, lines=2),
    Block("text", 9, "serif", False, BODY, lines=3),
    Block("table", 10, "sans", False),
    Block("text", 7, "sans", False, SMALL_PRINT, lines=2),
    Block("text", 6, "serif", False, SMALL_PRINT, lines=2),
    Block("text", 7, "serif", False, PUNCTUATION, lines=1),
    Block("heading", 30, "sans", True, "Appendix: Notes"),
    Block("text", 12, "sans", True, BODY, lines=2),
    Block("rules", rules_px=(3, 1)),
)
COMPACT_LAYOUT: tuple[Block, ...] = (
    Block("heading", 36, "sans", True, "Ink, Bold"),
    Block("rules", rules_px=(2,)),
    Block("text", 9, "sans", False, PUNCTUATION, lines=1),
    Block("text", 10, "serif", False, BODY, lines=1),
    Block("text", 7, "sans", False, SMALL_PRINT, lines=1),
)
TABLE_ROWS = (
    ("Item", "Qty", "Unit", "Total"),
    ("Paper, A4", "12", "4.50", "54.00"),
    ("Toner (black)", "3", "61.20", "183.60"),
    ("Staples; 5,000", "2", "2.15", "4.30"),
    ("Total", "", "", "241.90"),
)


@dataclass
class _Pen:
    """Where the next block goes, and what has been drawn."""

    draw: ImageDraw.ImageDraw
    dpi: float
    left: int
    right: int
    top: float
    bottom: int
    headings: list[Box] = field(default_factory=list)
    table_heads: list[Box] = field(default_factory=list)

    def px(self, points: float) -> float:
        return points_to_pixels(points, self.dpi)


def _words_that_fit(words: list[str], font: Font, draw: ImageDraw.ImageDraw, width: int) -> int:
    """How many of ``words`` fit on one line of ``width`` px (at least one)."""
    count = 1
    while count < len(words) and draw.textlength(" ".join(words[: count + 1]), font=font) <= width:
        count += 1
    return count


def _draw_block(pen: _Pen, block: Block, offset: int) -> bool:
    """Draw ``block`` at the pen; False (and nothing drawn) when it does not fit."""
    width = pen.right - pen.left
    if block.kind == "rules":
        gap = max(pen.px(6), 6.0)
        need = gap * len(block.rules_px)
        if pen.top + need > pen.bottom:
            return False
        for thickness in block.rules_px:
            y = round(pen.top + gap / 2)
            pen.draw.rectangle((pen.left, y, pen.right - 1, y + thickness - 1), fill=0)
            pen.top += gap
        return True
    size = pen.px(block.points)
    font = load_font(block.family, block.bold, size)
    heading = block.kind == "heading"
    line_height = size * (1.15 if heading else 1.3)
    if block.kind == "table":
        return _draw_table(pen, font, line_height)
    if pen.top + line_height * block.lines > pen.bottom:
        return False
    words = block.text.split()
    if not heading:  # paragraphs start at a different word on each page
        start = offset % len(words)
        words = words[start:] + words[:start]
    for _ in range(block.lines):
        if heading:
            text = " ".join(words)
            while len(text) > 1 and pen.draw.textlength(text, font=font) > width:
                text = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
        else:
            count = _words_that_fit(words, font, pen.draw, width)
            text = " ".join(words[:count])
            words = words[count:] + words[:count]
        y = round(pen.top)
        pen.draw.text((pen.left, y), text, font=font, fill=0)
        if heading:
            x0, y0, x1, y1 = (round(v) for v in pen.draw.textbbox((pen.left, y), text, font=font))
            pen.headings.append((y0, x0, y1, x1))
        pen.top += line_height
    pen.top += size * 0.3
    return True


def _draw_table(pen: _Pen, font: Font, line_height: float) -> bool:
    """A ruled table: 1 px inner rules, a 2 px frame."""
    rows = len(TABLE_ROWS)
    height = line_height * rows + 4
    if pen.top + height > pen.bottom:
        return False
    width = pen.right - pen.left
    columns = [0.0, 0.45, 0.62, 0.80, 1.0]
    xs = [round(pen.left + c * width) for c in columns]
    top = round(pen.top)
    ys = [round(top + i * line_height) for i in range(rows + 1)]
    pad = round(line_height * 0.12)
    pen.table_heads.append((ys[0], xs[0], ys[1], xs[-1]))
    for r, row in enumerate(TABLE_ROWS):
        for c, cell in enumerate(row):
            if cell:
                pen.draw.text((xs[c] + 2 * pad + 2, ys[r] + pad + 1), cell, font=font, fill=0)
    for i, y in enumerate(ys):
        thick = 2 if i in (0, rows) else 1
        pen.draw.rectangle((xs[0], y, xs[-1] - 1, y + thick - 1), fill=0)
    for i, x in enumerate(xs):
        thick = 2 if i in (0, len(xs) - 1) else 1
        pen.draw.rectangle(
            (x - (thick if i else 0), ys[0], x - 1 + (0 if i else thick), ys[-1] + 1), fill=0
        )
    pen.top += height + pen.px(6)
    return True


@dataclass(frozen=True)
class SpecimenPage:
    """A pure rendered page (float32, 1 = paper, 0 = ink) and where its headings are."""

    pixels: np.ndarray
    dpi: int
    headings: tuple[Box, ...]
    table_heads: tuple[Box, ...] = ()


def render_specimen(
    height: int,
    width: int,
    dpi: int,
    layout: Sequence[Block] = FULL_LAYOUT,
    seed: int = 0,
    margin_in: float = 0.75,
) -> SpecimenPage:
    """A clean page of ``height`` x ``width`` px at ``dpi`` filled with ``layout``'s blocks in turn.

    The blocks repeat until the page is full; ``seed`` picks the block to start with and where
    each paragraph starts in its text, so pages of different seeds differ.
    """
    image = Image.new("L", (width, height), 255)
    margin = min(round(margin_in * dpi), width // 10, height // 10)
    pen = _Pen(ImageDraw.Draw(image), dpi, margin, width - margin, margin, height - margin)
    index = seed % len(layout)
    misses = 0
    while misses < len(layout):
        drawn = _draw_block(pen, layout[index % len(layout)], seed * 7 + index)
        misses = 0 if drawn else misses + 1
        index += 1
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    return SpecimenPage(pixels, dpi, tuple(pen.headings), tuple(pen.table_heads))


TINTED_HEADING = 0.45
"""Gray of a toned specimen's headings (a coloured heading as a gray scan shows it)."""
SHADED_ROW = 0.85
"""Gray of a toned specimen's shaded table header rows."""


def toned(page: SpecimenPage) -> np.ndarray:
    """``page`` with gray that is part of it: headings in a tint (:data:`TINTED_HEADING`) and
    table header rows shaded (:data:`SHADED_ROW`), the text in them black."""
    out = page.pixels.copy()
    for top, left, bottom, right in page.headings:
        region = out[top:bottom, left:right]
        out[top:bottom, left:right] = 1.0 - (1.0 - region) * (1.0 - TINTED_HEADING)
    for top, left, bottom, right in page.table_heads:
        out[top:bottom, left:right] *= np.float32(SHADED_ROW)
    return out


PICTURE_INCHES = (2.0, 3.0)
"""Height and width of :func:`pictured`'s photograph."""


def photograph(height: int, width: int, dpi: float, seed: int = 0) -> np.ndarray:
    """A photograph-like picture, float32: smooth shapes in many tones (sized by ``dpi``), a
    gradient and grain, every pixel darker than paper (at most 0.84)."""
    from scipy import ndimage

    rng = np.random.default_rng([seed, 11])
    smooth = ndimage.gaussian_filter(rng.normal(size=(height, width)), dpi / 20)
    smooth = (smooth - smooth.min()) / max(float(np.ptp(smooth)), 1e-6)
    gradient = np.linspace(0.0, 0.3, width)[np.newaxis, :]
    grain = ndimage.gaussian_filter(rng.normal(size=(height, width)), dpi / 150) * 0.04
    return np.clip(0.12 + 0.55 * smooth + gradient + grain, 0.0, 0.84).astype(np.float32)


def pictured(page: np.ndarray, dpi: float, seed: int = 0) -> np.ndarray:
    """``page`` with a :func:`photograph` printed on it, :data:`PICTURE_INCHES` in a box cleared
    for it (a tenth of an inch of paper around), left of the page's middle."""
    height, width = (round(side * dpi) for side in PICTURE_INCHES)
    photo = photograph(height, width, dpi, seed)
    out = page.copy()
    top, left, gap = (page.shape[0] - height) // 2, page.shape[1] // 8, round(dpi / 10)
    out[top - gap : top + height + gap, left - gap : left + width + gap] = 1.0
    out[top : top + height, left : left + width] = photo
    return out


ANNOTATION_GRAY = 0.4
"""Gray of :func:`annotated`'s handwriting: a pencil pressed hard or a light pen (darker than the
ink line, so that its strokes count as ink)."""


def annotated(page: np.ndarray, dpi: float, seed: int = 0) -> np.ndarray:
    """``page`` with handwritten notes (:func:`handwritten_page`) in :data:`ANNOTATION_GRAY` across
    its middle third, over its print as notes between and across the lines are."""
    height, width = page.shape
    top, bottom = height // 3, 2 * height // 3
    hand = handwritten_page(bottom - top, width, dpi, seed + 100)
    out = np.array(page, np.float32)
    out[top:bottom] = np.minimum(out[top:bottom], 1.0 - (1.0 - hand) * (1.0 - ANNOTATION_GRAY))
    return out


def handwritten_page(height: int, width: int, dpi: float, seed: int = 0) -> np.ndarray:
    """A clean handwritten page (:func:`docclean.synth.render.render_page`'s manuscripts: script
    faces, pen-width strokes), black on white, from a seed."""
    from docclean.synth.render import render_page

    rng = np.random.default_rng([seed, 7])
    return render_page(rng, (height, width), float(dpi), manuscript=True)


def scan_of_target(target: np.ndarray, dpi: float = 300, seed: int = 0) -> Specimen:
    """A good light scan of a binarization target (its black the ink), as a specimen whose pure
    page is the target: a clean page of real handwriting or print, which a binarizer must give back
    at least as well as a global threshold does."""
    pure = np.where(np.asarray(target, dtype=np.float32) < INK_LEVEL, 0.0, 1.0).astype(np.float32)
    return Specimen(
        f"target-s{seed}", int(dpi), "target_scan", light_scan(pure, dpi, seed), pure, ()
    )


def light_scan(pure: np.ndarray, dpi: float, seed: int = 0) -> np.ndarray:
    """A good light scan of ``pure``: paper 0.92-0.96, ink 0.10-0.20, blur of sigma 0.5 px at 300 dpi
    (scaled with dpi), gaussian noise of sigma 0.01 and an illumination gradient of up to 4 %."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    paper, ink = rng.uniform(0.92, 0.96), rng.uniform(0.10, 0.20)
    page = (ink + (paper - ink) * pure).astype(np.float32)
    page = ndimage.gaussian_filter(page, sigma=0.5 * dpi / 300.0)
    h, w = page.shape
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (
        math.cos(angle) * np.linspace(-0.5, 0.5, w, dtype=np.float32)[np.newaxis, :]
        + math.sin(angle) * np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, np.newaxis]
    )
    page *= 1.0 - rng.uniform(0.02, 0.04) * (ramp + 0.5)
    page += rng.standard_normal(page.shape, dtype=np.float32) * np.float32(0.01)
    return np.clip(page, 0.0, 1.0).astype(np.float32)


BLURRED_NOISE = (0.01, 0.03)
"""Range of the gaussian noise's sigma on a :func:`blurred_scan`."""


def blurred_scan(pure: np.ndarray, dpi: float, blur: float, seed: int = 0) -> np.ndarray:
    """A :func:`light_scan` of ``pure`` blurred further by sigma ``blur`` px and noisier (sigma
    0.01-0.03): a phone's photo of the page, or a scan out of focus. Reported, not judged: under
    a blur of about 1 px at 150 dpi even Sauvola loses some of the smallest marks."""
    from scipy import ndimage

    rng = np.random.default_rng(seed + 7919)
    page = ndimage.gaussian_filter(light_scan(pure, dpi, seed), sigma=blur)
    page += rng.standard_normal(page.shape, dtype=np.float32) * np.float32(
        rng.uniform(*BLURRED_NOISE)
    )
    return np.clip(page, 0.0, 1.0).astype(np.float32)


DUSTY_NOISE = 0.02
DUSTY_SPECKS = (0.004, 0.002)
"""A :func:`dusty_scan`'s extra gaussian noise (sigma), and the shares of its pixels turned to
black and to white specks."""


def dusty_scan(pure: np.ndarray, dpi: float, seed: int = 0) -> np.ndarray:
    """A :func:`light_scan` of ``pure`` off dusty glass on a noisier sensor: gaussian noise of
    sigma :data:`DUSTY_NOISE` more, and one-pixel black and white specks (:data:`DUSTY_SPECKS`).
    Reported, not judged: the census calls it speckled, and its specks are not the page's."""
    rng = np.random.default_rng(seed + 15485863)
    page = light_scan(pure, dpi, seed)
    page += rng.standard_normal(page.shape, dtype=np.float32) * np.float32(DUSTY_NOISE)
    draw = rng.random(page.shape)
    black, white = DUSTY_SPECKS
    page[draw < black] = 0.0
    page[draw > 1.0 - white] = 1.0
    return np.clip(page, 0.0, 1.0).astype(np.float32)


def shadowed_scan(pure: np.ndarray, dpi: float, seed: int = 0) -> np.ndarray:
    """A :func:`light_scan` of ``pure`` under a hard shadow reaching in from a bottom corner (a
    hand's or a phone's held over the page): an ellipse over a third to a half of the page's
    height, darkening by 40-60 %, its penumbra a gaussian of 0.5-1.5 mm. Reported, not judged:
    the paper under it is no longer the pure page's paper."""
    from scipy import ndimage

    rng = np.random.default_rng(seed + 104729)
    height, width = pure.shape
    rows, cols = np.ogrid[0:height, 0:width]
    corner = 0 if rng.random() < 0.5 else width
    reach_y, reach_x = rng.uniform(0.35, 0.55) * height, rng.uniform(0.35, 0.5) * width
    inside = ((rows - height) / reach_y) ** 2 + ((cols - corner) / reach_x) ** 2 < 1.0
    penumbra = rng.uniform(0.5, 1.5) * dpi / 25.4
    shade = ndimage.gaussian_filter(inside.astype(np.float32), penumbra, mode="nearest")
    page = light_scan(pure, dpi, seed) * (1.0 - rng.uniform(0.4, 0.6) * shade)
    return np.clip(page, 0.0, 1.0).astype(np.float32)


def blurred_kind(blur: float) -> str:
    """The page kind of a :func:`blurred_scan` under a blur of sigma ``blur`` px."""
    return f"blurred_{blur:g}px"


REPORTED_ONLY = (
    "toned_scan",
    "shadowed_scan",
    "dusty_scan",
    "turned_scan",
    "pictured_scan",
    "annotated_scan",
)


def is_judged(kind: str) -> bool:
    """Whether pages of ``kind`` count in :func:`verdict` (blurred scans, light scans of toned
    pages, shadowed scans and turned scans are only reported)."""
    return not kind.startswith("blurred_") and kind not in REPORTED_ONLY


@dataclass(frozen=True)
class Specimen:
    """One page to clean (``page``) and the pure page it must come back as (``pure``)."""

    name: str
    dpi: int
    kind: str  # "pure", "light_scan", "toned" (a pure page with tinted headings, shaded rows),
    # "toned_scan", "shadowed_scan", "dusty_scan", "turned_scan", "handwritten" or a
    # blurred_kind(...)
    page: np.ndarray
    pure: np.ndarray
    headings: tuple[Box, ...]


def a4_pixels(dpi: int) -> tuple[int, int]:
    """(height, width) of an A4 page at ``dpi``, as scanners size it (2480 x 3508 at 300 dpi)."""
    return round(A4_MM[0] / 25.4 * dpi), int(A4_MM[1] / 25.4 * dpi)


def specimens(
    dpis: Iterable[int] = DPIS,
    size: tuple[int, int] | None = None,
    seeds: Iterable[int] = (0,),
    layout: Sequence[Block] = FULL_LAYOUT,
    kinds: Sequence[str] = ("pure", "light_scan"),
    blurs: Sequence[float] = (),
) -> Iterator[Specimen]:
    """Specimen pages, rendered one at a time: for each dpi and seed the pure page, then its light
    scan (and with ``"toned"`` in ``kinds``, the pure page with tinted headings and shaded rows,
    which must come back as it is, and with ``"toned_scan"`` a light scan of it, with
    ``"shadowed_scan"`` a :func:`shadowed_scan` of it, with ``"dusty_scan"`` a
    :func:`dusty_scan` of it, with ``"turned_scan"`` a light scan of
    the page turned a quarter, as a landscape page scanned sideways, with ``"pictured_scan"`` a
    light scan of the page with a photograph on it (:func:`pictured`), with ``"annotated_scan"`` a
    light scan of the page with handwritten notes in gray across it (:func:`annotated`); with
    ``"handwritten"``, a good light scan of a handwritten page, :func:`handwritten_page`); then a
    :func:`blurred_scan` at each of ``blurs``. ``size`` (height, width) in px, or an A4 page at
    each dpi when None."""
    seeds = list(seeds)
    for dpi in dpis:
        height, width = size if size is not None else a4_pixels(dpi)
        margin_in = 0.75 if size is None else 0.05
        for seed in seeds:
            page = render_specimen(height, width, dpi, layout, seed, margin_in)
            name = f"{dpi}dpi-{width}x{height}-s{seed}"
            for kind in kinds:
                if kind == "handwritten":
                    hand = handwritten_page(height, width, dpi, seed)
                    scan = light_scan(hand, dpi, seed)
                    yield Specimen(f"{name}-{kind}", dpi, kind, scan, hand, ())
                    continue
                if kind in ("toned", "toned_scan", "shadowed_scan", "dusty_scan"):
                    tinted = toned(page)
                    pixels = tinted
                    if kind == "toned_scan":
                        pixels = light_scan(tinted, dpi, seed)
                    elif kind == "shadowed_scan":
                        pixels = shadowed_scan(tinted, dpi, seed)
                    elif kind == "dusty_scan":
                        pixels = dusty_scan(tinted, dpi, seed)
                    yield Specimen(f"{name}-{kind}", dpi, kind, pixels, tinted, page.headings)
                    continue
                if kind == "pictured_scan":  # a light scan of the page with a photograph
                    with_photo = pictured(page.pixels, dpi, seed)
                    scan = light_scan(with_photo, dpi, seed)
                    yield Specimen(f"{name}-{kind}", dpi, kind, scan, with_photo, ())
                    continue
                if kind == "annotated_scan":  # notes in pencil across the print
                    with_notes = annotated(page.pixels, dpi, seed)
                    scan = light_scan(with_notes, dpi, seed)
                    yield Specimen(f"{name}-{kind}", dpi, kind, scan, with_notes, ())
                    continue
                if kind == "turned_scan":  # a page scanned sideways: turned a quarter
                    turned = np.ascontiguousarray(np.rot90(page.pixels))
                    scan = light_scan(turned, dpi, seed)
                    yield Specimen(f"{name}-{kind}", dpi, kind, scan, turned, ())
                    continue
                pixels = page.pixels if kind == "pure" else light_scan(page.pixels, dpi, seed)
                yield Specimen(f"{name}-{kind}", dpi, kind, pixels, page.pixels, page.headings)
            for blur in blurs:
                kind = blurred_kind(blur)
                pixels = blurred_scan(page.pixels, dpi, blur, seed)
                yield Specimen(f"{name}-{kind}", dpi, kind, pixels, page.pixels, page.headings)


# --- metrics --------------------------------------------------------------------------------


def ink_components(pure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the pure page's 8-connected ink components and each label's pixel count."""
    from scipy import ndimage

    labels, count = ndimage.label(pure < INK_LEVEL, structure=np.ones((3, 3), bool))
    return labels, np.bincount(labels.ravel(), minlength=count + 1)


def harm_scores(
    cleaned: np.ndarray,
    pure: np.ndarray,
    components: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """FM (percent, the pure page's ink pixels the target), ink lost, ink added, RMSE and
    components lost of ``cleaned`` against the pure page.

    ``components`` is :func:`ink_components` of ``pure`` when already known.
    """
    cleaned = np.asarray(cleaned, dtype=np.float32)
    if cleaned.shape != pure.shape:
        raise ValueError(f"cleaned page is {cleaned.shape}, the pure page {pure.shape}")
    ink = pure < INK_LEVEL
    light = cleaned >= INK_LEVEL
    ink_pixels = int(np.count_nonzero(ink))
    paper_pixels = ink.size - ink_pixels
    lost = ink & light
    labels, sizes = components if components is not None else ink_components(pure)
    lost_per = np.bincount(labels[lost], minlength=sizes.size)
    counted = sizes[1:] >= MIN_COMPONENT
    diff = cleaned.astype(np.float64) - pure
    return {
        "fm": fmeasure(cleaned, pure),
        "ink_lost": float(np.count_nonzero(lost)) / max(ink_pixels, 1),
        "ink_added": float(np.count_nonzero(~ink & ~light)) / max(paper_pixels, 1),
        "rmse": float(np.sqrt(np.mean(diff * diff))),
        "components": int(np.count_nonzero(counted)),
        "components_lost": int(np.count_nonzero(counted & (2 * lost_per[1:] > sizes[1:]))),
    }


RULE_LENGTH = 41
"""Ink runs this long, across or down, are the pure page's rules (and its headings' long bars)."""


def rule_pixels(pure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pure page's rule pixels: its ink runs of :data:`RULE_LENGTH` px or more, across and
    down."""
    import cv2

    ink = (np.asarray(pure) < INK_LEVEL).astype(np.uint8)
    across, down = (
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones(along, np.uint8)).astype(bool)
        for along in ((1, RULE_LENGTH), (RULE_LENGTH, 1))
    )
    return across, down


def rules_lost(
    output: np.ndarray, pure: np.ndarray, ruled: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[int, int]:
    """How many of the pure page's rule pixels (``ruled``: :func:`rule_pixels`, found if None)
    ``output`` broke: lighter than mid-gray across the rule's width (the darkest of the pixel and
    its two neighbours across), and of how many."""
    import cv2

    across, down = rule_pixels(pure) if ruled is None else ruled
    output = np.asarray(output, np.float32)
    lost = total = 0
    for lines, width in ((across, (3, 1)), (down, (1, 3))):
        darkest = cv2.erode(output, np.ones(width, np.uint8))
        lost += int((lines & (darkest >= INK_LEVEL)).sum())
        total += int(lines.sum())
    return lost, total


def box_ink_lost(cleaned: np.ndarray, pure: np.ndarray, box: Box) -> float:
    """Ink lost inside ``box``."""
    top, left, bottom, right = box
    ink = pure[top:bottom, left:right] < INK_LEVEL
    light = cleaned[top:bottom, left:right] >= INK_LEVEL
    return float(np.count_nonzero(ink & light)) / max(int(np.count_nonzero(ink)), 1)


# --- running cleaners -----------------------------------------------------------------------


@dataclass
class WorstHeading:
    """The heading a method damaged most: its page, box, ink lost and before/after crops."""

    page: str
    box: Box
    ink_lost: float
    before: np.ndarray
    after: np.ndarray


def harm_report(
    methods: Mapping[str, Cleaner],
    pages: Iterable[Specimen],
    targets: Targets = TARGETS,
    keep_crops: bool = False,
    on_page: Callable[[Specimen], None] | None = None,
) -> dict[str, Any]:
    """Run every method on every specimen page and score it against the pure page.

    Returns ``{"pages": [...], "summary": {method: [row per dpi and kind]}, "verdict": {method:
    {...}}, "targets": {...}}``; with ``keep_crops`` also ``"worst_heading": {method:
    WorstHeading}`` (not JSON). Pages are rendered and dropped one at a time.
    """
    rows: list[dict[str, Any]] = []
    worst: dict[str, WorstHeading] = {}
    for specimen in pages:
        if on_page is not None:
            on_page(specimen)
        components = ink_components(specimen.pure)
        row: dict[str, Any] = {
            "name": specimen.name,
            "dpi": specimen.dpi,
            "kind": specimen.kind,
            "height": int(specimen.pure.shape[0]),
            "width": int(specimen.pure.shape[1]),
            "scores": {},
        }
        for method, clean in methods.items():
            cleaned = np.asarray(clean(specimen.page), dtype=np.float32)
            scores: dict[str, Any] = harm_scores(cleaned, specimen.pure, components)
            heading = max(
                ((box_ink_lost(cleaned, specimen.pure, b), b) for b in specimen.headings),
                default=None,
            )
            if heading is not None:
                scores["worst_heading_ink_lost"] = heading[0]
                if keep_crops and (method not in worst or heading[0] > worst[method].ink_lost):
                    top, left, bottom, right = _padded(heading[1], specimen.pure.shape)
                    worst[method] = WorstHeading(
                        specimen.name,
                        heading[1],
                        heading[0],
                        specimen.page[top:bottom, left:right].copy(),
                        cleaned[top:bottom, left:right].copy(),
                    )
            row["scores"][method] = scores
        rows.append(row)
    report: dict[str, Any] = {
        "targets": {
            "ink_lost_worst": targets.ink_lost_worst,
            "pure_rmse": targets.pure_rmse,
            "scan_rmse": targets.scan_rmse,
        },
        "pages": rows,
        "summary": {m: summarize(rows, m) for m in methods},
        "verdict": {m: verdict(rows, m, targets) for m in methods},
    }
    if keep_crops:
        report["worst_heading"] = worst
    return report


def _padded(box: Box, shape: tuple[int, ...], pad: int = 8) -> Box:
    top, left, bottom, right = box
    return (
        max(0, top - pad),
        max(0, left - pad),
        min(shape[0], bottom + pad),
        min(shape[1], right + pad),
    )


def summarize(rows: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    """One row per (dpi, kind): worst ink lost and added, components lost, RMSE pooled over pages,
    FM (mean and worst page)."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["dpi"], row["kind"]), []).append(row)
    out = []
    for (dpi, kind), group in groups.items():
        scores = [r["scores"][method] for r in group]
        pixels = np.array([r["width"] * r["height"] for r in group], dtype=np.float64)
        squared = np.array([s["rmse"] ** 2 for s in scores])
        out.append(
            {
                "dpi": dpi,
                "kind": kind,
                "pages": len(group),
                "ink_lost_worst": max(s["ink_lost"] for s in scores),
                "ink_added_worst": max(s["ink_added"] for s in scores),
                "components_lost": sum(s["components_lost"] for s in scores),
                "components": sum(s["components"] for s in scores),
                "rmse": math.sqrt(float((pixels * squared).sum() / pixels.sum())),
                "rmse_worst": max(s["rmse"] for s in scores),
                "fm": float(np.mean([s["fm"] for s in scores])),
                "fm_worst": min(s["fm"] for s in scores),
                "heading_ink_lost_worst": max(
                    (s.get("worst_heading_ink_lost", 0.0) for s in scores), default=0.0
                ),
            }
        )
    return out


def verdict(rows: list[dict[str, Any]], method: str, targets: Targets = TARGETS) -> dict[str, Any]:
    """The method's figures against ``targets``: worst ink lost over all pages, worst pure-page
    RMSE, pooled light-scan RMSE, components lost, and with toned pages their worst RMSE (held to
    the pure pages' target); ``passes`` when all targets hold. Blurred scans and light scans of
    toned pages are left out (:func:`is_judged`)."""
    rows = [r for r in rows if is_judged(r["kind"])]
    scores = [r["scores"][method] for r in rows]
    pure = [r["scores"][method] for r in rows if r["kind"] == "pure"]
    toned = [r["scores"][method] for r in rows if r["kind"] == "toned"]
    scans = [r for r in rows if r["kind"] == "light_scan"]
    ink_lost = max((s["ink_lost"] for s in scores), default=0.0)
    pure_rmse = max((s["rmse"] for s in pure), default=0.0)
    if scans:
        pixels = np.array([r["width"] * r["height"] for r in scans], dtype=np.float64)
        squared = np.array([r["scores"][method]["rmse"] ** 2 for r in scans])
        scan_rmse = math.sqrt(float((pixels * squared).sum() / pixels.sum()))
    else:
        scan_rmse = 0.0
    toned_rmse = max((s["rmse"] for s in toned), default=0.0)
    lost = sum(s["components_lost"] for s in scores)
    return {
        "ink_lost_worst": ink_lost,
        "pure_rmse_worst": pure_rmse,
        "scan_rmse_pooled": scan_rmse,
        **({"toned_rmse_worst": toned_rmse} if toned else {}),
        "components_lost": lost,
        "passes": bool(
            ink_lost <= targets.ink_lost_worst
            and max(pure_rmse, toned_rmse) <= targets.pure_rmse
            and scan_rmse <= targets.scan_rmse
            and lost == 0
        ),
    }


BASELINE_BINARIZERS: tuple[str, ...] = ("otsu", "sauvola")
"""The classic thresholds a binarizer must never fall below on good pages."""


def binarizer_verdict(
    rows: list[dict[str, Any]], method: str, against: Sequence[str] = BASELINE_BINARIZERS
) -> dict[str, Any]:
    """A binarizer against classic thresholds (scored in the same ``rows``) on good pages: per page
    kind its mean FM and theirs, and ink components lost; ``passes`` when on every kind its mean
    FM is at least each of theirs and it loses no more components than the best of them."""
    kinds: dict[str, Any] = {}
    passes = True
    for kind in dict.fromkeys(r["kind"] for r in rows):
        group = [r["scores"] for r in rows if r["kind"] == kind]
        fm = {m: float(np.mean([g[m]["fm"] for g in group])) for m in (method, *against)}
        lost = {m: sum(g[m]["components_lost"] for g in group) for m in (method, *against)}
        ok = all(fm[method] >= fm[m] for m in against) and lost[method] <= min(
            lost[m] for m in against
        )
        kinds[kind] = {"pages": len(group), "fm": fm, "components_lost": lost, "passes": ok}
        passes = passes and ok
    return {"kinds": kinds, "passes": passes}


def check_harm(
    cleaner: Cleaner, pages: Iterable[Specimen], targets: Targets = TARGETS
) -> dict[str, Any]:
    """Run one cleaner (page -> page) over specimen pages: per-page scores, summary and verdict."""
    report = harm_report({"cleaner": cleaner}, pages, targets)
    return {
        "pages": [
            {**{k: v for k, v in r.items() if k != "scores"}, **r["scores"]["cleaner"]}
            for r in report["pages"]
        ],
        "summary": report["summary"]["cleaner"],
        "verdict": report["verdict"]["cleaner"],
        "targets": report["targets"],
    }
