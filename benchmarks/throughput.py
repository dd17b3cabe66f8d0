"""Pages/s of the local engine and the Ray engine on this machine, and each one's time to first page.

    python benchmarks/throughput.py                 # 20 synthetic A4 pages at 300 dpi, default model
    python benchmarks/throughput.py --pages 8 --model zoo/office-tone-unet-tr.keras

Both engines clean the same folder of PNG pages into fresh folders, end to end (decode, clean,
encode, write), as `docclean clean` does. For each: time to first page (from the start, model
loading and for Ray its start-up included), steady pages/s (pages after the first over the time
from the first page's record to the last's), and pages/s over the whole run. The Ray engine runs
on an embedded local Ray with every core; its overhead per page is its steady seconds per page
minus the local engine's. The outputs of both are checked to be the same pixels.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

A4_300DPI = (3508, 2480)


def synthetic_page(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A gray A4 page: paper with a light gradient, lines of dark word blocks, noise (uint8)."""
    height, width = shape
    page = np.full(shape, 0.93, np.float32) - np.linspace(0, 0.08, width, dtype=np.float32)
    for top in range(200, height - 200, 60):
        x = 200 + int(rng.integers(0, 30))
        while x < width - 260:
            word = int(rng.integers(40, 200))
            page[top : top + 28, x : x + word] = rng.uniform(0.05, 0.3)
            x += word + int(rng.integers(20, 40))
    page += rng.normal(0, 0.03, shape).astype(np.float32)
    return np.round(np.clip(page, 0, 1) * 255).astype(np.uint8)


def run_engine(engine: str, inputs: Path, output: Path, model: str | None) -> dict[str, float]:
    """Clean ``inputs`` into ``output`` with one engine; times in seconds from the start."""
    from docclean.inference.batch import CleanJob, PageRecord, discover_inputs

    started = time.perf_counter()
    done: list[float] = []

    def on_record(record: PageRecord) -> None:
        if record.status == "done":
            done.append(time.perf_counter() - started)
        elif record.status == "failed":
            raise SystemExit(f"{engine}: {record.error}")

    files = list(discover_inputs([inputs]))
    if engine == "local":
        from docclean.cli.common import DeviceChoice, _page_cleaner

        job = CleanJob(files, output)
        job.prepare(on_record)
        job.clean_page = _page_cleaner(model, None, None, DeviceChoice.auto).clean
    else:
        from docclean.inference.ray_engine import CleanerSpec, RayCleanJob

        job = RayCleanJob(files, output, cleaner=CleanerSpec(model).resolved())
        job.prepare(on_record)
    job.run(on_record)
    total = time.perf_counter() - started
    steady = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 else float("nan")
    return {
        "pages": len(done),
        "first": done[0],
        "steady": steady,
        "overall": len(done) / total,
        "seconds": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--model", default=None, help="model name or path (default: the default)")
    parser.add_argument("--engines", default="local,ray")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="docclean-throughput-") as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for i in range(args.pages):
            Image.fromarray(synthetic_page(rng, A4_300DPI)).save(
                inputs / f"page{i:03d}.png", dpi=(300, 300), compress_level=1
            )
        print(f"{args.pages} synthetic A4 pages at 300 dpi, {os.cpu_count()} CPU cores")
        print("engine  pages  first page (s)  steady pages/s  overall pages/s  total (s)")
        results = {}
        for engine in args.engines.split(","):
            r = results[engine] = run_engine(engine, inputs, Path(tmp) / engine, args.model)
            print(
                f"{engine:6}  {r['pages']:5}  {r['first']:14.1f}  {r['steady']:14.3f}  "
                f"{r['overall']:15.3f}  {r['seconds']:9.1f}"
            )
        if {"local", "ray"} <= results.keys():
            local, ray = results["local"], results["ray"]
            per_page = 1 / ray["steady"] - 1 / local["steady"]
            print(
                f"Ray: {100 * ray['steady'] / local['steady']:.0f} % of the local engine's steady "
                f"pages/s ({100 * ray['overall'] / local['overall']:.0f} % overall); overhead "
                f"{per_page:+.3f} s per page, {ray['first'] - local['first']:+.1f} s to first page"
            )
            same = all(
                np.array_equal(
                    np.asarray(Image.open(p)), np.asarray(Image.open(Path(tmp) / "ray" / p.name))
                )
                for p in sorted((Path(tmp) / "local").glob("*.png"))
            )
            print(f"outputs identical pixel for pixel: {same}")


if __name__ == "__main__":
    main()
