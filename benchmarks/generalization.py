"""Generalization: models on synthetic pages, one degradation kind at a time (table + JSON).

    python benchmarks/generalization.py [--models NAME|PATH,...] [--kinds K,K] [--pages 4] [--size 768]
                                   [--seed 0 | --seed 0,1,2,3] [--json FILE]

For each kind and seed, --pages clean pages are rendered (`docclean.synth.generator.render_page`; the random
generator is seeded with the seed and the kind's index among every kind, so a kind's pages are the
same whatever --kinds asks for) and dirtied with that kind alone; each method's output is scored
against the clean page with RMSE (lower is better): no cleaning, Sauvola thresholding
(scikit-image, window 25) and each model (bilevel models thresholded at 0.5, as `clean --binarize`
does).

A model's card says which kinds its training never saw (`never_seen_kinds`, over the models it was
fine-tuned from). --models takes shipped names or paths (`zoo/office-tone-unet-tr-e.keras`, or
`zoo/office-tone-unet-tr-e`); by default every shipped model and every held-out twin in zoo/.
Its score on a kind it saw is shown in parentheses and left out of its mean; the "left out" column
is, for each kind, the mean score of the models that never saw it, so models trained with
complementary `--synthetic-exclude` lists together cover every kind. The mean row averages the
kinds each column was scored on. `rotation` tilts the clean page too, so "no cleaning" is exact
there by construction: it is shown but not counted in the means. A model that takes pages at full
contrast (card `input_levels: paper-ink`, the default) is scored against the clean page at full
contrast (the rendered pages' gray ink black), as it learnt it; the other methods against the page
as rendered.

A mean can hide a few pages lost by much or many lost by a little, so a second table counts, for
each model and each kind it never saw, the pages on which it beat both no cleaning and Sauvola.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from _common import method_name

if TYPE_CHECKING:
    from docclean.models.card import ModelCard

ZOO = Path(__file__).resolve().parents[1] / "zoo"

NOT_COUNTED = {"rotation"}
"""Kinds left out of the means: rotation moves the target too, so no cleaning is exact there."""


def _unseen_kinds(card: ModelCard) -> set[str]:
    """The degradation kinds a model's training never saw, from its card."""
    from docclean.synth.generator import DEGRADATIONS

    return set(card.training.never_seen_kinds if card.training else DEGRADATIONS)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", default=None, help="comma-separated [default: shipped and zoo/*-tr-?]"
    )
    parser.add_argument("--kinds", default=None, help="comma-separated [default: every kind]")
    parser.add_argument("--pages", type=int, default=4, help="pages per kind")
    parser.add_argument("--size", type=int, default=768, help="page side, px")
    parser.add_argument("--seed", default="0", help="one seed, or several comma-separated")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    from docclean.evaluation.baselines import sauvola
    from docclean.evaluation.metrics import rmse
    from docclean.inference.cleaner import PageCleaner
    from docclean.inference.levels import normalize_levels as leveled
    from docclean.models.store import load_model, shipped_models
    from docclean.synth.generator import DEGRADATIONS, make_pair, render_page, resolve_kinds

    twins = [str(p) for p in sorted(ZOO.glob("*-tr-?.keras"))]
    names = args.models.split(",") if args.models else [*sorted(shipped_models()), *twins]
    cleaners = {}
    for name in names:
        loaded = load_model(name)
        cleaners[method_name(loaded.name, name, cleaners)] = PageCleaner(
            loaded, binarize=loaded.card.is_bilevel
        )
    unseen = {name: _unseen_kinds(c.loaded.card) for name, c in cleaners.items()}
    paper_ink = {n for n, c in cleaners.items() if c.loaded.card.input_levels == "paper-ink"}
    methods = ["no_cleaning", "sauvola", *cleaners]
    kinds = resolve_kinds(args.kinds.split(",") if args.kinds else None)
    seeds = [int(seed) for seed in args.seed.split(",")]
    rows = []
    for kind in kinds:
        number = list(DEGRADATIONS).index(kind)  # a kind's pages do not depend on --kinds
        scores: dict[str, list[float]] = {m: [] for m in methods}
        for seed in seeds:
            rng = np.random.default_rng([seed, number])
            for _ in range(args.pages):
                page = render_page(rng, (args.size, args.size))
                noisy, clean = make_pair(page, rng, kinds=[kind], mix=False)
                outputs = {"no_cleaning": noisy, "sauvola": sauvola(noisy)}
                outputs.update({name: c.clean(noisy) for name, c in cleaners.items()})
                for method, output in outputs.items():
                    target = leveled(clean) if method in paper_ink else clean
                    scores[method].append(rmse(np.asarray(output, np.float32), target))
        row: dict = {"kind": kind, **{m: round(float(np.mean(v)), 5) for m, v in scores.items()}}
        row["seen_by"] = [name for name in cleaners if kind not in unseen[name]]
        left_out = [row[name] for name in cleaners if kind in unseen[name]]
        row["left_out"] = round(float(np.mean(left_out)), 5) if left_out else None
        baseline = np.minimum(scores["no_cleaning"], scores["sauvola"])
        row["pages_won"] = {
            name: int(np.sum(np.asarray(scores[name]) < baseline))
            for name in cleaners
            if kind in unseen[name]
        }
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    columns = [*methods, "left_out"]
    counted = [r for r in rows if r["kind"] not in NOT_COUNTED]
    mean: dict = {"kind": "mean"}
    for m in columns:
        values = [r[m] for r in counted if r[m] is not None and m not in r["seen_by"]]
        mean[m] = round(float(np.mean(values)), 5) if values else None
    mean["seen_by"] = []
    print("| kind | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for row in [*rows, mean]:
        fair = [row[m] for m in columns if row[m] is not None and m not in row["seen_by"]]
        cells = []
        for m in columns:
            value = row[m]
            if value is None:
                cells.append("")
            elif m in row["seen_by"]:
                cells.append(f"({value:.4f})")
            else:
                cells.append(f"**{value:.4f}**" if value == min(fair) else f"{value:.4f}")
        print(f"| {row['kind']} | " + " | ".join(cells) + " |")
    pages = args.pages * len(seeds)
    print(f"\nPages (of {pages}) on which a model that never saw the kind beat both no cleaning"
          " and Sauvola:\n")  # fmt: skip
    held_out = [name for name in cleaners if unseen[name] & set(kinds)]
    print("| kind | " + " | ".join(held_out) + " |")
    print("|---" * (len(held_out) + 1) + "|")
    for row in rows:
        won = row["pages_won"]
        cells = [str(won[name]) if name in won else "" for name in held_out]
        print(f"| {row['kind']} | " + " | ".join(cells) + " |")
    report = {"pages_per_kind": pages, "size": args.size, "seeds": seeds,
              "metric": "rmse", "not_counted": sorted(NOT_COUNTED), "rows": rows,
              "mean": mean}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
