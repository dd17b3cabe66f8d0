"""Generalization: shipped models on synthetic pages, one degradation kind at a time (table + JSON).

    python bench/generalization.py [--models NAME,NAME] [--kinds K,K] [--pages 4] [--size 768]
                                   [--seed 0] [--json FILE]

The shipped models are trained on real scans only (NoisyOffice, DIBCO), never on `docclean synth`
pages, so every kind here is one their training left out. For each kind, --pages clean pages are
rendered (`docclean.synth.render_page`) and dirtied with that kind alone; each method's output is
scored against the clean page with RMSE (lower is better): no cleaning, Sauvola thresholding
(scikit-image, window 25) and each model (bilevel models thresholded at 0.5, as `clean
--binarize` does). The last row is the mean over kinds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", default=None, help="comma-separated [default: every shipped]")
    parser.add_argument("--kinds", default=None, help="comma-separated [default: every kind]")
    parser.add_argument("--pages", type=int, default=4, help="pages per kind")
    parser.add_argument("--size", type=int, default=768, help="page side, px")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    from docclean.baselines import sauvola
    from docclean.inference import PageCleaner
    from docclean.metrics import rmse
    from docclean.modelstore import load_model, shipped_models
    from docclean.synth import make_pair, render_page, resolve_kinds

    names = args.models.split(",") if args.models else sorted(shipped_models())
    cleaners = {}
    for name in names:
        loaded = load_model(name)
        cleaners[name] = PageCleaner(loaded, binarize=loaded.card.get("output_kind") == "bilevel")
    methods = ["no_cleaning", "sauvola", *cleaners]
    kinds = resolve_kinds(args.kinds.split(",") if args.kinds else None)
    rows = []
    for number, kind in enumerate(kinds):
        rng = np.random.default_rng([args.seed, number])
        scores: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.pages):
            page = render_page(rng, (args.size, args.size))
            noisy, clean = make_pair(page, rng, kinds=[kind], mix=False)
            outputs = {"no_cleaning": noisy, "sauvola": sauvola(noisy)}
            outputs.update({name: c.clean(noisy) for name, c in cleaners.items()})
            for method, output in outputs.items():
                scores[method].append(rmse(np.asarray(output, np.float32), clean))
        row = {"kind": kind, **{m: round(float(np.mean(v)), 5) for m, v in scores.items()}}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    mean = {"kind": "mean", **{m: round(float(np.mean([r[m] for r in rows])), 5) for m in methods}}
    print("| kind | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for row in [*rows, mean]:
        best = min(row[m] for m in methods)
        cells = [f"**{row[m]:.4f}**" if row[m] == best else f"{row[m]:.4f}" for m in methods]
        print(f"| {row['kind']} | " + " | ".join(cells) + " |")
    report = {"pages_per_kind": args.pages, "size": args.size, "seed": args.seed,
              "metric": "rmse", "rows": rows, "mean": mean}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
