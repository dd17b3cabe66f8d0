"""What the benchmarks share: synthetic scanned-looking pages, this process's memory, and the
names models are reported under.

The scripts run as ``python benchmarks/SCRIPT.py``, so this folder is on ``sys.path`` and they
``import _common``.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass

import numpy as np


def method_name(name: str, spec: str | None, taken: Container[str]) -> str:
    """A model's name in a report: its card's ``name``, or the ``spec`` it was loaded from (a
    path) when another column already has that name or when the name is a shipped model's and
    the path is not it (a candidate successor, whichever order the two are given in)."""
    from docclean.models.store import shipped_models

    if spec is not None and str(spec) != name and name in shipped_models():
        return str(spec)
    return name if name not in taken else str(spec)


def page_size(text: str) -> tuple[int, int]:
    """``--size HEIGHTxWIDTH`` (px) as (height, width)."""
    height, width = (int(v) for v in text.lower().split("x"))
    return height, width


def gray_methods(specs: list[str] | None) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """No cleaning, Otsu and Sauvola, then each model of ``specs`` (names or .keras paths; the
    default model if None) as a CPU page cleaner, keyed by the names the reports use."""
    from docclean.backend import tensorflow
    from docclean.evaluation import baselines
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    tensorflow("cpu")
    methods: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "no_cleaning": baselines.no_cleaning,
        "otsu": lambda p: baselines.otsu(p).astype(np.float32),
        "sauvola": lambda p: baselines.sauvola(p).astype(np.float32),
    }
    for spec in specs or [None]:
        loaded = load_model(spec)
        methods[method_name(loaded.name, spec, methods)] = PageCleaner(loaded, device="cpu").clean
    return methods


@dataclass(frozen=True)
class Strokes:
    """How :func:`synthetic_page` lays out its lines of text-like strokes, in pixels."""

    top: int  # the first line's top edge
    bottom: int  # no line starts this close to the bottom edge
    pitch: int  # from one line's top to the next one's
    thickness: int  # a stroke's height
    left: int  # a line's first stroke starts here, plus 0 to ``indent - 1`` more
    indent: int
    right: int  # no stroke starts this close to the right edge
    margin: int  # and none ends closer than this
    length: tuple[int, int]  # a stroke's length: low (inclusive), high (exclusive)
    gap: tuple[int, int]  # the space after a stroke, likewise
    noise: float  # the standard deviation of the sensor noise, in gray levels


SMALL_PAGE_STROKES = Strokes(12, 16, 18, 9, 10, 8, 24, 8, (8, 40), (4, 10), noise=9)
"""Lines of words on a page of a few hundred pixels (benchmarks/longrun.py)."""

A4_300DPI_STROKES = Strokes(120, 160, 48, 24, 150, 30, 200, 150, (30, 160), (15, 35), noise=6)
"""Lines of words on an A4 page scanned at 300 dpi (benchmarks/memory_pages.py)."""


def synthetic_page(
    height: int, width: int, strokes: Strokes, rng: np.random.Generator
) -> np.ndarray:
    """A gray page of text-like strokes on unevenly lit paper with noise, as uint8."""
    page = np.full((height, width), 232.0, np.float32)
    for top in range(strokes.top, height - strokes.bottom, strokes.pitch):
        x = strokes.left + int(rng.integers(0, strokes.indent))
        while x < width - strokes.right:
            length = int(rng.integers(*strokes.length))
            end = min(x + length, width - strokes.margin)
            page[top : top + strokes.thickness, x:end] = rng.uniform(20, 70)
            x += length + int(rng.integers(*strokes.gap))
    page -= np.linspace(0, 40, width, dtype=np.float32)[np.newaxis, :]
    page += rng.normal(0, strokes.noise, page.shape).astype(np.float32)
    return np.clip(page, 0, 255).astype(np.uint8)


def rss_mb() -> float:
    """This process's resident set size now, in MiB, from /proc/self/status (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")
