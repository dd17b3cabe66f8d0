"""Synthetic training pairs: realistic damage on clean pages, and clean pages rendered from text.

Each degradation is a pure function ``(page, rng) -> page`` on a float32 gray page in [0, 1],
registered by name in :data:`DEGRADATIONS` (what ``--kinds`` and ``--synthetic-exclude`` take) and
applied by :func:`make_pair` in :data:`ORDER`: first what happens to the ink and the paper (iron-gall
and faded ink, bleed-through, aged paper, stains, folds, wrinkles), then the page's placement on the
scanner (rotation, given to the clean target too so the pair stays aligned), then the light (uneven
lighting, edge, curl, hand and phone shadows, phone photos), the optics and the sensor (blur, noise,
salt-and-pepper) and the file (JPEG). Two kinds are drawn alone: undamaged pages and good light
scans, whose target is the pure page, so models learn to leave good pages alone.
:func:`historical_pair` makes binarization pairs: aged manuscript-like pages with bilevel targets.
All randomness comes from the ``numpy`` Generator passed in, so the same seed gives byte-identical
pages.
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
from docclean.synth.render import RENDER_DPI, RENDER_SIZE, DpiScale, render_page, whole_page_dpi
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


SPECK_CLEARANCE = 3
"""Dark specks a model is taught to remove stand this many px clear of ink and of each other: a
dot beside a letter or another dot (a full stop, an ellipsis, a dotted leader) is always kept."""


def _clear_of_ink(dark: np.ndarray, ys: np.ndarray, xs: np.ndarray, side: int) -> np.ndarray:
    """Which specks of ``side`` px at ``(ys, xs)`` have no other dark pixel within
    :data:`SPECK_CLEARANCE` px (``dark``: the page's ink and every dark speck)."""
    window = side + 2 * SPECK_CLEARANCE
    counts = cv2.boxFilter(dark.astype(np.float32), -1, (window, window), normalize=False)
    h, w = dark.shape
    cy = np.minimum(ys + side // 2, h - 1)
    cx = np.minimum(xs + side // 2, w - 1)
    own = np.array(side * side, np.float32)
    result: np.ndarray = counts[cy, cx] <= own + 0.5
    return result


def salt_and_pepper(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Salt-and-pepper: isolated black and white pixels, and a few dark specks of dust.

    The dark ones stand clear of the ink (:data:`SPECK_CLEARANCE`)."""
    out = page.copy()
    amount = rng.uniform(0.0005, 0.006)
    u = rng.random(page.shape, dtype=np.float32)
    pepper = u < amount / 2
    ys, xs = np.nonzero(pepper)
    keep = _clear_of_ink((page < 0.5) | pepper, ys, xs, 1)
    out[ys[keep], xs[keep]] = 0.0
    out[u > 1.0 - amount / 2] = 1.0
    h, w = page.shape
    dust = int(rng.poisson(h * w * rng.uniform(5e-6, 4e-5)))
    ink = page < 0.5
    for _ in range(dust):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(1, 4))
        value = float(rng.uniform(0.0, 0.4))
        y0, x0 = (
            max(center[1] - radius - SPECK_CLEARANCE, 0),
            max(center[0] - radius - SPECK_CLEARANCE, 0),
        )
        y1, x1 = center[1] + radius + SPECK_CLEARANCE + 1, center[0] + radius + SPECK_CLEARANCE + 1
        if not ink[y0:y1, x0:x1].any():
            cv2.circle(out, center, radius, value, -1, cv2.LINE_AA)
    return _finish(out)


def jpeg(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG artefacts: the page encoded and decoded at a random quality from 15 to 60."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(page)).save(buffer, format="JPEG", quality=int(rng.integers(15, 61)))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255)


# --- kinds for real pages: good scans, phone photos, dense noise, historical documents ------


def undamaged(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Undamaged: the clean page paired with itself, so a model learns to leave good pages alone."""
    return _finish(page.copy())


def light_scan(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A good light scan: paper tone, grey ink (up to 0.3), soft, faint noise; target: the page."""
    paper, black = rng.uniform(0.80, 0.99), rng.uniform(0.0, 0.3)
    out: np.ndarray = black + (paper - black) * page
    if rng.random() < 0.7:  # a scanner's optics (softer at 600 dpi than at 150); faint ink, sharp
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.2 - 2 * black))
    yy, xx = _grid(page.shape)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx / max(page.shape[1], 1) + np.sin(angle) * yy / max(page.shape[0], 1)
    tone = 1.0 - rng.uniform(0.0, 0.03) * (ramp - ramp.min())
    tone = tone - rng.uniform(0.0, 0.03) * _smooth_field(page.shape, rng, 3)
    out = out * tone + rng.uniform(0.003, 0.02) * rng.standard_normal(page.shape, np.float32)
    if rng.random() < 0.3:  # a scanner's tone curve
        out = np.clip(out, 0.0, 1.0) ** rng.uniform(0.85, 1.2)
    if rng.random() < 0.3:
        out = jpeg_at(out, int(rng.integers(80, 96)))
    return _finish(out)


def _blurred(mask: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0 else mask


def _from_edge(points: np.ndarray, shape: tuple[int, int], edge: int) -> np.ndarray:
    """Points ``(u, v)`` (u along an edge from 0 to 1, v inwards from it, 1 = the far edge) as
    ``(x, y)`` pixels of a page of ``shape``, for edge 0 top, 1 bottom, 2 left, 3 right."""
    h, w = shape
    u, v = points[:, 0], points[:, 1]
    x, y = {
        0: (u * w, v * h),
        1: (u * w, h - v * h),
        2: (v * w, u * h),
    }.get(edge, (w - v * w, u * h))
    return np.round(np.stack([x, y], axis=1)).astype(np.int32)


def _point(xy: np.ndarray) -> tuple[int, int]:
    return round(float(xy[0])), round(float(xy[1]))


def shadow_shape(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A hand's or a phone's hard shadow coming in from one edge: 1 inside, 0 outside, float32.

    Its palm or phone reaches at most 65 % of the way across, so the far side of the page stays
    lit; it covers at least 3 % of the page (drawn again, up to 5 times, until it does).
    """
    for _ in range(5):
        mask = _one_shadow_shape(shape, rng)
        if mask.mean() >= 0.03:
            break
    return mask


def _one_shadow_shape(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    mask: np.ndarray = np.zeros(shape, np.uint8)
    edge = int(rng.integers(4))
    extent = h if edge < 2 else w  # across the shadow's edge
    length = w if edge < 2 else h  # along it
    scale = min(h, w)
    base = rng.uniform(0.15, 0.85)
    reach = rng.uniform(0.25, 0.65)
    if rng.random() < 0.5:  # a hand: arm, palm and fingers
        inward = {0: (0.0, 1.0), 1: (0.0, -1.0), 2: (1.0, 0.0)}.get(edge, (-1.0, 0.0))
        turn = rng.normal(0.0, 0.35)
        ahead = np.array(
            [
                inward[0] * np.cos(turn) - inward[1] * np.sin(turn),
                inward[0] * np.sin(turn) + inward[1] * np.cos(turn),
            ]
        )
        start = _from_edge(np.array([[base, -0.2]]), shape, edge)[0].astype(np.float64)
        palm_at = start + ahead * (0.2 * extent + reach * 0.55 * extent) / max(
            abs(ahead).max(), 0.5
        )
        arm = max(1, round(scale * rng.uniform(0.1, 0.16)))
        cv2.line(mask, _point(start), _point(palm_at), 1, arm, cv2.LINE_AA)
        angle = float(np.degrees(np.arctan2(ahead[1], ahead[0])))
        axes = (round(scale * rng.uniform(0.09, 0.13)), round(scale * rng.uniform(0.1, 0.14)))
        cv2.ellipse(mask, _point(palm_at), (max(1, axes[0]), max(1, axes[1])), angle, 0, 360, 1, -1)
        fingers = int(rng.choice([1, 2, 4, 4, 5]))
        spread = rng.uniform(0.5, 1.1)
        for k in range(fingers):
            bend = (k - (fingers - 1) / 2) * spread / max(fingers - 1, 1) + rng.normal(0, 0.06)
            way = np.array(
                [
                    ahead[0] * np.cos(bend) - ahead[1] * np.sin(bend),
                    ahead[0] * np.sin(bend) + ahead[1] * np.cos(bend),
                ]
            )
            tip = palm_at + way * scale * (rng.uniform(0.1, 0.16) + rng.uniform(0.1, 0.2))
            width = max(1, round(scale * rng.uniform(0.035, 0.05)))
            cv2.line(mask, _point(palm_at), _point(tip), 1, width, cv2.LINE_AA)
    else:  # a phone held over the page, and the hand holding it
        half_u = rng.uniform(0.12, 0.3) * extent / length
        tilt = rng.normal(0.0, 0.08)
        body = np.array(
            [
                [base - half_u, -0.1],
                [base + half_u, -0.1],
                [base + half_u + tilt, reach],
                [base - half_u + tilt, reach],
            ]
        )
        cv2.fillPoly(mask, [_from_edge(body, shape, edge)], 1, cv2.LINE_AA)
        corner = max(1, round(scale * rng.uniform(0.01, 0.04)))
        mask = cv2.morphologyEx(
            mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (corner,) * 2)
        )
    return mask.astype(np.float32)


def _shadow(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The shade of a hard shadow: 1 in the light, 1 - (30 to 70 %) inside, a 10-60 px penumbra."""
    shape = shadow_shape(page.shape, rng)
    penumbra = rng.uniform(10.0, 60.0)  # px from 10 % to 90 % of the edge
    depth = rng.uniform(0.34, 0.7) * (0.9 + 0.1 * _smooth_field(page.shape, rng, 3))
    soft = _blurred(shape, penumbra / 2.56)
    # the darkest part of a shadow narrower than its penumbra is still as dark as drawn
    soft = np.clip(soft / max(float(soft.max()), 1e-6), 0.0, 1.0)
    return 1.0 - depth * soft


def hard_shadow(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A hand or phone shadow: a shape from one edge darkened 30-70 %, with a 10-60 px penumbra."""
    return _finish(page * _shadow(page, rng))


def _curl_shade(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = page.shape
    yy, xx = _grid(page.shape)
    edge = int(rng.integers(4))
    across, along, extent = {
        0: (yy, xx / max(w, 1), h),
        1: (h - 1 - yy, xx / max(w, 1), h),
        2: (xx, yy / max(h, 1), w),
    }.get(edge, (w - 1 - xx, yy / max(h, 1), w))
    bow = extent * rng.uniform(-0.03, 0.03) * (2 * along - 1) ** 2  # the curl bends the line
    gutter = extent * rng.uniform(0.0, 0.08)
    width = extent * rng.uniform(0.03, 0.15)
    distance = np.maximum(across - gutter - bow, 0.0)
    strength = rng.uniform(0.4, 0.85)
    falloff = rng.uniform(1.0, 2.0)
    shade = 1.0 - strength * np.exp(-((distance / width) ** falloff))
    return shade.astype(np.float32)


def curl_shadow(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Page-curl shadow: a dark gutter or lifted edge, fading over a gradient along a bowed line."""
    return _finish(page * _curl_shade(page, rng))


def phone_photo(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone photo under a lamp: light falling off across the page and a hand or phone shadow.

    Gray paper and ink, sometimes a curled edge too.
    """
    h, w = page.shape
    yy, xx = _grid(page.shape)
    cy, cx = rng.uniform(-0.3, 1.3) * h, rng.uniform(-0.3, 1.3) * w
    radius = np.hypot((yy - cy) / max(h, 1), (xx - cx) / max(w, 1))
    light = rng.uniform(0.75, 1.0) * (1.0 - rng.uniform(0.1, 0.4) * np.clip(radius / 1.5, 0, 1))
    light = light * (1.0 - rng.uniform(0.0, 0.15) * _smooth_field(page.shape, rng, 3))
    black = rng.uniform(0.03, 0.2)
    out = (black + (1.0 - black) * page) * light * _shadow(page, rng)
    if rng.random() < 0.4:
        out = out * _curl_shade(page, rng)
    return _finish(out)


def _stamp(
    target: np.ndarray, ys: np.ndarray, xs: np.ndarray, sides: np.ndarray, values: Any
) -> None:
    """Set squares of ``sides`` px with top-left corners ``(ys, xs)`` in ``target`` to ``values``
    (one per square, or one for all), cut at the far edges."""
    h, w = target.shape
    for side in (1, 2, 3):
        pick = sides == side
        value = values[pick] if isinstance(values, np.ndarray) else values
        for dy in range(side):
            for dx in range(side):
                target[np.minimum(ys[pick] + dy, h - 1), np.minimum(xs[pick] + dx, w - 1)] = value


def heavy_salt_and_pepper(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dense salt-and-pepper: 0.5-4 % of the pixels in dark and light specks of 1-3 px.

    The dark ones stand clear of ink and of each other (:data:`SPECK_CLEARANCE`)."""
    h, w = page.shape
    out = page.copy()
    density = rng.uniform(0.005, 0.04)
    sizes = np.array([1, 2, 3])
    weights = rng.dirichlet([2.0, 1.5, 1.0])
    count = round(density * h * w / float((weights * sizes**2).sum()))
    side = rng.choice(sizes, size=count, p=weights)
    ys = rng.integers(0, h, size=count)
    xs = rng.integers(0, w, size=count)
    dark = rng.random(count) < rng.uniform(0.3, 0.8)
    values = np.where(dark, rng.uniform(0.0, 0.3, count), rng.uniform(0.85, 1.0, count))
    values = values.astype(np.float32)
    specks = page < 0.5
    _stamp(specks, ys[dark], xs[dark], side[dark], True)
    clear = np.ones(count, bool)
    for s in (1, 2, 3):
        pick = dark & (side == s)
        clear[pick] = _clear_of_ink(specks, ys[pick], xs[pick], s)
    _stamp(out, ys[clear], xs[clear], side[clear], values[clear])
    return _finish(out)


def sensor_noise(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: photon noise (Poisson-like, stronger on light paper) plus read noise.

    Sometimes with faint row banding and the grain of demosaicing.
    """
    gain = rng.uniform(0.0005, 0.004)
    read = rng.uniform(0.002, 0.012)
    sigma = np.sqrt(gain * np.clip(page, 0.0, 1.0) + read * read)
    noise: np.ndarray = rng.standard_normal(page.shape, np.float32)
    if rng.random() < 0.4:
        grain = cv2.GaussianBlur(noise, (0, 0), 0.7)
        noise = grain / max(float(grain.std()), 1e-6)
    out = page + sigma * noise
    if rng.random() < 0.3:
        rows = rng.standard_normal((page.shape[0], 1)).astype(np.float32)
        out = out + rng.uniform(0.002, 0.01) * rows
    return _finish(out)


def jpeg_at(page: np.ndarray, quality: int) -> np.ndarray:
    """``page`` encoded as JPEG at ``quality`` and decoded."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(page)).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("L"), dtype=np.float32) / np.float32(255)


def _spots(
    shape: tuple[int, int], rng: np.random.Generator, count: int, radius: tuple[float, float]
) -> np.ndarray:
    """Soft irregular spots (foxing): density in [0, 1]."""
    h, w = shape
    spots = np.zeros(shape, np.float32)
    for _ in range(count):
        r = rng.uniform(*radius)
        center = (int(rng.integers(0, max(w, 1))), int(rng.integers(0, max(h, 1))))
        axes = (max(1, round(r * rng.uniform(0.6, 1.4))), max(1, round(r * rng.uniform(0.6, 1.4))))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(
            spots, center, axes, angle, 0, 360, float(rng.uniform(0.3, 1.0)), -1, cv2.LINE_AA
        )
    return np.clip(_blurred(spots, radius[0] * 0.5), 0.0, 1.0)


def aged_paper(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Aged paper: yellowed or brown tone, mottling, faint fibres, foxing spots, darker edges."""
    h, w = page.shape
    side = max(min(h, w), 1)
    tone = rng.uniform(0.55, 0.97)
    cells = int(rng.integers(3, 12))
    mottle = rng.uniform(0.04, 0.18) * (_smooth_field(page.shape, rng, cells) - 0.5)
    mottle += rng.uniform(0.0, 0.06) * (_smooth_field(page.shape, rng, cells * 5) - 0.5)
    fibres: np.ndarray = rng.standard_normal(page.shape, np.float32)
    if rng.random() < 0.5:  # laid or fibrous paper: grain along one direction
        length = int(rng.integers(5, 25)) | 1
        fibres = cv2.blur(fibres, (length, 1) if rng.random() < 0.5 else (1, length))
    fibres = cv2.GaussianBlur(fibres, (0, 0), rng.uniform(1.0, 2.5))
    fibres = fibres / max(float(fibres.std()), 1e-6) * rng.uniform(0.004, 0.015)
    count = int(rng.poisson(rng.uniform(0.0, 25.0) * h * w / 1e6 + 0.5))
    foxing = _spots(page.shape, rng, count, (side * 0.002 + 1, side * 0.025 + 2))
    yy, xx = _grid(page.shape)
    border = np.minimum(np.minimum(yy, h - 1 - yy), np.minimum(xx, w - 1 - xx)) / side
    edges = rng.uniform(0.0, 0.25) * np.exp(-border / rng.uniform(0.02, 0.1))
    paper = tone * (1.0 + mottle + fibres) * (1.0 - rng.uniform(0.15, 0.5) * foxing)
    return _finish(page * paper * (1.0 - edges))


def iron_gall_ink(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Iron-gall or faded brown ink: strokes from dark to pale, varying from word to word.

    Thin strokes and stroke edges paler, and a faint halo where the ink has eaten into the paper.
    """
    ink = 1.0 - page  # how much of each pixel is ink
    # the ink's lightness where it is darkest: mostly dark, sometimes faded almost to the paper
    level = rng.uniform(0.5, 0.8) if rng.random() < 0.15 else rng.uniform(0.0, 0.45)
    spread = rng.uniform(0.05, 0.2)
    cells = max(2, round(max(page.shape) / rng.uniform(30, 120)))
    lightness = level + spread * _smooth_field(page.shape, rng, cells)
    lightness += rng.uniform(0.03, 0.15) * (_smooth_field(page.shape, rng, cells * 4) - 0.5)
    # thin strokes and stroke edges carry less ink than the middle of thick ones
    core = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.7, 1.5))
    lightness += rng.uniform(0.0, 0.15) * (1.0 - np.clip(core, 0.0, 1.0))
    halo = rng.uniform(0.0, 0.08) * np.clip(_blurred(ink, rng.uniform(1.0, 3.0)) * 3.0, 0.0, 1.0)
    out = (1.0 - ink * (1.0 - np.clip(lightness, 0.0, 0.95))) * (1.0 - halo * (1.0 - ink))
    return _finish(out)


def _stroke_width(page: np.ndarray) -> float:
    """The typical width of the page's ink strokes in px (0 when there is no ink)."""
    ink = (page < 0.5).astype(np.uint8)
    area = int(ink.sum())
    if area == 0:
        return 0.0
    edges = int((ink[1:] != ink[:-1]).sum() + (ink[:, 1:] != ink[:, :-1]).sum())
    return 2.0 * area / max(edges, 1)


def verso_bleed(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Verso bleed-through: the mirrored, blurred handwriting of the back of an old leaf.

    Strong in places, but fainter than the front's own ink.
    """
    h, w = page.shape
    stroke = _stroke_width(page)  # the back's hand is about as large as the front's
    # a hand of 19 pt draws strokes of about 0.1 em; thresholded edges make ``stroke`` too small
    dpi = stroke / 0.1 * 72 / 19 * rng.uniform(1.2, 2.0) if stroke else None
    back = render_page(rng, (h, w), float(np.clip(dpi, 50, 1200)) if dpi else None, True)
    if (back < 0.5).mean() < 0.005:  # the window fell on a margin: the whole back, small
        back = render_page(rng, (h, w), None, manuscript=True)
    if (back < 0.5).mean() < 0.005:  # a page too small to write on: this page's own ink
        back = page
    dy, dx = int(rng.integers(-h // 10, h // 10 + 1)), int(rng.integers(-w // 10, w // 10 + 1))
    spread = rng.uniform(0.3, 1.2) * max(stroke, 1.5)  # ink diffusing through the paper
    ink = _blurred(1.0 - _shifted(back, dy, dx)[:, ::-1], spread)
    # fainter than the front's own ink: the verso shows through, it does not outshine the recto
    paper, dark = np.percentile(page, [90, 1]) if page.size else (1.0, 0.0)
    most = float(np.clip(0.8 * (paper - dark) / max(paper, 1e-3), 0.08, 0.45))
    strength = rng.uniform(0.45, 1.0) * most * (0.5 + 0.5 * _smooth_field(page.shape, rng, 3))
    return _finish(page * (1.0 - strength * ink))


# The registry: names are what --kinds takes. The first twelve are the original kinds, in the
# order they have always had; kinds added later come after them, so a kind's place in the list
# (which seeds some benchmarks) never changes. make_pair applies kinds in ORDER.
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
    "undamaged": undamaged,
    "light-scan": light_scan,
    "hard-shadow": hard_shadow,
    "curl-shadow": curl_shadow,
    "phone-photo": phone_photo,
    "heavy-salt-pepper": heavy_salt_and_pepper,
    "sensor-noise": sensor_noise,
    "aged-paper": aged_paper,
    "iron-gall-ink": iron_gall_ink,
    "verso-bleed": verso_bleed,
}
# The order make_pair applies kinds in: the ink, then the paper, the page's placement on the
# scanner, the light, the optics and the sensor, and last the file.
ORDER: tuple[str, ...] = (
    "iron-gall-ink",
    "faded-ink",
    "verso-bleed",
    "bleed-through",
    "aged-paper",
    "stain",
    "fold",
    "wrinkles",
    "rotation",
    "lighting",
    "edge-shadow",
    "curl-shadow",
    "hard-shadow",
    "phone-photo",
    "light-scan",
    "blur",
    "noise",
    "sensor-noise",
    "salt-pepper",
    "heavy-salt-pepper",
    "jpeg",
    "undamaged",
)
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
    "undamaged": 0.08,
    "light-scan": 0.1,
    "hard-shadow": 0.2,
    "curl-shadow": 0.15,
    "phone-photo": 0.12,
    "heavy-salt-pepper": 0.12,
    "sensor-noise": 0.3,
    "aged-paper": 0.1,
    "iron-gall-ink": 0.1,
    "verso-bleed": 0.08,
}
# Kinds that move pixels: the clean target gets the same transform.
GEOMETRIC: frozenset[str] = frozenset({"rotation"})
# Kinds a mixed page gets alone when drawn (a good page stays good).
ALONE: tuple[str, ...] = ("undamaged", "light-scan")
# The kinds of a historical pair and how often each is drawn (the ink and the paper always).
HISTORICAL_CHANCE: dict[str, float] = {
    "iron-gall-ink": 1.0,
    "aged-paper": 1.0,
    "faded-ink": 0.15,
    "verso-bleed": 0.6,
    "bleed-through": 0.15,
    "stain": 0.3,
    "fold": 0.15,
    "wrinkles": 0.2,
    "rotation": 0.3,
    "lighting": 0.3,
    "edge-shadow": 0.15,
    "curl-shadow": 0.1,
    "blur": 0.4,
    "noise": 0.3,
    "sensor-noise": 0.3,
    "salt-pepper": 0.1,
    "jpeg": 0.2,
}


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


def parse_chances(text: str | None) -> dict[str, float]:
    """``KIND=P,KIND=P``: chances that replace those of :data:`CHANCE` (and of
    :data:`HISTORICAL_CHANCE`) for the kinds named; empty for None.

    Raises :class:`UsageError` for an unknown kind, a missing ``=`` or a chance outside [0, 1].
    """
    chances: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            chance = float(value) if sep else float("nan")
        except ValueError:
            chance = float("nan")
        if not 0.0 <= chance <= 1.0:
            raise UsageError(
                f"bad synthetic chance {item.strip()!r}", "write KIND=P with P in [0, 1]"
            )
        resolve_kinds([name])  # a known kind
        chances[name] = chance
    return chances


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


def choose_kinds(
    rng: np.random.Generator,
    kinds: Sequence[str],
    mix: bool = True,
    chances: Mapping[str, float] | None = None,
) -> list[str]:
    """The kinds for one page: all of ``kinds``, or with ``mix`` each by its :data:`CHANCE`
    (``chances`` replaces it for the kinds it names).

    A mixed page always gets at least one kind that changes its pixels' values (not only geometry),
    or one of the :data:`ALONE` kinds by itself (an undamaged page, a good light scan).
    """
    if not mix:
        return list(kinds)
    chance = {**CHANCE, **(chances or {})}
    alone = [k for k in kinds if k in ALONE]
    for kind in alone:
        if rng.random() < chance[kind]:
            return [kind]
    kinds = [k for k in kinds if k not in ALONE]
    if not kinds:
        return [alone[int(rng.integers(len(alone)))]]
    draws = {k: rng.random() < chance[k] for k in kinds}
    photometric = [k for k in kinds if k not in GEOMETRIC]
    if photometric and not any(draws[k] for k in photometric):
        draws[photometric[int(rng.integers(len(photometric)))]] = True
    return [k for k in kinds if draws[k]]


def apply_kinds(
    page: np.ndarray, rng: np.random.Generator, kinds: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """``(noisy, clean)``: ``kinds`` applied to ``page`` in :data:`ORDER`, the geometric ones to
    the clean target too with the same random draws, so the two stay pixel-aligned."""
    clean = _finish(np.asarray(page, dtype=np.float32))
    noisy = clean.copy()
    for name in sorted(kinds, key=ORDER.index):
        degrade = DEGRADATIONS[name]
        if name in GEOMETRIC:
            seed = int(rng.integers(2**63))
            noisy = degrade(noisy, np.random.default_rng(seed))
            clean = degrade(clean, np.random.default_rng(seed))
        else:
            noisy = degrade(noisy, rng)
    return _finish(noisy), clean


def make_pair(
    page: np.ndarray,
    rng: np.random.Generator,
    kinds: Sequence[str] | None = None,
    mix: bool = True,
    chances: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A ``(noisy, clean)`` pair from a clean page: the chosen degradations (:func:`choose_kinds`,
    ``chances`` replacing some kinds' :data:`CHANCE`) in :data:`ORDER`.

    The clean target is the page with only the geometric kinds applied, each with the same random
    draws as the noisy page, so the two stay pixel-aligned. Both are float32 in [0, 1].
    """
    return apply_kinds(page, rng, choose_kinds(rng, resolve_kinds(kinds), mix, chances))


def historical_pair(
    page: np.ndarray,
    rng: np.random.Generator,
    kinds: Sequence[str] | None = None,
    chances: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A binarization pair: ``page`` aged like a manuscript, and its bilevel target (text 0,
    background 1, after the same geometric kinds).

    Iron-gall ink and aged paper always (unless left out of ``kinds``), the other kinds of
    :data:`HISTORICAL_CHANCE` (verso bleed-through, stains, folds, blur, noise, ...) each by its
    chance there (``chances`` replacing it for the kinds it names).
    """
    chance = {**HISTORICAL_CHANCE, **(chances or {})}
    allowed = [k for k in resolve_kinds(kinds) if k in chance]
    chosen = [k for k in allowed if rng.random() < chance[k]]
    photometric = [k for k in allowed if k not in GEOMETRIC]
    if photometric and not set(chosen) - GEOMETRIC:
        chosen.append(photometric[int(rng.integers(len(photometric)))])
    noisy, clean = apply_kinds(page, rng, chosen)
    return noisy, np.where(clean < 0.5, 0.0, 1.0).astype(np.float32)


# --- pairs in memory and on disk ------------------------------------------------------------


def synthetic_pairs(
    n: int,
    rng: np.random.Generator,
    clean_pages: Sequence[np.ndarray] | None = None,
    kinds: Sequence[str] | None = None,
    size: tuple[int, int] = RENDER_SIZE,
    mix: bool = True,
    dpi: DpiScale | None = None,
    historical: bool = False,
    good_share: float | None = None,
    chances: Mapping[str, float] | None = None,
    tones: float = 0.0,
    notes: float = 0.0,
) -> list[Pair]:
    """``n`` synthetic training pairs in memory, named ``synthetic-00000`` and on.

    Each is a dirty version of ``clean_pages`` in turn (page ``i % len(clean_pages)``), or of a
    freshly rendered page of ``size`` = (height, width) when none are given: with ``dpi``, a window
    of that size on a page set at a resolution drawn from ``dpi`` (type at its real size, so 600-dpi
    pages cost no more than 150-dpi ones); without, a whole page of that size. ``kinds`` restricts
    the degradations (default all; see :func:`resolve_kinds`). ``historical``: binarization pairs
    (:func:`historical_pair`), rendered pages mostly handwriting-like. Mix the result with real
    pairs before building a :class:`~docclean.training.data.PatchSampler`. Memory: 8 bytes a pixel
    a pair, so 17 MB for each rendered A4 page at 150 dpi; pass a smaller ``size`` for many pairs.
    ``good_share``, when given, is the share of pages that are good ones (:data:`ALONE`: undamaged,
    or a good light scan) instead of their :data:`CHANCE`, half of them rendered title pages heavy
    with bold headings (with ``dpi``); the others get only damage kinds (with ``historical``: good
    pages with their bilevel target, the others aged as :func:`historical_pair` ages them).
    ``chances`` replaces the chance of the kinds it names (:func:`parse_chances`). ``tones``: the share of rendered office
    pages (with ``dpi``) given gray that is part of the page, in the target too: tinted headings
    and shaded boxes (:func:`~docclean.synth.render.add_tones`). ``notes``: the share of them
    given handwritten notes in gray across the print, in the target too
    (:func:`~docclean.synth.render.add_notes`).
    """
    chosen = resolve_kinds(kinds)
    good = [k for k in chosen if k in ALONE]
    damage = [k for k in chosen if k not in ALONE]
    pairs: list[Pair] = []
    for i in range(n):
        is_good = good_share is not None and bool(good and damage) and rng.random() < good_share
        if clean_pages:
            page = clean_pages[i % len(clean_pages)]
        else:
            manuscript = historical and rng.random() < 0.7
            display = is_good and dpi is not None and rng.random() < 0.5
            toned = bool(tones) and not manuscript and dpi is not None and rng.random() < tones
            noted = bool(notes) and not manuscript and dpi is not None and rng.random() < notes
            page = render_page(
                rng, size, dpi.draw(rng) if dpi else None, manuscript, display, toned, noted
            )
        if historical and is_good:  # a good scan of a clean page: its strokes kept as they are
            noisy, clean = make_pair(page, rng, [good[int(rng.integers(len(good)))]], False)
            clean = np.where(clean < 0.5, 0.0, 1.0).astype(np.float32)
        elif historical:
            noisy, clean = historical_pair(page, rng, chosen, chances)
        elif good_share is not None and good and damage:
            if is_good:
                noisy, clean = make_pair(page, rng, [good[int(rng.integers(len(good)))]], False)
            else:
                noisy, clean = make_pair(page, rng, damage, mix, chances)
        else:
            noisy, clean = make_pair(page, rng, chosen, mix, chances)
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
    dpi: DpiScale | None = None  # rendered pages: windows of pages at these resolutions
    historical: bool = False  # binarization pairs: aged pages, bilevel targets


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
            if options.historical:
                noisy, clean = historical_pair(page, rng, kinds)
            else:
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
            dpi = options.dpi.draw(rng) if options.dpi else None
            manuscript = options.historical and rng.random() < 0.7
            rendered = render_page(rng, options.size, dpi, manuscript)
            if dpi is None:  # the first renderer's pages have always said 150 dpi
                dpi = whole_page_dpi(options.size) if manuscript else RENDER_DPI
            resolution = round(dpi, 1)
            emit(name, rendered, rng, (resolution, resolution))
            bar.advance(1)
    summary.seconds = time.perf_counter() - started
    return summary
