"""Phone photos of office pages under a hand's or a phone's hard shadow, scored against the pure page.

    python benchmarks/shadow_photos.py [--model NAME|PATH ...] [--dpi 150,200] [--pages 3]
                                       [--size 1400x1000] [--save DIR] [--turned] [--json FILE]

Written apart from the training synthesizer (docclean.synth), after the held-back set of the issue
"First, do no harm" ("phone photos of pages with a hand or phone shadow", scored by the RMSE after
the best affine map), so a model cannot have learnt its particular look. Pages are
docclean.evaluation.harm's specimen pages (headings, body, small print, punctuation, a ruled table)
cut to ``--size`` at each dpi; each is photographed, drawn from its seed:

- the photo's tones: paper at 0.72-0.90 of white, ink at 0.08-0.22, light falling off towards one
  corner by 8-25 %;
- one hard shadow: a hand (a palm and three to four fingers, as ellipses) or a phone (a rounded
  rectangle) reaching in from a random edge, darkening by 35-65 %, its penumbra a gaussian of
  sigma 2-12 px (the shadow's edge 5-30 px wide);
- the camera: gaussian blur sigma 0.6-1.1 px, sensor noise sigma 0.01-0.03, JPEG at 70-90.

Each output is mapped by the affine map (gain and offset, least squares) that brings it closest to
the pure page before its RMSE is taken, so a method is not charged for a global contrast it did not
guess. Prints, per method, the mean and pooled RMSE over pages and the RMSE inside and outside the
shadows (pixels the shade darkens by more than 10 % and by less than 1 %), and the rule pixels
lost: pixels of the pure page's ink runs of ``harm.RULE_LENGTH`` px or more (the table's rules, the
headings' long bars) that the mapped output leaves lighter than mid-gray across the rule's width.
The issue's target for its held-back photos is 0.055 (shipped model: 0.073, no cleaning 0.085).
``--save DIR`` writes each page photographed, and each method's output, as PNG. ``--turned``
cleans each photo turned a quarter (a page photographed sideways) and turns the output back.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from _common import gray_methods, page_size

from docclean.evaluation import harm


def _hand(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A hand's silhouette (uint8 0/1) reaching down from the top edge, about a third of the page."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    palm_x, palm_y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.0, 0.15) * h
    palm = (int(rng.uniform(0.12, 0.2) * w), int(rng.uniform(0.12, 0.2) * h))
    cv2.ellipse(mask, (int(palm_x), int(palm_y)), palm, 0, 0, 360, 1, -1)
    cv2.rectangle(mask, (int(palm_x - palm[0]), 0), (int(palm_x + palm[0]), int(palm_y)), 1, -1)
    fingers = int(rng.integers(3, 5))
    spread = rng.uniform(-0.3, 0.3)  # the hand's tilt, radians
    for k in range(fingers):
        offset = (k - (fingers - 1) / 2) * palm[0] * 0.5
        length = rng.uniform(0.12, 0.25) * h
        angle = spread + rng.uniform(-0.15, 0.15)
        cx = palm_x + offset + math.sin(angle) * length * 0.6
        cy = palm_y + palm[1] * 0.6 + math.cos(angle) * length * 0.6
        axes = (int(palm[0] * rng.uniform(0.12, 0.18)), int(length * 0.6))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, -math.degrees(angle), 0, 360, 1, -1)
    return mask


def _phone(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A phone's silhouette (uint8 0/1): a rounded rectangle reaching down from the top edge."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    width, depth = rng.uniform(0.25, 0.45) * w, rng.uniform(0.15, 0.4) * h
    left = rng.uniform(-0.1, 0.9) * w
    radius = int(width * rng.uniform(0.05, 0.15))
    box = np.array([[left, -depth], [left + width, -depth], [left + width, depth], [left, depth]])
    centre = box.mean(axis=0)
    angle = rng.uniform(-0.5, 0.5)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    corners = ((box - centre) @ rotation.T + centre).astype(np.int32)
    cv2.fillConvexPoly(mask, corners, 1)
    if radius > 1:  # round the corners: close, then open, with a disc
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disc)
    return mask


def photograph(pure: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``pure`` photographed under a hard shadow (see the module's text), and the shade (1 in the
    light, below 1 in the shadow)."""
    h, w = pure.shape
    paper, ink = rng.uniform(0.72, 0.90), rng.uniform(0.08, 0.22)
    page = ink + (paper - ink) * pure.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.choice([0.0, h]), rng.choice([0.0, w])
    distance = np.hypot(yy - cy, xx - cx) / math.hypot(h, w)
    page *= 1.0 - rng.uniform(0.08, 0.25) * distance
    mask = (_hand if rng.random() < 0.5 else _phone)((h, w), rng).astype(np.float32)
    mask = np.rot90(mask, int(rng.integers(0, 4))) if h == w else _from_edge(mask, rng)
    penumbra = rng.uniform(2.0, 12.0)
    shade = 1.0 - rng.uniform(0.35, 0.65) * cv2.GaussianBlur(mask, (0, 0), penumbra)
    page *= shade
    page = cv2.GaussianBlur(page, (0, 0), rng.uniform(0.6, 1.1))
    page += rng.normal(0.0, rng.uniform(0.01, 0.03), page.shape).astype(np.float32)
    quality = int(rng.integers(70, 91))
    ok, encoded = cv2.imencode(".jpg", (np.clip(page, 0, 1) * 255).round().astype(np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])  # fmt: skip
    assert ok
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0, shade


