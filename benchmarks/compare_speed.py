"""Model-alone time per A4 page of two or more models, interleaved so machine drift hits all alike.

    python benchmarks/compare_speed.py MODEL MODEL [...] [--rounds 5]

Each model cleans the same synthetic A4 page (2480x3508 px at 300 dpi, light paper grain) with
PageCleaner after a warm-up call; the rounds alternate between the models. On a shared 2-core
machine whose speed drifts by 10-30 % over minutes, this tells whether one model is slower than
another better than two `benchmarks/speed.py` runs taken at different times. Prints each model's times
and median as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", help="shipped model names or .keras paths")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    page = 0.8 + 0.2 * np.random.default_rng(0).random((3508, 2480), np.float32)
    cleaners = {name: PageCleaner(load_model(name)) for name in args.models}
    for cleaner in cleaners.values():
        cleaner.clean(page)  # traces the graph
    times: dict[str, list[float]] = {name: [] for name in cleaners}
    for _ in range(args.rounds):
        for name, cleaner in cleaners.items():
            start = time.perf_counter()
            cleaner.clean(page)
            times[name].append(round(time.perf_counter() - start, 3))
    report = {name: {"seconds": t, "median": statistics.median(t)} for name, t in times.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
