"""Speed and peak memory of docclean beside classic cleaners, by page size (table + JSON).

    python benchmarks/speed.py [--model NAME|PATH] [--sizes a4,1,4,16,70] [--repeats 3] [--batch-pages 10]
                          [--json FILE]

Sizes are "a4" (2480x3508 px, A4 at 300 dpi) or megapixels (square pages). On the same synthetic
grayscale page, each size times:
  - `docclean clean` (with `--binarize` for a binarization model) end to end as a fresh process
    (start-up, TensorFlow import, model load, PNG decode, tiled inference, PNG encode, atomic
    write), with that process's peak RSS;
  - `docclean clean` per page in a batch: one process cleaning --batch-pages copies of the page
    (median of --repeats runs),
    minus the one-page run, over the extra pages (what each page costs once the process is up:
    decode, inference, encode and write, with reading and writing overlapped by the pipeline);
  - the model alone: PageCleaner.clean on the decoded page, after a warm-up call;
  - unpaper as a process on a PGM of the page (its filters only), with its peak RSS, if installed;
  - Sauvola thresholding in process (scikit-image, window 25).
Every figure is the median of --repeats runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

# Runs a command and prints its peak RSS in KiB (a fresh parent, so no other child is counted).
MEASURE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
    "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
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


def timed_process(command: list[str], repeats: int) -> tuple[float, float]:
    """Median wall seconds and peak RSS (MB) of a command run as a fresh process."""
    seconds, rss = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, *command],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        seconds.append(time.perf_counter() - started)
        rss.append(int(done.stdout.split()[-1]) / 1024)
    return statistics.median(seconds), max(rss)


def timed_call(function: Callable[[], object], repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="model name or path [default model]")
    parser.add_argument("--sizes", default="a4,1,4,16,70")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile-size", type=int, default=None, help="[default: the model's]")
    parser.add_argument("--batch-size", type=int, default=None, help="[default: the model's]")
    parser.add_argument("--batch-pages", type=int, default=10, help="pages in the batch run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    from docclean.evaluation.baselines import sauvola
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    loaded = load_model(args.model)
    cleaner = PageCleaner(loaded, tile_size=args.tile_size, batch_size=args.batch_size)
    cleaner.clean(np.ones((64, 64), np.float32))  # trace the graph once
    has_unpaper = shutil.which("unpaper") is not None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.sizes.split(","):
            label, h, w = size_of(spec)
            page = synthetic_page(h, w)
            src, pgm = Path(tmp) / f"page-{spec}.png", Path(tmp) / f"page-{spec}.pgm"
            Image.fromarray(page).save(src, dpi=(300, 300))
            Image.fromarray(page).save(pgm)
            pixels = page.astype(np.float32) / 255
            options = ["-q", "--overwrite", "-o", str(Path(tmp) / "out")]
            if args.tile_size:  # else the layout `clean` picks for the page, as users get it
                options += ["--tile-size", str(args.tile_size)]
            if args.batch_size:
                options += ["--batch-size", str(args.batch_size)]
            if args.model:
                options += ["--model", args.model]
            if loaded.card.is_bilevel:  # a binarizer is timed as `clean --binarize` runs it
                options.append("--binarize")
            clean_cmd = [sys.executable, "-m", "docclean", "clean", str(src), *options]
            e2e, e2e_rss = timed_process(clean_cmd, args.repeats)
            folder = Path(tmp) / f"batch-{spec}"
            folder.mkdir()
            for k in range(args.batch_pages):
                shutil.copyfile(src, folder / f"page{k:03d}.png")
            batch_cmd = [sys.executable, "-m", "docclean", "clean", str(folder), *options]
            batch_s, _ = timed_process(batch_cmd, args.repeats)
            per_page = (batch_s - e2e) / max(args.batch_pages - 1, 1)
            layout = cleaner.config_for(h, w).shape
            row = {
                "page": label,
                "tile": f"{layout[0]}x{layout[1]}",
                "width": w,
                "height": h,
                "megapixels": round(h * w / 1e6, 2),
                "docclean_s": round(e2e, 3),
                "docclean_rss_mb": round(e2e_rss),
                "docclean_per_page_s": round(per_page, 3),
                "model_s": round(
                    timed_call(functools.partial(cleaner.clean, pixels), args.repeats), 3
                ),
                "sauvola_s": round(timed_call(functools.partial(sauvola, pixels), args.repeats), 3),
                "unpaper_s": None,
                "unpaper_rss_mb": None,
            }
            if has_unpaper:
                unpaper_cmd = ["unpaper", "--layout", "none", "--no-deskew", "--no-mask-scan",
                               "--no-mask-center", "--no-border-scan", "--no-border-align", "-q",
                               "--overwrite", str(pgm), str(Path(tmp) / "unpaper.pgm")]  # fmt: skip
                seconds, rss = timed_process(unpaper_cmd, args.repeats)
                row["unpaper_s"], row["unpaper_rss_mb"] = round(seconds, 3), round(rss)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    report = {
        "model": loaded.name,
        "tile_size": cleaner.config.tile_size,
        "batch_size": cleaner.config.batch_size,
        "batch_pages": args.batch_pages,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "rows": rows,
    }
    print(
        "| page | pixels | `docclean clean`, 1 page (s) | its peak RSS (MB) "
        "| per page in a batch (s) | model alone (s) | unpaper (s) | unpaper RSS (MB) "
        "| Sauvola (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        unpaper = (f"{r['unpaper_s']:.2f} | {r['unpaper_rss_mb']}" if r["unpaper_s"] is not None
                   else "not installed | -")  # fmt: skip
        print(
            f"| {r['page']} | {r['width']}x{r['height']} | {r['docclean_s']:.2f} "
            f"| {r['docclean_rss_mb']} | {r['docclean_per_page_s']:.2f} | {r['model_s']:.2f} "
            f"| {unpaper} | {r['sauvola_s']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
