"""Speed and memory of `docclean clean` on synthetic pages (prints a table, writes JSON).

    python bench/speed.py [--model NAME|PATH] [--sizes a4,1,4,16] [--repeats 3] [--json out.json]

Sizes are "a4" (2480x3508, A4 at 300 dpi) or megapixels (square pages). For each size it times the
model alone (PageCleaner.clean on a decoded page, after one warm-up) and `docclean clean` end to end
as a fresh process (start-up, TensorFlow import, model load, decode, clean, encode, write), and
reports medians and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

# Runs a command and prints its peak RSS in KiB (a fresh parent, so no other child is counted).
MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def synthetic_page(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A gray page with text-like strokes, a stain and noise, as uint8."""
    rng = np.random.default_rng(seed)
    page = np.full((height, width), 235, np.float32)
    for top in range(40, height - 40, 48):
        x = 60
        while x < width - 120:
            w = int(rng.integers(20, 90))
            page[top : top + 22, x : x + w] = 40
            x += w + 18
    yy, xx = np.ogrid[0:height, 0:width]
    page -= 60 * np.exp(
        -((yy - height / 3) ** 2 + (xx - width / 2) ** 2) / (2 * (0.2 * width) ** 2)
    )
    page += rng.normal(0, 8, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def size_of(spec: str) -> tuple[str, int, int]:
    if spec == "a4":
        return "A4 300 dpi", 3508, 2480
    side = int(math.sqrt(float(spec) * 1e6))
    return f"{spec} MP", side, side


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--sizes", default="a4,1,4,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from docclean.inference import PageCleaner
    from docclean.modelstore import load_model

    loaded = load_model(args.model)
    cleaner = PageCleaner(loaded, tile_size=args.tile_size, batch_size=args.batch_size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sizes.split(","):
            label, h, w = size_of(spec)
            page = synthetic_page(h, w)
            src = Path(tmp) / f"page-{spec}.png"
            Image.fromarray(page).save(src, dpi=(300, 300))
            pixels = page.astype(np.float32) / 255
            cleaner.clean(pixels[:64, :64])  # trace once
            model_times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                cleaner.clean(pixels)
                model_times.append(time.perf_counter() - started)
            e2e_times, rss = [], []
            for k in range(args.repeats):
                out = Path(tmp) / f"out-{spec}-{k}"
                cmd = [
                    sys.executable,
                    "-m",
                    "docclean",
                    "clean",
                    str(src),
                    "-o",
                    str(out),
                    "-q",
                    "--tile-size",
                    str(args.tile_size),
                    "--batch-size",
                    str(args.batch_size),
                ]
                if args.model:
                    cmd += ["--model", args.model]
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", MEASURE, *cmd],
                    check=True,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                )
                e2e_times.append(time.perf_counter() - started)
                rss.append(int(done.stdout.split()[-1]) / 1024)
            rows.append(
                {
                    "page": label,
                    "width": w,
                    "height": h,
                    "megapixels": round(h * w / 1e6, 2),
                    "model_s": round(statistics.median(model_times), 3),
                    "end_to_end_s": round(statistics.median(e2e_times), 3),
                    "peak_rss_mb": round(max(rss)),
                }
            )
            r = rows[-1]
            print(
                f"{r['page']:>12}  {r['width']}x{r['height']}  model {r['model_s']:.2f} s  "
                f"end to end {r['end_to_end_s']:.2f} s  peak RSS {r['peak_rss_mb']} MB",
                flush=True,
            )
    report = {
        "model": loaded.name,
        "tile_size": args.tile_size,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "rows": rows,
    }
    print("\n| page | pixels | model alone (s) | `docclean clean` end to end (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['page']} | {r['width']}x{r['height']} | {r['model_s']:.2f} | {r['end_to_end_s']:.2f} | {r['peak_rss_mb']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
