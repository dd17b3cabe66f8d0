"""The README picture: sample scans beside what a model makes of them.

    python lab/before_after.py [--model zoo/office-tone-unet-tr.keras] [-o docs/before-after.png]

Two pages of `sample_scans/` (a coffee ring, a wrinkled sheet), each as it is on the left and
cleaned on the right, stacked, with a caption line over each column.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PAGES = ("noisyoffice-27-coffee.png", "noisyoffice-36-wrinkled.png")
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "zoo" / "office-tone-unet-tr.keras"))
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "before-after.png")
    args = parser.parse_args()

    from docclean.inference.cleaner import PageCleaner
    from docclean.io.images import read_image, to_uint8
    from docclean.models.store import load_model

    cleaner = PageCleaner(load_model(args.model))
    rows = []
    for name in PAGES:
        page = read_image(ROOT / "sample_scans" / name).pixels
        rows.append(np.hstack([to_uint8(page), np.full((page.shape[0], 12), 255, np.uint8),
                               to_uint8(cleaner.clean(page))]))  # fmt: skip
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 12), (0, width - r.shape[1])), constant_values=255) for r in rows]
    header = np.full((22, width), 255, np.uint8)
    picture = Image.fromarray(np.vstack([header, *rows]))
    draw = ImageDraw.Draw(picture)
    draw.text((4, 4), "scan (sample_scans/)", fill=0)
    draw.text((width // 2 + 6, 4), f"docclean clean --model {args.model}", fill=0)
    picture.save(args.output, optimize=True)
    print(args.output)


if __name__ == "__main__":
    main()