def _from_edge(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``mask`` (reaching down from the top) turned to come from the top or the bottom edge, or
    mirrored left-right: the page is not square, so it is not rotated by a quarter."""
    if rng.random() < 0.5:
        mask = mask[::-1]
    if rng.random() < 0.5:
        mask = mask[:, ::-1]
    return np.ascontiguousarray(mask)


def affine_mapped(output: np.ndarray, pure: np.ndarray) -> np.ndarray:
    """``output`` under the least-squares gain and offset that bring it closest to ``pure``."""
    x = np.asarray(output, np.float64).ravel()
    design = np.stack([x, np.ones_like(x)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, np.asarray(pure, np.float64).ravel(), rcond=None)
    return (gain * x + offset).reshape(np.shape(output))


def affine_rmse(output: np.ndarray, pure: np.ndarray, where: np.ndarray | None = None) -> float:
    """RMSE of ``output`` against ``pure`` after the least-squares gain and offset (fitted on the
    whole page), over ``where`` (every pixel if None)."""
    error = (affine_mapped(output, pure) - pure) ** 2
    if where is not None:
        error = error[where]
    return math.sqrt(float(error.mean())) if error.size else 0.0


def rules_lost(
    output: np.ndarray, pure: np.ndarray, ruled: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[int, int]:
    """:func:`docclean.evaluation.harm.rules_lost` of ``output`` affinely mapped to ``pure``."""
    return harm.rules_lost(affine_mapped(output, pure).astype(np.float32), pure, ruled)


def pages(dpis: list[int], count: int, size: tuple[int, int]):
    """(name, photo, pure page, shade) for ``count`` seeds at each dpi."""
    for dpi in dpis:
        for seed in range(count):
            pure = harm.render_specimen(*size, dpi, seed=seed, margin_in=0.05).pixels
            rng = np.random.default_rng([dpi, seed, 4711])
            photo, shade = photograph(pure, rng)
            yield f"{dpi}dpi-s{seed}", photo, pure, shade


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="Model name or .keras path; repeat")
    parser.add_argument("--dpi", default="150,200", help="e.g. 150,200")
    parser.add_argument("--pages", type=int, default=3, help="Pages (seeds) per dpi")
    parser.add_argument("--size", type=page_size, default=(1400, 1000), help="HEIGHTxWIDTH in px")
    parser.add_argument("--save", type=Path, help="Write the photos and outputs here as PNG")
    parser.add_argument(
        "--turned", action="store_true", help="Clean each photo turned a quarter, then turn it back"
    )
    parser.add_argument("--json", type=Path, help="Also write the figures to this file")
    args = parser.parse_args(argv)

    methods = gray_methods(args.model)
    scores: dict[str, dict[str, list[float]]] = {
        m: {"page": [], "shadow": [], "light": [], "rules_lost": []} for m in methods
    }
    ruled_total = 0
    squares = dict.fromkeys(methods, 0.0)
    pixels = 0
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    dpis = [int(v) for v in args.dpi.split(",") if v.strip()]
    for name, photo, pure, shade in pages(dpis, args.pages, args.size):
        pixels += pure.size
        ruled = harm.rule_pixels(pure)
        ruled_total += int(ruled[0].sum() + ruled[1].sum())
        in_shadow, in_light = shade < 0.9, shade > 0.99
        if args.save:
            cv2.imwrite(
                str(args.save / f"{name}-photo.png"), (photo * 255).round().astype(np.uint8)
            )
        row = []
        for method, clean in methods.items():
            if args.turned:  # the page photographed sideways
                output = np.rot90(clean(np.ascontiguousarray(np.rot90(photo))), -1)
            else:
                output = clean(photo)
            output = np.ascontiguousarray(output, dtype=np.float32)
            page_rmse = affine_rmse(output, pure)
            squares[method] += page_rmse**2 * pure.size
            scores[method]["page"].append(page_rmse)
            scores[method]["shadow"].append(affine_rmse(output, pure, in_shadow))
            scores[method]["light"].append(affine_rmse(output, pure, in_light))
            scores[method]["rules_lost"].append(rules_lost(output, pure, ruled)[0])
            row.append(f"{method} {page_rmse:.4f}")
            if args.save:
                image = (np.clip(output, 0, 1) * 255).round().astype(np.uint8)
                cv2.imwrite(str(args.save / f"{name}-{method}.png"), image)
        print(f"{name}: " + ", ".join(row), file=sys.stderr, flush=True)
    print("| method | pages | RMSE after the best affine map (mean of pages) | pooled "
          f"| in the shadows | in the light | rule pixels lost (of {ruled_total:,}) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    figures = {}
    for method, by in scores.items():
        figures[method] = {
            "rmse": round(float(np.mean(by["page"])), 4),
            "rmse_pooled": round(math.sqrt(squares[method] / pixels), 4),
            "rmse_shadow": round(float(np.mean(by["shadow"])), 4),
            "rmse_light": round(float(np.mean(by["light"])), 4),
            "rule_pixels_lost": int(sum(by["rules_lost"])),
            "rule_pixels": ruled_total,
        }
        f = figures[method]
        print(f"| {method} | {len(by['page'])} | {f['rmse']:.4f} | {f['rmse_pooled']:.4f} "
              f"| {f['rmse_shadow']:.4f} | {f['rmse_light']:.4f} "
              f"| {f['rule_pixels_lost']:,} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
