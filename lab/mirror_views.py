"""What averaging a model over mirrored views gains, and at which decision level it binarizes best.

Runs each model on every validation page as it is and grown into its ``-mirrored`` architecture
(the average of its outputs on the page mirrored left-right and top-bottom,
:data:`docclean.models.architectures.MIRROR_AXES`), both tiled as ``docclean clean`` tiles, then scores
each as ``evaluate`` does: FM, pseudo-FM, PSNR and DRD for bilevel targets, thresholded at each of
``--levels`` (the decision level a ``-mirrored`` binarizer carries, :class:`docclean.models.layers.Recentre`),
or RMSE, PSNR and SSIM otherwise.

    python lab/mirror_views.py --data runs/pack/dibco.npz --val '2016*' \\
        --levels 0.5,0.55,0.6,0.65,0.7 runs/long/dB-tr-last.keras

Any ``.keras`` file of a docclean architecture loads (a training checkpoint too: its architecture
is read from the model's name); pages are packed by ``docclean train``'s pack step
(:func:`docclean.training.data.read_pack` reads them).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from docclean.evaluation.metrics import bilevel_scores, gray_scores, is_bilevel, mean_scores
from docclean.inference.tiling import TileConfig, default_margin, run_tiled
from docclean.training.data import Pair, read_name_list, read_pack


def read_names(spec: str, available: list[str]) -> list[str]:
    """Names as ``--val`` takes them (``a,b`` or ``@file``), where ``prefix*`` stands for every match."""
    names: list[str] = []
    for item in read_name_list(spec):
        names += [a for a in available if a.startswith(item[:-1])] if item.endswith("*") else [item]
    missing = sorted(set(names) - set(available))
    if missing:
        raise SystemExit(f"unknown page names: {missing[:5]}")
    return names


def tiled_outputs(model: Any, pairs: list[Pair], radius: int, stride: int) -> list[np.ndarray]:
    """The model's output on each whole page, the page cut into tiles as ``docclean clean`` does."""
    config = TileConfig(tile_size=512, margin=default_margin(radius, stride), batch_size=8)

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.asarray(model(batch[..., None], training=False))[..., 0]

    return [run_tiled(p.noisy, predict, config) for p in pairs]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="pages packed by docclean")
    ap.add_argument("--val", required=True, help="page names (a,b / @file / prefix*)")
    ap.add_argument("--levels", default="0.5", help="thresholds for bilevel targets: 0.5,0.6,...")
    args = ap.parse_args()

    import keras

    import docclean.models.layers  # noqa: F401  (registers docclean's layers for safe_mode loading)
    from docclean.backend import tensorflow
    from docclean.models.architectures import get_architecture, grow

    tensorflow()
    pages = {pair.name: pair for pair in read_pack(args.data)}
    pairs = [pages[n] for n in read_names(args.val, sorted(pages))]
    bilevel = all(is_bilevel(p.clean) for p in pairs)
    levels = [float(v) for v in args.levels.split(",")] if bilevel else [0.0]
    for path in args.models:
        plain = keras.saving.load_model(path, compile=False, safe_mode=True)
        arch = get_architecture(plain.name.replace("_", "-"))
        mirrored = grow(plain, get_architecture(f"{arch.name}-mirrored"))  # at level 0.5
        for kind, model in (("plain", plain), ("mirrored", mirrored)):
            outputs = tiled_outputs(model, pairs, arch.receptive_radius, arch.stride)
            for level in levels:
                rows = [
                    bilevel_scores(out >= level, p.clean) if bilevel else gray_scores(out, p.clean)
                    for out, p in zip(outputs, pairs, strict=True)
                ]
                figures = " ".join(f"{k} {v:.4g}" for k, v in mean_scores(rows).items())
                at = f"\tlevel {level:g}" if bilevel else ""
                print(f"{path.name}\t{kind}{at}\t{figures}", flush=True)


if __name__ == "__main__":
    main()
