"""Synthetic training pairs: realistic dirt on clean pages, and clean pages rendered from text.

Each degradation is a pure function ``(page, rng) -> page`` on a float32 gray page in [0, 1],
registered in :data:`DEGRADATIONS` in the order :func:`make_pair` applies them: first what happens to
the paper (faded ink, bleed-through, stains, folds, wrinkles), then the page's placement on the
scanner (rotation, given to the clean target too so the pair stays aligned), then the scan itself
(lighting, edge shadows, blur, noise, JPEG). All randomness comes from the ``numpy`` Generator passed
in, so the same seed gives byte-identical pages.
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from docclean.errors import DataError, DocCleanError, OutputError, UsageError
from docclean.io.images import is_image_path, read_pages, to_uint8, write_pages
from docclean.progress import Reporter
from docclean.synth.render import RENDER_DPI, RENDER_SIZE, render_page
from docclean.training.data import Pair

Degradation = Callable[[np.ndarray, np.random.Generator], np.ndarray]


# --- helpers --------------------------------------------------------------------------------


def _finish(page: np.ndarray) -> np.ndarray:
    """``page`` as float32 clipped to [0, 1]."""
    return np.clip(page, 0.0, 1.0).astype(np.float32, copy=False)


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, cells: int) -> np.ndarray:
    """A smooth random field in [0, 1]: a grid of about ``cells`` random values per side, upsampled."""
    h, w = shape
    gy = max(2, round(cells * h / max(h, w)))
    gx = max(2, round(cells * w / max(h, w)))
    grid = rng.random((gy, gx), dtype=np.float32)
    up = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(up.min()), float(up.max())
    return (up - lo) / (hi - lo) if hi > lo else np.zeros(shape, np.float32)


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates, float32, broadcastable to ``shape``."""
    h, w = shape
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _shifted(page: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``page`` moved by (dy, dx) pixels, the uncovered part white."""
    h, w = page.shape
    dy, dx = max(-h, min(h, dy)), max(-w, min(w, dx))
    out = np.ones_like(page)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = page[ys, xs]
    return out


# --- degradations ---------------------------------------------------------------------------


def faded_ink(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Faded ink: text lightened towards the paper, more in some places than in others."""
    paper = cv2.dilate(page, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    low = rng.uniform(0.35, 0.7)
    keep = low + (1.0 - low) * rng.uniform(0.2, 0.8) * _smooth_field(page.shape, rng, 4)
    grain = cv2.GaussianBlur(rng.random(page.shape, dtype=np.float32), (0, 0), 1.0)
    keep = keep * (0.85 + 0.3 * grain)
    return _finish(paper - (paper - page) * keep)


def bleed_through(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bleed-through: the faint mirrored text of the back of the sheet showing through.

    The back is a freshly rendered page of text, or this page moved a little.
    """
    h, w = page.shape
    if rng.random() < 0.5:
        back = render_page(rng, (h, w))
    else:
        back = _shifted(page, int(rng.integers(-h // 20, h // 20 + 1)), int(rng.integers(-8, 9)))
    ink = cv2.GaussianBlur(1.0 - back[:, ::-1], (0, 0), rng.uniform(0.7, 2.0))
    strength = rng.uniform(0.08, 0.3) * (0.5 + 0.5 * _smooth_field(page.shape, rng, 3))
    return _finish(page * (1.0 - strength * ink))


def coffee_stain(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Coffee stains and cup rings: irregular translucent brownish blobs with a darker rim."""
    h, w = page.shape
    density = np.zeros_like(page, dtype=np.float32)
    for _ in range(int(rng.integers(1, 4))):
        radius = min(h, w) * rng.uniform(0.06, 0.25)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        y0, y1 = max(0, int(cy - 1.5 * radius)), min(h, int(cy + 1.5 * radius) + 1)
        x0, x1 = max(0, int(cx - 1.5 * radius)), min(w, int(cx + 1.5 * radius) + 1)
        if y1 <= y0 or x1 <= x0:
            continue
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
        theta = np.arctan2(dy, dx)
        edge = np.ones_like(theta)
        for k in range(2, 8):  # a wobbly outline
            edge += rng.uniform(0.0, 0.06) / np.sqrt(k) * np.cos(k * theta + rng.uniform(0, 6.3))
        rho = np.hypot(dy, dx) / (radius * edge)
        rho += 0.06 * (_smooth_field(rho.shape, rng, 12) - 0.5)  # a ragged edge
        rim_width = rng.uniform(0.02, 0.07)
        rim = np.exp(-(((rho - 1.0) / rim_width) ** 2))
        inside = 1.0 / (1.0 + np.exp(np.clip((rho - 1.0) / 0.015, -50, 50)))
        mottle = 0.6 + 0.8 * _smooth_field(rho.shape, rng, 6)
        body = rng.uniform(0.06, 0.25)
        if rng.random() < 0.35:  # a cup ring: mostly rim, often broken
            body *= 0.2
            rim *= np.clip(0.5 + rng.uniform(0.3, 1.0) * np.cos(theta - rng.uniform(0, 6.3)), 0, 1)
        blob = np.clip(body * inside * mottle + rng.uniform(0.08, 0.25) * rim, 0.0, 0.6)
        patch = density[y0:y1, x0:x1]
        density[y0:y1, x0:x1] = 1.0 - (1.0 - patch) * (1.0 - blob)
    return _finish(page * (1.0 - density))


def fold(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fold: a straight crease across the page, shadowed on one side and lit on the other."""
    h, w = page.shape
    if rng.random() < 0.8:  # folded in halves or thirds: near horizontal or vertical
        angle = float(rng.choice([0.0, 90.0])) + rng.normal(0.0, 3.0)
    else:  # a dog-ear or a careless fold
        angle = rng.uniform(0.0, 180.0)
    normal = np.deg2rad(angle + 90.0)
    py, px = h * rng.uniform(0.2, 0.8), w * rng.uniform(0.2, 0.8)
    yy, xx = _grid(page.shape)
    d = (xx - px) * np.cos(normal) + (yy - py) * np.sin(normal)
    width = min(h, w) * rng.uniform(0.01, 0.06)
    dark, light = rng.uniform(0.08, 0.3), rng.uniform(0.02, 0.08)
    shade = np.where(
        d > 0, -dark * np.exp(-np.maximum(d, 0) / width), light * np.exp(np.minimum(d, 0) / width)
    )
    crease = rng.uniform(0.1, 0.35) * np.exp(-0.5 * (d / rng.uniform(0.6, 1.5)) ** 2)
    return _finish(page * (1.0 + shade) * (1.0 - crease))


def wrinkles(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wrinkles: many thin random creases in crumpled paper, with soft shading."""
    h, w = page.shape
    side = min(h, w)
    ridges = np.zeros(page.shape, np.float32)
    for _ in range(int(rng.integers(8, 30))):
        point = np.array([rng.uniform(0, w), rng.uniform(0, h)])
        heading = rng.uniform(0, 2 * np.pi)
        points = [point.copy()]
        for _ in range(int(rng.integers(2, 7))):
            heading += rng.normal(0.0, 0.35)
            point += side * rng.uniform(0.04, 0.15) * np.array([np.cos(heading), np.sin(heading)])
            points.append(point.copy())
        line = np.round(np.array(points)).astype(np.int32)
        cv2.polylines(ridges, [line], False, float(rng.uniform(0.3, 1.0)), 1, cv2.LINE_AA)
    sharp = ridges.copy()
    bumps = rng.uniform(0.0, 0.5) * _smooth_field(page.shape, rng, 8)  # uneven paper
    height = cv2.GaussianBlur(ridges, (0, 0), rng.uniform(1.0, 3.0)) + bumps
    light = rng.uniform(0, 2 * np.pi)
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3)
    shading = np.cos(light) * gx + np.sin(light) * gy
    shading /= max(float(np.percentile(np.abs(shading), 99.5)), 1e-6)
    strength = rng.uniform(0.06, 0.2)
    return _finish(
        page * (1.0 + strength * np.clip(shading, -1.5, 1.5)) * (1.0 - 0.3 * strength * sharp)
    )


def rotation(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slight rotation (up to 2 degrees either way) about the centre, filled with white.

    Geometric: :func:`make_pair` gives the clean target the same rotation.
    """
    h, w = page.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), rng.uniform(-2.0, 2.0), 1.0)
    rotated = cv2.warpAffine(
        page,
        matrix,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=1.0,
    )
    return _finish(rotated)


def uneven_lighting(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uneven lighting: a gray paper tone, grayish ink and a smooth low-frequency illumination field."""
    black = rng.uniform(0.0, 0.15)
    paper = rng.uniform(0.8, 1.0)
    yy, xx = _grid(page.shape)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(direction) * xx / max(page.shape[1], 1) + np.sin(direction) * yy / max(
        page.shape[0], 1
    )
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    blotch = _smooth_field(page.shape, rng, int(rng.integers(2, 6)))
    mix = rng.uniform(0.2, 0.8)
    depth = rng.uniform(0.05, 0.3)
    illumination = paper * (1.0 - depth * (mix * ramp + (1.0 - mix) * blotch))
    return _finish((black + (1.0 - black) * page) * illumination)


def edge_shadow(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Page-edge shadows: a darker band along one or two edges (a book's gutter, a lifted lid)."""
    h, w = page.shape
    yy, xx = _grid(page.shape)
    shade = np.ones(page.shape, np.float32)
    for edge in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
        across, along, extent = {0: (yy, xx, h), 1: (h - 1 - yy, xx, h), 2: (xx, yy, w)}.get(
            int(edge), (w - 1 - xx, yy, w)
        )
        length = along.size
        wobble = cv2.resize(rng.random((1, 4), dtype=np.float32), (length, 1))[0]
        width = extent * rng.uniform(0.015, 0.08) * (0.7 + 0.6 * wobble)
        width = width[None, :] if along.shape[0] == 1 else width[:, None]
        strength = rng.uniform(0.3, 0.8)
        shade *= 1.0 - strength * np.exp(-((across / width) ** rng.uniform(1.0, 2.0)))
    return _finish(page * shade)


def blur(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur: a soft scan (Gaussian) or slight defocus (a small disc)."""
    if rng.random() < 0.6:
        return _finish(cv2.GaussianBlur(page, (0, 0), rng.uniform(0.6, 1.6)))
    radius = rng.uniform(1.0, 2.5)
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = np.clip(radius + 0.5 - np.hypot(yy, xx), 0.0, 1.0).astype(np.float32)
    return _finish(cv2.filter2D(page, -1, disc / disc.sum(), borderType=cv2.BORDER_REFLECT))


def gaussian_noise(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: Gaussian, fine-grained or partly blotchy."""
    noise = rng.standard_normal(page.shape, dtype=np.float32)
    if rng.random() < 0.4:  # some correlated grain
        grain = cv2.GaussianBlur(noise, (0, 0), 1.2)
        noise = 0.6 * noise + 0.8 * grain / max(float(grain.std()), 1e-6)
    return _finish(page + rng.uniform(0.01, 0.06) * noise)


def salt_and_pepper(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper: isolated black and white pixels, and a few dark specks of dust."""
    out = page.copy()
    amount = rng.uniform(0.0005, 0.006)
    u = rng.random(page.shape, dtype=np.float32)
    out[u < amount / 2] = 0.0
    out[u > 1.0 - amount / 2] = 1.0
    h, w = page.shape
    for _ in range(int(rng.poisson(h * w * rng.uniform(5e-6, 4e-5)))):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(
            out, center, int(rng.integers(1, 4)), float(rng.uniform(0.0, 0.4)), -1, cv2.LINE_AA
        )
    return _finish(out)


def jpeg(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG artefacts: the page encoded and decoded at a random quality from 15 to 60."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(page)).save(buffer, format="JPEG", quality=int(rng.integers(15, 61)))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255)


# The registry, in the order make_pair applies the kinds; names are what --kinds takes.
DEGRADATIONS: dict[str, Degradation] = {
    "faded-ink": faded_ink,
    "bleed-through": bleed_through,
    "stain": coffee_stain,
    "fold": fold,
    "wrinkles": wrinkles,
    "rotation": rotation,
    "lighting": uneven_lighting,
    "edge-shadow": edge_shadow,
    "blur": blur,
    "noise": gaussian_noise,
    "salt-pepper": salt_and_pepper,
    "jpeg": jpeg,
}
# How often each kind is drawn for a page when kinds are mixed.
CHANCE: dict[str, float] = {
    "faded-ink": 0.25,
    "bleed-through": 0.3,
    "stain": 0.4,
    "fold": 0.3,
    "wrinkles": 0.3,
    "rotation": 0.4,
    "lighting": 0.7,
    "edge-shadow": 0.3,
    "blur": 0.4,
    "noise": 0.7,
    "salt-pepper": 0.25,
    "jpeg": 0.3,
}
# Kinds that move pixels: the clean target gets the same transform.
GEOMETRIC: frozenset[str] = frozenset({"rotation"})


def describe_kinds() -> dict[str, str]:
    """Each kind's name and the first line of its function's docstring."""
    return {name: (fn.__doc__ or "").strip().splitlines()[0] for name, fn in DEGRADATIONS.items()}


def resolve_kinds(
    kinds: Iterable[str] | None = None, exclude: Iterable[str] | None = None
) -> list[str]:
    """The kinds to use, in registry order: ``kinds`` (default all) less ``exclude``.

    Raises :class:`UsageError` naming the known kinds for an unknown name or an empty result.
    """
    wanted = [k.strip() for k in kinds if k.strip()] if kinds is not None else list(DEGRADATIONS)
    dropped = [k.strip() for k in exclude or () if k.strip()]
    unknown = sorted({k for k in wanted + dropped if k not in DEGRADATIONS})
    known = ", ".join(DEGRADATIONS)
    if unknown:
        raise UsageError(f"unknown degradation kind(s): {', '.join(unknown)}", f"known: {known}")
    chosen = [k for k in DEGRADATIONS if k in wanted and k not in dropped]
    if not chosen:
        raise UsageError("no degradation kinds left to apply", f"known: {known}")
    return chosen


def parse_kind_list(text: str | None) -> list[str] | None:
    """A comma-separated list of kinds (None stays None)."""
    return None if text is None else [k for k in text.split(",") if k.strip()]


def never_seen_kinds(
    training: Mapping[str, Any], start_training: Mapping[str, Any] | None = None
) -> list[str]:
    """The kinds a model's training never saw, in registry order, from its card's ``training``.

    A card records them as ``never_seen_kinds``, over the whole line of models it was fine-tuned
    from; an older card only its own run's: every kind without ``synthetic_pairs``, else its
    ``synthetic_excluded_kinds``. With ``start_training`` (the card of the model a run started
    from), what neither saw: a fine-tuned model has seen what its starting model saw.
    """
    if "never_seen_kinds" in training:
        own = set(training["never_seen_kinds"])
    elif training.get("synthetic_pairs"):
        own = set(training.get("synthetic_excluded_kinds") or ())
    else:
        own = set(DEGRADATIONS)
    if start_training is not None:
        own &= set(never_seen_kinds(start_training))
    return [k for k in DEGRADATIONS if k in own]


def choose_kinds(rng: np.random.Generator, kinds: Sequence[str], mix: bool = True) -> list[str]:
    """The kinds for one page: all of ``kinds``, or with ``mix`` each by its :data:`CHANCE`.

    A mixed page always gets at least one kind that changes its pixels' values (not only geometry).
    """
    if not mix:
        return list(kinds)
    draws = {k: rng.random() < CHANCE[k] for k in kinds}
    photometric = [k for k in kinds if k not in GEOMETRIC]
    if photometric and not any(draws[k] for k in photometric):
        draws[photometric[int(rng.integers(len(photometric)))]] = True
    return [k for k in kinds if draws[k]]


def make_pair(
    page: np.ndarray,
    rng: np.random.Generator,
    kinds: Sequence[str] | None = None,
    mix: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A ``(noisy, clean)`` pair from a clean page: the chosen degradations in registry order.

    The clean target is the page with only the geometric kinds applied, each with the same random
    draws as the noisy page, so the two stay pixel-aligned. Both are float32 in [0, 1].
    """
    clean = _finish(np.asarray(page, dtype=np.float32))
    noisy = clean.copy()
    for name in choose_kinds(rng, resolve_kinds(kinds), mix):
        degrade = DEGRADATIONS[name]
        if name in GEOMETRIC:
            seed = int(rng.integers(2**63))
            noisy = degrade(noisy, np.random.default_rng(seed))
            clean = degrade(clean, np.random.default_rng(seed))
        else:
            noisy = degrade(noisy, rng)
    return _finish(noisy), clean


# --- pairs in memory and on disk ------------------------------------------------------------


def synthetic_pairs(
    n: int,
    rng: np.random.Generator,
    clean_pages: Sequence[np.ndarray] | None = None,
    kinds: Sequence[str] | None = None,
    size: tuple[int, int] = RENDER_SIZE,
    mix: bool = True,
) -> list[Pair]:
    """``n`` synthetic training pairs in memory, named ``synthetic-00000`` and on.

    Each is a dirty version of ``clean_pages`` in turn (page ``i % len(clean_pages)``), or of a
    freshly rendered page of ``size`` = (height, width) when none are given. ``kinds`` restricts the
    degradations (default all; see :func:`resolve_kinds`). Mix the result with real pairs before
    building a :class:`~docclean.training.data.PatchSampler`. Memory: 8 bytes a pixel a pair, so 17 MB for
    each rendered A4 page at 150 dpi; pass a smaller ``size`` for many pairs.
    """
    chosen = resolve_kinds(kinds)
    pairs: list[Pair] = []
    for i in range(n):
        page = clean_pages[i % len(clean_pages)] if clean_pages else render_page(rng, size)
        noisy, clean = make_pair(page, rng, chosen, mix)
        pairs.append(Pair(f"synthetic-{i:05d}", noisy, clean))
    return pairs


@dataclass
class SynthOptions:
    """What ``docclean synth`` makes."""

    seed: int = 0
    per_page: int = 1
    kinds: list[str] = field(default_factory=lambda: list(DEGRADATIONS))
    mix: bool = True
    render: int = 0
    size: tuple[int, int] = RENDER_SIZE
    overwrite: bool = False


@dataclass
class SynthSummary:
    """What a run wrote."""

    pages: int = 0
    pairs: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def page_rng(seed: int, name: str) -> np.random.Generator:
    """The generator for one source page: from the seed and the page's name only, so a page's
    pairs do not change when other pages are added or removed."""
    return np.random.default_rng([seed % 2**64, zlib.crc32(name.encode("utf-8"))])


def _check_output(out: Path, overwrite: bool) -> None:
    for sub in ("noisy", "clean"):
        folder = out / sub
        if (
            not overwrite
            and folder.is_dir()
            and any(p.is_file() and is_image_path(p) for p in folder.rglob("*"))
        ):
            raise OutputError(
                f"{folder} already holds pages",
                "choose another folder, or pass --overwrite to replace pages of the same name",
            )


def _write_pair(
    out: Path, name: str, noisy: np.ndarray, clean: np.ndarray, dpi: tuple[float, float] | None
) -> None:
    """Both halves of a pair, or neither (an interrupted write removes the noisy half)."""
    noisy_path = out / "noisy" / f"{name}.png"
    write_pages(noisy_path, [noisy], dpi, "png")
    try:
        write_pages(out / "clean" / f"{name}.png", [clean], dpi, "png")
    except BaseException:
        noisy_path.unlink(missing_ok=True)
        raise


def synthesize(
    clean_dir: Path | None, out: Path, options: SynthOptions, reporter: Reporter
) -> SynthSummary:
    """Write ``options.per_page`` dirty variants of each clean page (from ``clean_dir``, searched
    recursively, and ``options.render`` rendered ones) as ``out/noisy/NAME-K.png`` with the clean
    target ``out/clean/NAME-K.png``. An unreadable page is reported and skipped."""
    from docclean.inference.batch import discover_inputs

    if options.per_page < 1 or options.render < 0:
        raise UsageError("--per-page must be at least 1 and --render at least 0")
    if clean_dir is None and options.render == 0:
        raise UsageError("nothing to make", "give a folder of clean pages, or --render N")
    if clean_dir is not None and not clean_dir.exists():
        raise UsageError(f"{clean_dir}: no such file or folder")
    kinds = resolve_kinds(options.kinds)
    _check_output(out, options.overwrite)
    files = list(discover_inputs([clean_dir], out)) if clean_dir is not None else []
    if clean_dir is not None and not files and options.render == 0:
        raise DataError(f"no clean pages found in {clean_dir}")

    started = time.perf_counter()
    summary = SynthSummary()
    seen: dict[str, Path] = {}

    def emit(
        name: str, page: np.ndarray, rng: np.random.Generator, dpi: tuple[float, float] | None
    ) -> None:
        summary.pages += 1
        for k in range(options.per_page):
            noisy, clean = make_pair(page, rng, kinds, options.mix)
            _write_pair(out, f"{name}-{k}", noisy, clean, dpi)
            summary.pairs += 1

    sources = [f"{len(files)} file(s)"] if clean_dir is not None else []
    sources += [f"{options.render} rendered page(s)"] if options.render else []
    reporter.info(
        f"making {options.per_page} pair(s) a page from {' and '.join(sources)} "
        f"with {', '.join(kinds)}"
    )
    with reporter.bar("synthesizing", len(files) + options.render) as bar:
        for item in files:
            try:
                pages = list(read_pages(item.path))
                base = item.relative.with_suffix("").as_posix()
                names = [base] if len(pages) == 1 else [f"{base}-p{p.index}" for p in pages]
                for name in names:
                    if name in seen:
                        raise DataError(f"{item.path}: same name as {seen[name]}, skipped")
                    seen[name] = item.path
                for name, page in zip(names, pages, strict=True):
                    emit(name, page.pixels, page_rng(options.seed, name), page.dpi)
            except DocCleanError as exc:
                if isinstance(exc, OutputError):
                    raise
                reporter.error(str(exc))
                summary.failed.append(str(exc))
            bar.advance(1)
        width = max(4, len(str(options.render - 1)))
        for i in range(options.render):
            name = f"rendered-{i:0{width}d}"
            if name in seen:
                raise UsageError(f"{seen[name]} has the name of a rendered page", "rename it")
            rng = page_rng(options.seed, name)
            emit(name, render_page(rng, options.size), rng, (RENDER_DPI, RENDER_DPI))
            bar.advance(1)
    summary.seconds = time.perf_counter() - started
    return summary
