"""The contact sheet of synthetic kinds: each degradation alone on a rendered page, and a
historical binarization pair.

    python lab/synth_kinds_sheet.py [-o docs/synth-kinds.png] [--tile 200] [--seed 0]

Each tile is a crop of a page rendered at 150-300 dpi (handwriting-like for the historical kinds)
with one kind applied, its name above it; the last two tiles are a historical pair (the aged page and
its bilevel target). Gray levels are stored in 6 bits to keep the file small.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
HANDWRITTEN = ("aged-paper", "iron-gall-ink", "verso-bleed")
COLUMNS = 6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "synth-kinds.png")
    parser.add_argument("--tile", type=int, default=200, help="tile side, px")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from docclean.io.images import to_uint8
    from docclean.synth.generator import DEGRADATIONS, historical_pair
    from docclean.synth.render import parse_scale, render_page

    scale = parse_scale("150-300")
    side, caption = args.tile, 16
    tiles: list[tuple[str, np.ndarray]] = []
    for n, (name, degrade) in enumerate(DEGRADATIONS.items()):
        rng = np.random.default_rng([args.seed, n])
        crop = (2 * side, 2 * side)  # drawn at twice the size, shown halved like a screen would
        page = render_page(rng, crop, scale.draw(rng), manuscript=name in HANDWRITTEN)
        while (page < 0.5).mean() < 0.04:  # a window on a margin shows nothing: another
            page = render_page(rng, crop, scale.draw(rng), manuscript=name in HANDWRITTEN)
        tiles.append((name, degrade(page, rng)))
    rng = np.random.default_rng([args.seed, 98])
    page = render_page(rng, (2 * side, 2 * side), 200.0, manuscript=True)
    noisy, target = historical_pair(page, rng)
    tiles += [("historical pair", noisy), ("... its target", target)]

    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("L", (COLUMNS * side, rows * (side + caption)), 255)
    draw = ImageDraw.Draw(sheet)
    for i, (name, pixels) in enumerate(tiles):
        x, y = (i % COLUMNS) * side, (i // COLUMNS) * (side + caption)
        image = Image.fromarray(to_uint8(pixels)).resize((side, side), Image.Resampling.BOX)
        sheet.paste(image, (x, y + caption))
        draw.text((x + 4, y + 2), name, fill=0)
    quantized = sheet.point(lambda v: (v >> 2) * 255 // 63)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    quantized.save(args.output, optimize=True)
    print(f"{args.output}: {len(tiles)} tiles, {args.output.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
