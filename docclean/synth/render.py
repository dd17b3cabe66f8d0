"""Clean pages rendered from pseudo-text: paragraphs, headings, tables and rules in system fonts."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docclean.errors import UsageError

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

RENDER_SIZE: tuple[int, int] = (1754, 1240)  # (height, width): A4 at 150 dpi
RENDER_DPI = 150.0

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


@dataclass
class _Style:
    """One page's typography."""

    body: Font
    strong: Font  # bold at the body size
    heading: Font
    fake_bold: bool  # no bold face: thicken strokes instead
    size: int
    leading: float
    left: int
    right: int
    bottom: int
    align: str
    ink: int
    letters: bool  # random letters instead of words


def _word(rng: np.random.Generator, style: _Style) -> str:
    if style.letters:
        return "".join(rng.choice(list(_LETTERS), size=int(rng.integers(1, 11)), p=_LETTER_WEIGHTS))
    return str(_WORDS[int(rng.integers(len(_WORDS)))])


def _sentence_words(rng: np.random.Generator, style: _Style, count: int) -> list[str]:
    """``count`` words punctuated into sentences."""
    words: list[str] = []
    while len(words) < count:
        sentence = [_word(rng, style) for _ in range(int(rng.integers(4, 16)))]
        sentence[0] = sentence[0].capitalize()
        for i in range(len(sentence) - 1):
            if rng.random() < 0.08:
                sentence[i] += ","
        sentence[-1] += "." if rng.random() < 0.9 else rng.choice(["?", ":", ";"])
        words += sentence
    return words[:count]


def _line_height(font: Font) -> int:
    top, bottom = font.getbbox("Hgjy")[1::2]
    return max(1, int(bottom - top))


def _draw_paragraph(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: _Style, y: int) -> int:
    width = s.right - s.left
    step = round(_line_height(s.body) * s.leading)
    space = draw.textlength(" ", font=s.body)
    words = _sentence_words(rng, s, int(rng.integers(15, 120)))
    indent = int(s.size * rng.uniform(1, 3)) if rng.random() < 0.4 else 0
    lines: list[list[str]] = [[]]
    used = float(indent)
    for word in words:
        length = draw.textlength(word, font=s.body)
        if lines[-1] and used + space + length > width:
            lines.append([])
            used = 0.0
        used += (space if lines[-1] else 0.0) + length
        lines[-1].append(word)
    for n, line in enumerate(lines):
        if y + step > s.bottom:
            break
        start = s.left + (indent if n == 0 else 0)
        text = " ".join(line)
        length = draw.textlength(text, font=s.body)
        if s.align == "justify" and n < len(lines) - 1 and len(line) > 1:
            gap = (s.right - start - sum(draw.textlength(w, font=s.body) for w in line)) / (
                len(line) - 1
            )
            x = float(start)
            for word in line:
                draw.text((x, y), word, font=s.body, fill=s.ink)
                x += draw.textlength(word, font=s.body) + gap
        else:
            offset = {"center": (s.right - start - length) / 2, "right": s.right - start - length}
            draw.text((start + offset.get(s.align, 0), y), text, font=s.body, fill=s.ink)
        y += step
    return y + int(step * rng.uniform(0.3, 1.2))


