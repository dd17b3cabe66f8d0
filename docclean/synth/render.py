"""Clean pages rendered from pseudo-text at a real resolution, in the system's fonts.

A page is laid out as a sheet of paper (A4 or Letter) at a resolution in dpi, so type has its real
size: a point is ``dpi / 72`` pixels. Body text is 9-12 pt (regular with runs of bold and italic),
headings 24-48 pt bold, subheadings 12-18 pt, small print 6-7 pt; tables have ruled lines, and there
are rules, lists and punctuation-rich lines of numbers, dates and references. The image returned is
a window of ``size`` pixels somewhere on the sheet's text, so a 600-dpi page costs no more than its
crop: only the lines that cross the window are drawn.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docclean.errors import UsageError

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

RENDER_SIZE: tuple[int, int] = (1754, 1240)  # (height, width): A4 at 150 dpi
RENDER_DPI = 150.0
DPI_LIMITS: tuple[float, float] = (50.0, 1200.0)
PAPERS: dict[str, tuple[float, float]] = {"A4": (11.69, 8.27), "Letter": (11.0, 8.5)}  # inches
BODY_PT = (9.0, 12.0)
HEADING_PT = (24.0, 48.0)
SUBHEADING_PT = (12.0, 18.0)
SMALL_PT = (6.0, 7.0)
MANUSCRIPT_PT = (14.0, 24.0)
TINTED_INK = (0.25, 0.6)
"""Gray of headings printed in a tint or a colour (scanned in gray), on toned pages."""
SHADE = (0.78, 0.95)
"""Gray of the shaded boxes behind text (table rows, call-outs) on toned pages."""
NOTE_INK = (0.3, 0.75)
"""Gray of the handwritten notes (a pencil, a light pen) on noted pages."""
NOTE_BAND = (0.15, 0.6)
"""Share of the page's height that a noted page's notes run across."""


# --- resolution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DpiScale:
    """How a rendered page's resolution is drawn: one of ``choices`` if any, else log-uniform
    from ``low`` to ``high`` dpi (so 150-300 is drawn as often as 300-600)."""

    low: float = 150.0
    high: float = 600.0
    choices: tuple[float, ...] = ()

    def draw(self, rng: np.random.Generator) -> float:
        if self.choices:
            return float(self.choices[int(rng.integers(len(self.choices)))])
        if self.high <= self.low:
            return float(self.low)
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))

    def __str__(self) -> str:
        if self.choices:
            return ",".join(f"{d:g}" for d in self.choices)
        return f"{self.low:g}" if self.high <= self.low else f"{self.low:g}-{self.high:g}"


DEFAULT_SCALE = DpiScale(150.0, 600.0)


def parse_scale(text: str) -> DpiScale:
    """``"300"`` (one resolution), ``"150-600"`` (log-uniform range) or ``"150,300,600"`` (choices).

    UsageError unless every figure is a number of dpi within :data:`DPI_LIMITS`.
    """
    lo, hi = DPI_LIMITS
    hint = f"e.g. 300, 150-600 or 150,300,600; each {lo:g} to {hi:g} dpi"
    try:
        if "-" in text.strip().lstrip("-"):
            low, high = (float(part) for part in text.split("-"))
            figures, scale = [low, high], DpiScale(min(low, high), max(low, high))
        else:
            figures = [float(part) for part in text.split(",")]
            scale = (
                DpiScale(figures[0], figures[0])
                if len(figures) == 1
                else DpiScale(min(figures), max(figures), tuple(figures))
            )
    except ValueError:
        raise UsageError(f"--dpi {text!r} is not a resolution or range of them", hint) from None
    if not all(lo <= f <= hi for f in figures):
        raise UsageError(f"--dpi {text!r} is out of range", hint)
    return scale


def whole_page_dpi(size: tuple[int, int]) -> float:
    """The resolution type is set at on a whole page of ``size`` (no dpi given): the page's
    height as an A4 page's, at least 50 dpi."""
    return max(DPI_LIMITS[0], RENDER_DPI * size[0] / RENDER_SIZE[0])


def pt_to_px(pt: float, dpi: float) -> float:
    """A type size in points as pixels at ``dpi``."""
    return pt * dpi / 72.0


# --- fonts ----------------------------------------------------------------------------------

_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
_NOT_TEXT_FONTS = (
    "emoji",
    "symbol",
    "dingbat",
    "wingding",
    "webding",
    "math",
    "icon",
    "awesome",
    "extralight",
    "thin",
)


