"""Peak memory of one process cleaning a long PDF: flat in the number of pages?

    python benchmarks/memory_pages.py [--pages 300] [--model NAME|PATH] [--dpi 300] [--jobs 2]
                                      [--tile-size N] [--batch-size N] [--json FILE]

Makes an A4 PDF of ``--pages`` scanned-looking pages (one synthetic 2480x3508 page at 300 dpi,
stored once as JPEG and repeated by img2pdf, so it is cheap to make) and cleans it in this one
process through the library as `docclean clean` does (CleanJob + PageCleaner; the default shipped
model unless ``--model``), into a PDF. Prints the pages, the seconds, the resident memory after the
model loaded and the peak resident memory of the process (getrusage ru_maxrss), and exits 1 when
the peak is over ``--max-rss-mb`` (default 2048). A benchmark that prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import A4_300DPI_STROKES, rss_mb, synthetic_page
from PIL import Image

A4_300DPI = (2480, 3508)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_pdf(path: Path, pages: int) -> None:
    """An A4 PDF of ``pages`` copies of one synthetic scan (JPEG data, embedded as it is)."""
    import img2pdf

    buffer = io.BytesIO()
    width, height = A4_300DPI
    page = synthetic_page(height, width, A4_300DPI_STROKES, np.random.default_rng(0))
    Image.fromarray(page).save(buffer, format="JPEG", quality=80, dpi=(300, 300))
    data = buffer.getvalue()
    path.write_bytes(img2pdf.convert([data] * pages))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--model", default=None, help="shipped name or .keras path")
    parser.add_argument("--dpi", type=float, default=None, help="render the PDF at this DPI")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--max-rss-mb", type=float, default=2048.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from docclean.inference.batch import CleanJob, PageRecord, discover_inputs
    from docclean.inference.cleaner import PageCleaner
    from docclean.io.images import read_pages
    from docclean.models.store import load_model

    cleaner = PageCleaner(
        load_model(args.model), tile_size=args.tile_size, batch_size=args.batch_size
    )
    with tempfile.TemporaryDirectory(prefix="docclean-memory-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        made = time.perf_counter()
        make_pdf(src / "long.pdf", args.pages)
        made = time.perf_counter() - made
        cleaner.clean(np.full((A4_300DPI[1], A4_300DPI[0]), 0.9, np.float32))  # trace the graph
        ready_rss = rss_mb()
        failed: list[str] = []

        def on_record(record: PageRecord) -> None:
            if record.status == "failed":
                failed.append(record.error or record.input)

        job = CleanJob(
            list(discover_inputs([src], out)),
            out,
            clean_page=cleaner.clean,
            dpi=args.dpi,
            jobs=args.jobs,
        )
        started = time.perf_counter()
        summary = job.run(on_record)
        seconds = time.perf_counter() - started
        written = sum(1 for _ in read_pages(out / "long.pdf")) if not failed else 0
        figures = {
            "pages": args.pages,
            "pages_written": written,
            "pdf_mb": round((src / "long.pdf").stat().st_size / 2**20, 1),
            "output_mb": round((out / "long.pdf").stat().st_size / 2**20, 1) if written else 0,
            "seconds": round(seconds, 1),
            "pages_per_s": round(summary.pages_done / seconds, 3) if seconds else 0.0,
            "rss_after_model_mb": round(ready_rss),
            "peak_rss_mb": round(peak_rss_mb()),
            "model": cleaner.loaded.name,
            "jobs": args.jobs,
            "seconds_to_make_pdf": round(made, 1),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        }
    for key, value in figures.items():
        print(f"{key:20} {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if failed:
        print("failed: " + "; ".join(failed), file=sys.stderr)
        return 2
    return 0 if figures["peak_rss_mb"] <= args.max_rss_mb and written == args.pages else 1


if __name__ == "__main__":
    sys.exit(main())
