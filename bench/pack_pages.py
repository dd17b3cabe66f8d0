"""Pack page pairs (or rendered clean pages) into one .npz for bench/train_long.py on another machine.

    python bench/pack_pages.py pairs ../shared/data/noisyoffice/train \
        ../shared/data/noisyoffice/train_cleaned .gpu/office.npz
    python bench/pack_pages.py pairs runs/dibco/noisy runs/dibco/clean .gpud/dibco.npz
    python bench/pack_pages.py rendered 240 .gpu/synth_clean.npz [--seed 12345]

Pages are read as docclean reads them (grayscale float in [0, 1]) and stored as uint8, and black
and white targets as bits (a format change only: 1/255 steps). ``rendered`` stores clean pages of
768 x 768 px from ``docclean.synth.generator.render_page``; train_long.py dirties them there with
``docclean.synth.generator``. The packed pages are data, not code: keep them out of the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    pairs = sub.add_parser("pairs")
    pairs.add_argument("noisy", type=Path)
    pairs.add_argument("clean", type=Path)
    pairs.add_argument("output", type=Path)
    rendered = sub.add_parser("rendered")
    rendered.add_argument("count", type=int)
    rendered.add_argument("output", type=Path)
    rendered.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()

    from docclean.evaluation.metrics import is_bilevel
    from docclean.io.images import to_uint8
    from docclean.training.data import find_pairs, load_pairs

    arrays: dict[str, np.ndarray] = {}
    if args.what == "pairs":
        paths, problems = find_pairs(args.noisy, args.clean)
        loaded, bad = load_pairs(paths)
        if problems or bad:
            raise SystemExit(f"unreadable or unpaired pages: {problems + bad}")
        for pair in loaded:
            arrays[f"noisy/{pair.name}"] = to_uint8(pair.noisy)
            if is_bilevel(pair.clean):
                white = pair.clean >= 0.5
                arrays[f"clean/{pair.name}"] = np.packbits(white, axis=-1)
                arrays[f"shape/{pair.name}"] = np.array(white.shape)
            else:
                arrays[f"clean/{pair.name}"] = to_uint8(pair.clean)
        print(f"{len(loaded)} pairs")
    else:
        from docclean.synth.generator import render_page

        rng = np.random.default_rng(args.seed)
        pages = [to_uint8(render_page(rng, (768, 768))) for _ in range(args.count)]
        arrays["pages"] = np.stack(pages)
        print(f"{args.count} rendered pages")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, allow_pickle=False, **arrays)


if __name__ == "__main__":
    main()