@functools.cache
def _system_fonts() -> tuple[Path, ...]:
    found: set[Path] = set()
    for folder in _FONT_DIRS:
        root = Path(os.path.expanduser(folder))
        if root.is_dir():
            found.update(p for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    return tuple(
        sorted(p for p in found if not any(bad in p.name.lower() for bad in _NOT_TEXT_FONTS))
    )


def find_fonts() -> list[Path]:
    """TrueType/OpenType fonts installed on this system (sorted; may be empty)."""
    return list(_system_fonts())


@functools.lru_cache(maxsize=256)
def _load_font(path: Path | None, size: int) -> Font:
    """The font at ``path`` in ``size`` px; Pillow's bundled font when None or unreadable."""
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class FontFamily:
    """The faces of one typeface found on this system (None: not installed)."""

    name: str
    regular: Path | None
    bold: Path | None = None
    italic: Path | None = None
    bold_italic: Path | None = None

    def face(self, bold: bool = False, italic: bool = False) -> tuple[Path | None, bool]:
        """The face to draw with and whether bold must be faked (strokes thickened)."""
        if bold and italic and self.bold_italic is not None:
            return self.bold_italic, False
        if bold:
            return (self.bold, False) if self.bold is not None else (self.regular, True)
        if italic and self.italic is not None:
            return self.italic, False
        return self.regular, False


_STYLE_WORDS = ("regular", "book", "roman", "normal", "bold", "italic", "oblique")


def font_families() -> list[FontFamily]:
    """The typefaces among :func:`find_fonts` that have an upright regular face, by name;
    Pillow's bundled font alone when there is none."""
    faces: dict[str, dict[str, Path]] = {}
    for path in find_fonts():
        family, _, style = path.stem.partition("-")
        words = style.lower().replace("_", " ").replace("-", " ")
        rest = words
        for word in _STYLE_WORDS:
            rest = rest.replace(word, "")
        if rest.strip():  # light, condensed-light, semibold, black, ...: not a face we use
            continue
        bold, italic = "bold" in words, "italic" in words or "oblique" in words
        key = {(False, False): "regular", (True, False): "bold", (False, True): "italic"}.get(
            (bold, italic), "bold_italic"
        )
        faces.setdefault(family, {}).setdefault(key, path)
    families = [
        FontFamily(name, f["regular"], f.get("bold"), f.get("italic"), f.get("bold_italic"))
        for name, f in sorted(faces.items())
        if "regular" in f
    ]
    return families or [FontFamily("pillow", None)]


# --- words ----------------------------------------------------------------------------------

_WORD_TEXT = """
the of and to in is that for it as was with be by on not he this are or his from at which but have
an they you were her she there been one all we their has would when if so no will more can what
about out up into only other new some could time these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your
way well down should because each just those people how too little state good very make world still
own see men work long get here between both life being under never day same another know while last
might us great old year off come since against go came right used take three states himself few house
use during without again place around however home small found thought went say part once general high
upon school every does got united left number course war until always away something fact though water
less public put think almost hand enough far took head yet government system better set told nothing
night end why called eyes find going look asked later point knew city next program business give group
toward young days let room president side social present given several order national second possible
rather per face among form important often things looking early white case john become large big need
four within felt along children saw best church ever least power development light thing seemed family
interest want members mind country area others done turned although open god service certain kind
problem began different door thus help sense means whole matter perhaps itself york times law human
line above name example action company hands local show whether five history gave today either act
feet across taken past quite anything seen having death week experience
report invoice account total amount date page section table figure summary notice agreement payment
"""
_WORDS = _WORD_TEXT.split()

_NUMBER_FORMS: tuple[Callable[[np.random.Generator], str], ...] = (
    lambda r: str(int(r.integers(1, 100))),
    lambda r: str(int(r.integers(1850, 2031))),
    lambda r: f"{r.uniform(0, 10 ** r.integers(1, 6)):,.2f}",
    lambda r: f"${r.uniform(1, 10 ** r.integers(1, 5)):,.2f}",
    lambda r: f"{r.uniform(0, 100):.1f}%",
    lambda r: (
        f"{int(r.integers(1, 29)):02d}/{int(r.integers(1, 13)):02d}/{int(r.integers(1950, 2031))}"
    ),
    lambda r: f"No. {int(r.integers(1, 999))}",
    lambda r: f"{int(r.integers(0, 24)):02d}:{int(r.integers(0, 60)):02d}",
    lambda r: (
        f"({int(r.integers(100, 999))}) {int(r.integers(100, 999))}-{int(r.integers(1000, 9999))}"
    ),
    lambda r: f"p. {int(r.integers(1, 400))}",
    lambda r: f"{int(r.integers(1, 20))}.{int(r.integers(1, 20))}",
)
_DECORATIONS: tuple[Callable[[str], str], ...] = (
    lambda w: f"({w})",
    lambda w: f"\u201c{w}\u201d",
    lambda w: f"'{w}'",
    lambda w: f"{w}'s",
    lambda w: f"{w}-{w[:3]}",
    lambda w: f"[{w}]",
    lambda w: f"{w}/{w[::-1]}",
)
_ENDINGS = (".", ".", ".", ".", "?", "!", ":", ";", "\u2026")
_ASIDES = (",", ",", ",", ";", ":", " \u2014", " \u2013")


def _word(rng: np.random.Generator, letters: bool) -> str:
    if letters:
        return "".join(rng.choice(list(_LETTERS), size=int(rng.integers(1, 11)), p=_LETTER_WEIGHTS))
    return str(_WORDS[int(rng.integers(len(_WORDS)))])


def _sentence_words(rng: np.random.Generator, letters: bool, count: int, punct: float) -> list[str]:
    """``count`` words punctuated into sentences; ``punct`` scales numbers, quotes and marks."""
    words: list[str] = []
    while len(words) < count:
        sentence = []
        for _ in range(int(rng.integers(4, 18))):
            u = rng.random()
            if u < 0.06 * punct:
                sentence.append(_NUMBER_FORMS[int(rng.integers(len(_NUMBER_FORMS)))](rng))
            elif u < 0.1 * punct:
                word = _word(rng, letters)
                sentence.append(_DECORATIONS[int(rng.integers(len(_DECORATIONS)))](word))
            else:
                sentence.append(_word(rng, letters))
        sentence[0] = sentence[0][:1].upper() + sentence[0][1:]
        for i in range(len(sentence) - 1):
            if rng.random() < 0.07 * punct:
                sentence[i] += _ASIDES[int(rng.integers(len(_ASIDES)))]
        sentence[-1] += _ENDINGS[int(rng.integers(len(_ENDINGS)))] if rng.random() < 0.3 else "."
        words += sentence
    return words[:count]


# --- layout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One run of text drawn on a rendered page: its block's kind, size and face, and its box
    ``(top, left, bottom, right)`` in the returned image's pixels (clipped to it)."""

    kind: str
    pt: float
    font: Path | None
    bold: bool
    box: tuple[int, int, int, int]


@dataclass
class _Style:
    """One page's typography, in the sheet's pixels."""

    dpi: float
    body: FontFamily
    head: FontFamily
    body_pt: float
    heading_pt: float
    sub_pt: float
    small_pt: float
    leading: float
    left: int
    right: int
    top: int
    bottom: int
    align: str
    ink: int
    letters: bool
    punct: float
    manuscript: bool = False

    def px(self, pt: float) -> float:
        return pt_to_px(pt, self.dpi)


@dataclass
class _Run:
    """A font at a size: what a word is drawn with."""

    font: Font
    path: Path | None
    pt: float
    size: int  # px
    bold: bool
    stroke: int  # thickened strokes for a faked bold


class _Canvas:
    """The window ``(top, left)`` + ``size`` of a sheet: draws in sheet coordinates, skipping
    what falls outside, and remembers what text it drew."""

    def __init__(self, size: tuple[int, int], top: int, left: int, style: _Style) -> None:
        self.h, self.w = size
        self.top, self.left = top, left
        self.style = style
        self.image = Image.new("L", (self.w, self.h), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.marks: list[Mark] = []

    def run(self, pt: float, bold: bool = False, italic: bool = False, head: bool = False) -> _Run:
        family = self.style.head if head else self.style.body
        path, fake = family.face(bold, italic)
        size = max(4, round(self.style.px(pt)))
        stroke = max(1, round(size * 0.035)) if fake else 0
        return _Run(_load_font(path, size), path, pt, size, bold, stroke)

    def length(self, text: str, run: _Run) -> float:
        return float(self.draw.textlength(text, font=run.font)) + 2 * run.stroke

    def visible(self, y0: float, y1: float) -> bool:
        return y1 > self.top and y0 < self.top + self.h

    def text(self, x: float, y: float, text: str, run: _Run, kind: str) -> None:
        """``text`` with its em box's top at sheet row ``y`` (drawn only if it shows)."""
        if not self.visible(y - run.size * 0.2, y + run.size * 1.3):
            return
        if x > self.left + self.w or x + self.length(text, run) < self.left:
            return
        xy = (x - self.left, y - self.top)
        ink = self.style.ink
        self.draw.text(xy, text, font=run.font, fill=ink, stroke_width=run.stroke, stroke_fill=ink)
        x0, y0, x1, y1 = self.draw.textbbox(xy, text, font=run.font, stroke_width=run.stroke)
        box = (max(0, int(y0)), max(0, int(x0)), min(self.h, int(y1)), min(self.w, int(x1)))
        if box[2] > box[0] and box[3] > box[1]:
            self.marks.append(Mark(kind, run.pt, run.path, run.bold, box))

    def line(self, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
        if not self.visible(min(y0, y1) - width, max(y0, y1) + width):
            return
        points = [(x0 - self.left, y0 - self.top), (x1 - self.left, y1 - self.top)]
        self.draw.line(points, fill=self.style.ink, width=max(1, round(width)))


def _line_step(run: _Run, leading: float) -> int:
    return max(2, round(run.size * leading))


def _draw_words(
    c: _Canvas,
    rng: np.random.Generator,
    y: float,
    words: list[str],
    pt: float,
    kind: str,
    indent: float = 0.0,
    hanging: float = 0.0,
    styled: bool = True,
) -> float:
    """Words set in lines from ``y`` (runs of bold and italic when ``styled``); the next row."""
    s = c.style
    plain = c.run(pt)
    runs = {"r": plain, "b": c.run(pt, bold=True), "i": c.run(pt, italic=True)}
    faces, current, left = [], "r", 0
    for _ in words:
        if left <= 0:
            u = rng.random() if styled else 1.0
            current = "b" if u < 0.025 else "i" if u < 0.055 else "r"
            left = int(rng.integers(1, 6)) if current != "r" else int(rng.integers(3, 30))
        faces.append(current)
        left -= 1
    space = c.length(" ", plain)
    step = _line_step(plain, s.leading)
    lines: list[list[tuple[str, _Run]]] = [[]]
    used = indent
    for word, face in zip(words, faces, strict=True):
        run = runs[face]
        length = c.length(word, run)
        start = indent if len(lines) == 1 else hanging
        if lines[-1] and start + used + space + length > s.right - s.left:
            lines.append([])
            used = 0.0
        used += (space if lines[-1] else 0.0) + length
        lines[-1].append((word, run))
    for n, line in enumerate(lines):
        if y + step > s.bottom or y > c.top + c.h:
            return y
        start = s.left + (indent if n == 0 else hanging)
        lengths = [c.length(word, run) for word, run in line]
        gap = space
        free = s.right - start - sum(lengths) - space * (len(line) - 1)
        x = float(start)
        if s.align == "justify" and n < len(lines) - 1 and len(line) > 1:
            gap = space + free / (len(line) - 1)
        elif s.align == "center":
            x += free / 2
        elif s.align == "right":
            x += free
        if c.visible(y - step, y + 2 * step):
            for (word, run), length in zip(line, lengths, strict=True):
                c.text(x, y, word, run, kind)
                x += length + gap
        y += step
    return y


def _paragraph(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    s = c.style
    words = _sentence_words(rng, s.letters, int(rng.integers(12, 130)), s.punct)
    indent = s.px(s.body_pt) * rng.uniform(1, 3) if rng.random() < 0.4 else 0.0
    y = _draw_words(c, rng, y, words, s.body_pt, "body", indent, styled=not s.manuscript)
    return y + s.px(s.body_pt) * rng.uniform(0.3, 1.2)


def _small_print(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    s = c.style
    pt = rng.uniform(*SMALL_PT)
    words = _sentence_words(rng, s.letters, int(rng.integers(15, 90)), s.punct)
    if rng.random() < 0.5:
        words[0] = str(rng.choice(["*", "\u2020", "1", "2", "Note:", "\u00a9"])) + " " + words[0]
    y = _draw_words(c, rng, y + s.px(pt), words, pt, "small")
    return y + s.px(pt) * rng.uniform(0.5, 1.5)


def _heading(c: _Canvas, rng: np.random.Generator, y: float, level: int = 1) -> float:
    s = c.style
    pt = s.heading_pt if level == 1 else s.sub_pt
    run = c.run(pt, bold=True, italic=level > 1 and rng.random() < 0.2, head=True)
    words = [_word(rng, s.letters) for _ in range(int(rng.integers(1, 6 if level == 1 else 8)))]
    upper = rng.random() < 0.3
    text = " ".join(w.upper() if upper else w.capitalize() for w in words)
    if rng.random() < 0.3:
        text = f"{rng.integers(1, 10)}.{rng.integers(1, 10)} {text}"
    size = run.size
    y += size * rng.uniform(0.2, 0.8)
    if y + size * 1.5 > s.bottom:
        return s.bottom
    while len(text) > 1 and c.length(text, run) > s.right - s.left:
        text = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
    length = c.length(text, run)
    x = s.left if rng.random() < 0.7 else s.left + (s.right - s.left - length) / 2
    c.text(x, y, text, run, "heading" if level == 1 else "subheading")
    if rng.random() < 0.25:  # underlined
        base = y + size * 1.15
        c.line(x, base, x + length, base, max(1.0, size / 16))
    return y + size * rng.uniform(1.5, 2.2)


def _subheading(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    return _heading(c, rng, y, level=2)


def _table(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    s = c.style
    cols, rows = int(rng.integers(2, 7)), int(rng.integers(3, 13))
    pt = s.body_pt * rng.uniform(0.8, 1.0)
    body, head = c.run(pt), c.run(pt, bold=True)
    step = round(body.size * rng.uniform(1.4, 1.9))
    rows = min(rows, int((s.bottom - y) // step) - 1)
    if rows < 2:
        return s.bottom
    weights = rng.uniform(0.6, 1.6, cols)
    weights[0] *= 1.8
    edges = s.left + np.concatenate([[0], np.cumsum(weights)]) / weights.sum() * (s.right - s.left)
    grid = rng.random() < 0.4
    rule = s.px(rng.uniform(0.4, 1.2))
    pad = body.size * 0.4
    top = y
    c.line(s.left, y, s.right, y, rule * 2)
    for r in range(rows):
        for col in range(cols):
            number = col > 0 and r > 0 and rng.random() < 0.8
            if number:
                text = _NUMBER_FORMS[int(rng.choice([0, 2, 3, 4, 9]))](rng)
            else:
                text = " ".join(_word(rng, s.letters) for _ in range(int(rng.integers(1, 3))))
                text = text.capitalize()
            run = head if r == 0 else body
            room = edges[col + 1] - edges[col] - 2 * pad
            while len(text) > 1 and c.length(text, run) > room:
                text = text[:-1]
            length = c.length(text, run)
            x = edges[col + 1] - pad - length if number else edges[col] + pad
            c.text(x, y + (step - body.size) / 2, text, run, "table")
        y += step
        if r == 0 or grid:
            c.line(s.left, y, s.right, y, rule)
    c.line(s.left, y, s.right, y, rule * 2)
    if grid:
        for x in edges:
            c.line(x, top, x, y, rule)
    return y + step


def _rule(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    s = c.style
    gap = s.px(s.body_pt)
    short = rng.random() < 0.3
    right = s.left + (s.right - s.left) * rng.uniform(0.2, 0.5) if short else s.right
    c.line(s.left, y + gap, right, y + gap, s.px(rng.uniform(0.4, 2.5)))
    return y + 2 * gap


def _list(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    s = c.style
    kind = int(rng.integers(5))
    hanging = s.px(s.body_pt) * rng.uniform(1.5, 3.0)
    for n in range(int(rng.integers(2, 7))):
        marker = ["\u2022", "\u2013", f"{n + 1}.", f"{'abcdefg'[n]})", f"({'i' * (n + 1)})"][kind]
        words = [marker, *_sentence_words(rng, s.letters, int(rng.integers(3, 30)), s.punct)]
        y = _draw_words(c, rng, y, words, s.body_pt, "body", hanging=hanging)
        if y >= s.bottom:
            return y
    return y + s.px(s.body_pt) * 0.8


def _form_line(rng: np.random.Generator, letters: bool) -> str:
    w = _word(rng, letters).capitalize()
    number = _NUMBER_FORMS[int(rng.integers(len(_NUMBER_FORMS)))](rng)
    choice = int(rng.integers(6))
    if choice == 0:
        return f"{w}: ______________________   Date: ___/___/______"
    if choice == 1:
        return f"{w} {_word(rng, letters)} " + "." * int(rng.integers(20, 60)) + f" {number}"
    if choice == 2:
        return f"Ref. {number}; {w} (cf. \u00a7{rng.integers(1, 40)}), e.g. {_word(rng, letters)}!"
    if choice == 3:
        phone = f"+{rng.integers(1, 99)} {rng.integers(10, 99)} {rng.integers(1000, 9999)}"
        return f"Tel. {phone} \u00b7 {w.lower()}@{_word(rng, letters)}.org"
    if choice == 4:
        product = f"{rng.uniform(1, 9999):,.2f}"
        return f"{number} \u00d7 {rng.integers(2, 99)} = {product} (\u00b1{rng.uniform(0, 5):.1f}%)"
    return f"\u201c{w} {_word(rng, letters)}\u201d \u2014 {_word(rng, letters)}, {number}."


def _form(c: _Canvas, rng: np.random.Generator, y: float) -> float:
    """Form lines: fields, dotted leaders, references; a third of them in the fine print of forms."""
    s = c.style
    small = rng.random() < 1 / 3
    run = c.run(rng.uniform(*SMALL_PT) if small else s.body_pt)
    step = _line_step(run, s.leading * 1.2)
    for _ in range(int(rng.integers(1, 6))):
        if y + step > s.bottom:
            return y
        text = _form_line(rng, s.letters)
        while len(text) > 1 and c.length(text, run) > s.right - s.left:
            text = text[:-1]
        c.text(s.left, y, text, run, "small" if small else "body")
        y += step
    return y + step * 0.5


_Block = Callable[[_Canvas, np.random.Generator, float], float]
_BLOCKS: tuple[tuple[_Block, float], ...] = (
    (_paragraph, 0.44),
    (_heading, 0.05),
    (_subheading, 0.1),
    (_small_print, 0.08),
    (_table, 0.1),
    (_rule, 0.05),
    (_list, 0.09),
    (_form, 0.09),
)
_MANUSCRIPT_BLOCKS: tuple[tuple[_Block, float], ...] = ((_paragraph, 0.92), (_subheading, 0.08))
# Title pages, notices, slides and forms: a third of the blocks are bold headings.
_DISPLAY_BLOCKS: tuple[tuple[_Block, float], ...] = (
    (_paragraph, 0.3),
    (_heading, 0.2),
    (_subheading, 0.13),
    (_small_print, 0.07),
    (_table, 0.1),
    (_rule, 0.05),
    (_list, 0.07),
    (_form, 0.08),
)


def _style(
    rng: np.random.Generator, sheet: tuple[int, int], dpi: float, manuscript: bool
) -> _Style:
    families = font_families()
    if manuscript:  # a hand: italic faces, larger and looser
        families = [f for f in families if f.italic is not None] or families
        families = [FontFamily(f.name, f.italic or f.regular, f.bold_italic) for f in families]
    body = families[int(rng.integers(len(families)))]
    head = body if rng.random() < 0.6 else families[int(rng.integers(len(families)))]
    h, w = sheet
    inch = dpi
    body_pt = rng.uniform(*(MANUSCRIPT_PT if manuscript else BODY_PT))
    return _Style(
        dpi=dpi,
        body=body,
        head=head,
        body_pt=body_pt,
        heading_pt=rng.uniform(*HEADING_PT),
        sub_pt=max(body_pt, rng.uniform(*SUBHEADING_PT)),
        small_pt=rng.uniform(*SMALL_PT),
        leading=rng.uniform(1.5, 2.2) if manuscript else rng.uniform(1.1, 1.5),
        left=round(min(inch * rng.uniform(0.5, 1.25), w * rng.uniform(0.04, 0.14))),
        right=w - round(min(inch * rng.uniform(0.5, 1.25), w * rng.uniform(0.04, 0.14))),
        top=round(min(inch * rng.uniform(0.4, 1.0), h * rng.uniform(0.03, 0.1))),
        bottom=h - round(min(inch * rng.uniform(0.5, 1.0), h * rng.uniform(0.03, 0.1))),
        align="left"
        if manuscript
        else str(rng.choice(["left", "justify", "center", "right"], p=[0.45, 0.47, 0.04, 0.04])),
        ink=0 if manuscript else int(rng.integers(0, 45)),
        letters=bool(rng.random() < 0.15),
        punct=0.3 if manuscript else rng.uniform(0.5, 2.0),
        manuscript=manuscript,
    )


def _handwritten(page: np.ndarray, rng: np.random.Generator, line: float) -> np.ndarray:
    """Type bent like a hand's writing: baselines that wander and letters that lean and sway."""
    h, w = page.shape
    cells = max(2, round(max(h, w) / max(line * 3.0, 1.0)))
    fine = max(2, round(max(h, w) / max(line * 0.6, 1.0)))

    def field(count: int, amplitude: float) -> np.ndarray:
        gy = max(2, round(count * h / max(h, w)))
        gx = max(2, round(count * w / max(h, w)))
        grid = rng.standard_normal((gy, gx)).astype(np.float32)
        return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) * np.float32(amplitude)

    dy = field(cells, 0.12 * line) + field(fine, 0.03 * line)
    dx = field(cells, 0.1 * line) + field(fine, 0.03 * line)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bent = cv2.remap(
        page, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1.0
    )
    # a broad nib: strokes across its edge come out thick, strokes along it thin
    reach = line * rng.uniform(0.015, 0.05)
    if reach < 1.0:
        return bent
    angle = np.deg2rad(rng.uniform(20.0, 60.0))
    r = int(np.ceil(reach))
    nib = np.zeros((2 * r + 1, 2 * r + 1), np.uint8)
    tip = (round(r + reach * np.cos(angle)), round(r - reach * np.sin(angle)))
    tail = (round(r - reach * np.cos(angle)), round(r + reach * np.sin(angle)))
    cv2.line(nib, tip, tail, 1, 1)
    return cv2.erode(bent, nib, borderType=cv2.BORDER_CONSTANT, borderValue=1.0)


def add_tones(page: np.ndarray, marks: list[Mark], rng: np.random.Generator) -> np.ndarray:
    """``page`` with gray that belongs to it, all with sharp edges: its headings in a tint
    (:data:`TINTED_INK`, as coloured headings scan) and shaded boxes (:data:`SHADE`) behind text
    runs, table rows or anywhere (where two overlap, the darker), the ink within them as dark as
    before."""
    out = page.copy()
    h, w = page.shape
    heads = [m for m in marks if m.kind in ("heading", "subheading")]
    if heads and rng.random() < 0.6:
        ink = np.float32(rng.uniform(*TINTED_INK))
        for m in heads:
            t, left, b, r = m.box
            out[t:b, left:r] = 1.0 - (1.0 - out[t:b, left:r]) * (1.0 - ink)
    base = out.copy()
    for _ in range(int(rng.integers(0 if heads else 1, 4))):
        if marks and rng.random() < 0.7:  # behind a run of text, maybe across the whole row
            t, left, b, r = marks[int(rng.integers(len(marks)))].box
            pad = max(1, round((b - t) * rng.uniform(0.15, 0.8)))
            t, b = max(0, t - pad), min(h, b + pad)
            left, r = (0, w) if rng.random() < 0.4 else (max(0, left - pad), min(w, r + pad))
        else:
            t, b = sorted(int(v) for v in rng.integers(0, h + 1, 2))
            left, r = sorted(int(v) for v in rng.integers(0, w + 1, 2))
        shaded = base[t:b, left:r] * np.float32(rng.uniform(*SHADE))
        out[t:b, left:r] = np.minimum(out[t:b, left:r], shaded)  # overlapping boxes: one shade
    return out


def add_notes(page: np.ndarray, dpi: float, rng: np.random.Generator) -> np.ndarray:
    """``page`` with handwritten notes over its print: a rendered manuscript page's script
    (:func:`render_with_layout`) at the same ``dpi``, in one gray (:data:`NOTE_INK`), across a band
    of :data:`NOTE_BAND` of its height."""
    height, width = page.shape
    hand = render_with_layout(rng, (height, width), dpi, manuscript=True)[0]
    band = max(1, round(height * rng.uniform(*NOTE_BAND)))
    top = int(rng.integers(0, height - band + 1))
    ink = np.float32(rng.uniform(*NOTE_INK))
    out = page.copy()
    notes = 1.0 - (1.0 - hand[top : top + band]) * (1.0 - ink)
    out[top : top + band] = np.minimum(out[top : top + band], notes)
    return out


def render_with_layout(
    rng: np.random.Generator,
    size: tuple[int, int] = RENDER_SIZE,
    dpi: float | None = None,
    manuscript: bool = False,
    display: bool = False,
    tones: bool = False,
    notes: bool = False,
) -> tuple[np.ndarray, list[Mark]]:
    """:func:`render_page` and the text runs it drew (their kind, size, face and box)."""
    h, w = size
    if dpi is None:  # the page is the whole sheet, type in proportion (A4 at 150 dpi)
        dpi = whole_page_dpi(size)
        sheet = size
    else:
        paper = PAPERS["A4" if rng.random() < 0.6 else "Letter"]
        sheet = (max(h, round(paper[0] * dpi)), max(w, round(paper[1] * dpi)))
    style = _style(rng, sheet, dpi, manuscript)
    first = max(0, style.top - h // 4)
    last = max(first, min(sheet[0] - h, style.bottom - (3 * h) // 4))
    top = int(rng.integers(first, last + 1))
    if display:  # the window shows the page's title, whose letters are large at any dpi
        top = int(np.clip(style.top - rng.integers(0, h // 2), first, last))
    left = int(rng.integers(0, sheet[1] - w + 1))
    canvas = _Canvas(size, top, left, style)
    blocks = _MANUSCRIPT_BLOCKS if manuscript else _DISPLAY_BLOCKS if display else _BLOCKS
    chances = np.array([p for _, p in blocks])
    y = float(style.top)
    if rng.random() < (0.2 if manuscript else 1.0 if display else 0.7):
        y = (_subheading if manuscript else _heading)(canvas, rng, y)
    while y < style.bottom and y < top + h:
        block = blocks[int(rng.choice(len(blocks), p=chances / chances.sum()))][0]
        y = block(canvas, rng, y)
    page = np.asarray(canvas.image, dtype=np.float32) / np.float32(255)
    if manuscript:
        page = _handwritten(page, rng, style.px(style.body_pt))
    elif tones:
        page = add_tones(page, canvas.marks, rng)
    if notes and not manuscript:
        page = add_notes(page, dpi, rng)
    return page, canvas.marks


def render_page(
    rng: np.random.Generator,
    size: tuple[int, int] = RENDER_SIZE,
    dpi: float | None = None,
    manuscript: bool = False,
    display: bool = False,
    tones: bool = False,
    notes: bool = False,
) -> np.ndarray:
    """A clean page of pseudo-text, float32 ``size`` = (height, width) in [0, 1].

    With ``dpi``: a window of ``size`` on an A4 or Letter sheet set at that resolution, type at its
    real size (``pt * dpi / 72`` px): paragraphs with bold and italic words, headings of 24-48 pt
    (some underlined), subheadings, small print of 6-7 pt, tables with ruled lines, rules, lists and
    lines of numbers and punctuation, in a typeface from :func:`font_families` (Pillow's bundled
    font when there is none), with random sizes, spacing, margins and alignment. ``manuscript``:
    italic faces, larger and looser, bent like handwriting, black ink (the pages of historical
    pairs); without ``dpi`` its type is in proportion to ``size`` (see :func:`whole_page_dpi`).
    ``display``: a title page or notice, a third of its blocks bold headings and subheadings.
    ``tones`` (with ``dpi`` or ``display``, not ``manuscript``): gray that is part of the page,
    tinted headings and shaded boxes (:func:`add_tones`). ``notes`` (the same): handwritten notes in
    gray across the print (:func:`add_notes`).

    Without ``dpi``, ``manuscript`` or ``display``, the first renderer's whole page of ``size`` (:mod:`.legacy_render`), type in
    proportion to its height, the same pixels for a seed as before pages had a resolution.
    """
    if dpi is None and not manuscript and not display:
        from docclean.synth.legacy_render import render_whole_page

        return render_whole_page(rng, size)
    return render_with_layout(rng, size, dpi, manuscript, display, tones, notes)[0]


_LETTERS = "etaoinshrdlucmfwypvbgkqjxz"
_LETTER_WEIGHTS = np.array(
    [
        12.7,
        9.1,
        8.2,
        7.5,
        7.0,
        6.7,
        6.3,
        6.1,
        6.0,
        4.3,
        4.0,
        2.8,
        2.8,
        2.4,
        2.4,
        2.0,
        2.0,
        1.9,
        1.5,
        1.0,
        0.8,
        0.15,
        0.15,
        0.1,
        0.1,
        0.07,
    ]
)
_LETTER_WEIGHTS /= _LETTER_WEIGHTS.sum()


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` as (height, width); UsageError unless both are whole numbers from 16 to 20000."""
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        w, h = (int(p) for p in parts)
        if 16 <= w <= 20000 and 16 <= h <= 20000:
            return h, w
    raise UsageError(
        f"--size {text!r} is not WxH in pixels", "e.g. 1240x1754; each side 16 to 20000"
    )
