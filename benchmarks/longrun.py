"""Long runs: does one process clean thousands of pages without its memory growing?

    python benchmarks/longrun.py [--pages 1000] [--size 300x400] [--model NAME|PATH] [--every 100]
                            [--max-growth-mb 100] [--jobs 2] [--json FILE]

Writes ``--pages`` small synthetic pages (WIDTHxHEIGHT) to a temporary folder and cleans them all
in this one process through the library (CleanJob + PageCleaner, the default shipped model unless
``--model``), as `docclean clean` does. It reads this process's resident memory (VmRSS in
/proc/self/status) after a warm-up page, every ``--every`` files and at the end, with the
throughput of each stretch, prints a table, and exits 1 when RSS grew by more than
``--max-growth-mb`` from the warm start (2 when a page failed). A benchmark that prints figures,
not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import SMALL_PAGE_STROKES, rss_mb, synthetic_page
from PIL import Image


def write_pages(folder: Path, count: int, width: int, height: int) -> None:
    """``count`` PNG pages (16 distinct ones, repeated under different names)."""
    rng = np.random.default_rng(0)
    distinct = [synthetic_page(height, width, SMALL_PAGE_STROKES, rng) for _ in range(16)]
    for n in range(count):
        Image.fromarray(distinct[n % len(distinct)]).save(folder / f"page{n:05d}.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--size", default="300x400", help="WIDTHxHEIGHT of each page")
    parser.add_argument("--model", default=None, help="shipped model name or .keras path")
    parser.add_argument("--every", type=int, default=100, help="files between RSS readings")
    parser.add_argument("--max-growth-mb", type=float, default=100.0)
    parser.add_argument("--tile-size", type=int, default=None, help="[default: the model's]")
    parser.add_argument("--batch-size", type=int, default=None, help="[default: the model's]")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from docclean.errors import DocCleanError
    from docclean.inference.batch import CleanJob, PageRecord, discover_inputs
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    try:
        loaded = load_model(args.model)
    except DocCleanError as exc:
        print(f"error: {exc} (give one with --model)", file=sys.stderr)
        return 2
    cleaner = PageCleaner(loaded, tile_size=args.tile_size, batch_size=args.batch_size)

    with tempfile.TemporaryDirectory(prefix="docclean-longrun-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        write_pages(src, args.pages, width, height)
        cleaner.clean(np.full((height, width), 0.9, np.float32))  # warm-up: trace the graph
        inputs = list(discover_inputs([src], out))
        job = CleanJob(inputs, out, clean_page=cleaner.clean, jobs=args.jobs)

        start_rss = rss_mb()
        started = last_time = time.perf_counter()
        rows: list[dict[str, float]] = [
            {"files": 0, "rss_mb": start_rss, "growth_mb": 0.0, "seconds": 0.0, "pages_per_s": 0.0}
        ]
        failed: list[str] = []
        files = 0

        def on_record(record: PageRecord) -> None:
            nonlocal files, last_time
            if record.status == "failed":
                failed.append(record.error or record.input)
            files += 1
            if files % args.every == 0 or files == len(inputs):
                now = time.perf_counter()
                stretch = files - int(rows[-1]["files"])
                rss = rss_mb()
                rows.append(
                    {
                        "files": files,
                        "rss_mb": rss,
                        "growth_mb": rss - start_rss,
                        "seconds": now - last_time,
                        "pages_per_s": stretch / (now - last_time) if now > last_time else 0.0,
                    }
                )
                last_time = now

        summary = job.run(on_record)
        total = time.perf_counter() - started

    print(
        f"docclean long run: {args.pages} pages of {width}x{height} px, model {loaded.name}, "
        f"tile {cleaner.config.tile_size}, batch {cleaner.config.batch_size}, jobs {args.jobs}, "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"{'files':>7} {'RSS MiB':>9} {'growth':>8} {'seconds':>8} {'pages/s':>8}")
    for row in rows:
        print(
            f"{int(row['files']):>7} {row['rss_mb']:>9.1f} {row['growth_mb']:>+8.1f} "
            f"{row['seconds']:>8.2f} {row['pages_per_s']:>8.2f}"
        )
    growth = rows[-1]["rss_mb"] - start_rss
    peak = max(row["rss_mb"] for row in rows) - start_rss
    print(
        f"cleaned {summary.pages_done} page(s) in {total:.1f} s ({summary.pages_done / total:.2f} "
        f"pages/s); RSS grew {growth:+.1f} MiB (peak {peak:+.1f} MiB), "
        f"limit {args.max_growth_mb:g} MiB"
    )
    if args.json is not None:
        report = {"pages": args.pages, "size": [width, height], "model": loaded.name, "rows": rows}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if failed:
        print(f"error: {len(failed)} page(s) failed, first: {failed[0]}", file=sys.stderr)
        return 2
    if growth > args.max_growth_mb:
        print(f"error: RSS grew by {growth:.1f} MiB over the run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
