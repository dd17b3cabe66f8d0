"""The first page renderer, kept as it was: whole pages with type in proportion to their height.

:func:`docclean.synth.render.render_page` draws with it when no resolution is asked for, so pages
drawn from a seed before pages had a resolution (the benchmarks' pages, the figures published from
them, the held-out twins' tests) stay the same, pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from docclean.synth import render
from docclean.synth.render import _LETTER_WEIGHTS, _LETTERS, _WORDS, RENDER_SIZE, Font, _load_font


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
    fonts = render.find_fonts()
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


def render_whole_page(rng: np.random.Generator, size: tuple[int, int] = RENDER_SIZE) -> np.ndarray:
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