def _draw_heading(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: _Style, y: int) -> int:
    font = s.heading
    words = [_word(rng, s) for _ in range(int(rng.integers(1, 6)))]
    text = " ".join(w.upper() if rng.random() < 0.3 else w.capitalize() for w in words)
    if rng.random() < 0.3:
        text = f"{rng.integers(1, 10)}.{rng.integers(1, 10)} {text}"
    height = _line_height(font)
    if y + height * 2 > s.bottom:
        return s.bottom
    length = min(draw.textlength(text, font=font), s.right - s.left)
    x = s.left if rng.random() < 0.7 else s.left + (s.right - s.left - length) / 2
    stroke = 1 if s.fake_bold and isinstance(font, ImageFont.FreeTypeFont) else 0
    draw.text((x, y), text, font=font, fill=s.ink, stroke_width=stroke, stroke_fill=s.ink)
    if rng.random() < 0.35:  # underlined
        base = y + height + max(2, height // 6)
        draw.line([(x, base), (x + length, base)], fill=s.ink, width=max(1, height // 14))
    return y + int(height * rng.uniform(1.6, 2.4))


def _draw_table(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: _Style, y: int) -> int:
    cols, rows = int(rng.integers(2, 6)), int(rng.integers(3, 11))
    step = round(_line_height(s.body) * 1.6)
    rows = min(rows, (s.bottom - y) // step - 1)
    if rows < 2:
        return s.bottom
    edges = np.linspace(s.left, s.right, cols + 1)
    grid = rng.random() < 0.4
    rule = max(1, s.size // 14)
    top = y
    draw.line([(s.left, y), (s.right, y)], fill=s.ink, width=rule + 1)
    for r in range(rows):
        for c in range(cols):
            number = c > 0 and rng.random() < 0.7 and r > 0
            text = f"{rng.uniform(0, 10 ** rng.integers(1, 5)):,.2f}" if number else _word(rng, s)
            font = s.strong if r == 0 else s.body
            pad = s.size * 0.4
            length = draw.textlength(text, font=font)
            x = edges[c + 1] - pad - length if number else edges[c] + pad
            draw.text((x, y + step * 0.2), text, font=font, fill=s.ink)
        y += step
        if r == 0 or grid:
            draw.line([(s.left, y), (s.right, y)], fill=s.ink, width=rule)
    draw.line([(s.left, y), (s.right, y)], fill=s.ink, width=rule + 1)
    if grid:
        for x in edges:
            draw.line([(x, top), (x, y)], fill=s.ink, width=rule)
    return y + step


def _draw_rule(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: _Style, y: int) -> int:
    gap = s.size
    draw.line([(s.left, y + gap), (s.right, y + gap)], fill=s.ink, width=int(rng.integers(1, 4)))
    return y + 2 * gap


_BLOCKS = (_draw_paragraph, _draw_heading, _draw_table, _draw_rule)
_BLOCK_CHANCES = (0.66, 0.16, 0.1, 0.08)


def _style(rng: np.random.Generator, size: tuple[int, int]) -> _Style:
    h, w = size
    fonts = find_fonts()
    body_path = fonts[int(rng.integers(len(fonts)))] if fonts else None
    bolds = [f for f in fonts if "bold" in f.name.lower()]
    if body_path is not None:  # prefer the body's own bold face
        family = body_path.stem.split("-")[0].lower()
        bolds = [f for f in bolds if f.stem.lower().startswith(family)] or bolds
    bold_path = bolds[int(rng.integers(len(bolds)))] if bolds else body_path
    text_size = max(8, round(rng.uniform(17, 28) * h / RENDER_SIZE[0]))
    heading_size = max(9, round(text_size * rng.uniform(1.2, 1.9)))
    left = int(w * rng.uniform(0.05, 0.14))
    return _Style(
        body=_load_font(body_path, text_size),
        strong=_load_font(bold_path, text_size),
        heading=_load_font(bold_path, heading_size),
        fake_bold=not bolds,
        size=text_size,
        leading=rng.uniform(1.15, 1.7),
        left=left,
        right=w - int(w * rng.uniform(0.05, 0.14)),
        bottom=h - int(h * rng.uniform(0.04, 0.1)),
        align=str(rng.choice(["left", "justify", "center", "right"], p=[0.45, 0.45, 0.05, 0.05])),
        ink=int(rng.integers(0, 50)),
        letters=bool(rng.random() < 0.2),
    )


def render_page(rng: np.random.Generator, size: tuple[int, int] = RENDER_SIZE) -> np.ndarray:
    """A clean page of pseudo-text, float32 ``size`` = (height, width) in [0, 1].

    Paragraphs of random words (or random letters), headings (some underlined), tables with rules
    and horizontal rules, in a font chosen from :func:`find_fonts` (Pillow's bundled font when there
    is none), with random size, line spacing, margins and alignment.
    """
    h, w = size
    style = _style(rng, size)
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    y = int(h * rng.uniform(0.04, 0.1))
    if rng.random() < 0.7:
        y = _draw_heading(draw, rng, style, y)
    while y < style.bottom:
        block = _BLOCKS[int(rng.choice(len(_BLOCKS), p=_BLOCK_CHANCES))]
        y = block(draw, rng, style, y)
    return np.asarray(image, dtype=np.float32) / np.float32(255)


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
