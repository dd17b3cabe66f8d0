"""Where a model's error lies on paired pages, and how much a pixel's neighbourhood could still fix.

    python lab/edge_error.py [--model NAME|PATH] [--noisy DIR --clean DIR]
                               [--names @zoo/noisyoffice-va.txt] [--radius 2]

1. The squared error split by what the target pixel is: paper (above 0.9), stroke edge (0.1 to
   0.9) or ink (below 0.1), with the RMSE on each and the RMSE the pages would have if that class
   were perfect; and the mean page RMSE by NoisyOffice noise kind (from ``manifest.csv``, if there).
2. A diagnosis, not a model: a ridge regression fitted on the pages *not* named by ``--names``
   (NoisyOffice TR) corrects each pixel of the model's output from the page's
   (2 * radius + 1)^2 neighbourhood, the output's 3x3 neighbourhood and their products with the
   output; its mean page RMSE on the ``--names`` pages (VA) says how much of the error a pixel's
   neighbours explain. tone-unet-edge was built on this: for the tone-unet-lin specialist twin it
   took VA from 0.0220 to 0.0204.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from docclean.training.data import find_pairs, load_pairs, read_name_list

D = Path("../shared/data/noisyoffice")
ZOO = Path(__file__).resolve().parents[1] / "zoo"
CLASSES = {
    "paper (> 0.9)": lambda c: c > 0.9,
    "edge (0.1-0.9)": lambda c: (c >= 0.1) & (c <= 0.9),
    "ink (< 0.1)": lambda c: c < 0.1,
}


def neighbourhood_features(noisy: np.ndarray, out: np.ndarray, radius: int) -> np.ndarray:
    """Per pixel: the page's neighbourhood, the output's 3x3, their products with the output, 1."""
    h, w = noisy.shape
    padded_page = np.pad(noisy, radius, mode="edge")
    padded_out = np.pad(out, 1, mode="edge")
    side = 2 * radius + 1
    columns = [padded_page[dy : dy + h, dx : dx + w] for dy in range(side) for dx in range(side)]
    columns += [padded_out[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
    base = np.stack(columns, -1)
    return np.concatenate([base, base * out[..., None], np.ones((h, w, 1))], -1).reshape(h * w, -1)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=str(ZOO / "noisyoffice-tone-unet-tr.keras"))
    ap.add_argument("--noisy", type=Path, default=D / "train")
    ap.add_argument("--clean", type=Path, default=D / "train_cleaned")
    ap.add_argument("--names", default=f"@{ZOO / 'noisyoffice-va.txt'}")
    ap.add_argument("--radius", type=int, default=2)
    args = ap.parse_args()

    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    held = set(read_name_list(args.names))
    paths, _ = find_pairs(args.noisy, args.clean)
    pairs, _ = load_pairs(paths)
    manifest = args.noisy.parent / "manifest.csv"
    kinds = (
        {row["id"]: row["noise"] for row in csv.DictReader(manifest.open())}
        if manifest.exists()
        else {}
    )
    cleaner = PageCleaner(load_model(args.model))

    total, count = 0.0, 0
    by_class = {name: [0.0, 0] for name in CLASSES}
    by_kind: dict[str, list[float]] = {}
    gram, moment = 0.0, 0.0
    held_out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for pair in pairs:
        out = cleaner.clean(pair.noisy)
        if pair.name not in held:
            features = neighbourhood_features(pair.noisy, out, args.radius)
            gram = gram + features.T @ features
            moment = moment + features.T @ (pair.clean - out).ravel()
            continue
        held_out.append((pair.noisy, out, pair.clean))  # features later: 125 MB a page
        squared = (out - pair.clean) ** 2
        total, count = total + squared.sum(), count + squared.size
        for name, select in CLASSES.items():
            mask = select(pair.clean)
            by_class[name][0] += squared[mask].sum()
            by_class[name][1] += mask.sum()
        by_kind.setdefault(kinds.get(pair.name, "all"), []).append(np.sqrt(squared.mean()))

    print(f"{args.model} on {len(held_out)} pages: RMSE pooled {np.sqrt(total / count):.5f}")
    for name, (squared_sum, pixels) in by_class.items():
        print(
            f"  {name:15s} {pixels / count:6.1%} of pixels, {squared_sum / total:6.1%} of the "
            f"squared error, RMSE {np.sqrt(squared_sum / pixels):.4f}; RMSE if perfect "
            f"{np.sqrt((total - squared_sum) / count):.5f}"
        )
    for kind, rmses in sorted(by_kind.items()):
        print(f"  {kind:15s} mean page RMSE {np.mean(rmses):.4f} ({len(rmses)} pages)")

    theta = np.linalg.solve(gram + 1e-3 * np.eye(np.size(moment)), moment)
    before = [np.sqrt(np.mean((out - clean) ** 2)) for _, out, clean in held_out]
    after = []
    for noisy, out, clean in held_out:
        corrected = out.ravel() + neighbourhood_features(noisy, out, args.radius) @ theta
        after.append(np.sqrt(np.mean((np.clip(corrected, 0, 1) - clean.ravel()) ** 2)))
    side = 2 * args.radius + 1
    print(
        f"mean page RMSE {np.mean(before):.5f}; with a linear correction from the {side}x{side} "
        f"neighbourhood fitted on the other pages: {np.mean(after):.5f}"
    )


if __name__ == "__main__":
    main()
