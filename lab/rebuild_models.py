"""Rebuild shipped models with their architecture's current build, weights unchanged, and re-score.

    python bench/rebuild_models.py --why "TEXT" [--names A,B] [--noisyoffice DIR] [--dibco-2016 DIR]

For an architecture that gained a weightless layer (as `despeckle` in front of `tone-unet` and
`fast-unet`): each model is loaded, its weights are copied into a fresh build and saved over the
old file with its card (new sha256, receptive radius and architecture summary; a `rebuilt` entry
records the date and --why). Validation twins (cards with a `validation` block) are then scored
again with `docclean.training.trainer.score_pages` on the data their card names: NoisyOffice VA
(models/noisyoffice-va.txt) under --noisyoffice, DIBCO 2016 pages staged by bench/stage_dibco.sh
under --dibco-2016. Models trained on all data copy their twin's new figures into
`reported_validation`. A model whose data is not given keeps its figures and is named on stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

COMPUTED = ("schema", "receptive_radius", "stride", "file", "size_bytes", "sha256")
"""Card fields that save_model writes itself."""


def _validation_pairs(card: dict, noisyoffice: Path | None, dibco: Path | None) -> list | None:
    """The pairs a twin's card was validated on, or None when that data was not given."""
    from docclean.training.data import find_pairs, load_pairs, read_name_list

    data = card["validation"]["data"]
    if data.startswith("NoisyOffice VA") and noisyoffice:
        names = set(read_name_list("@models/noisyoffice-va.txt"))
        found, _ = find_pairs(noisyoffice / "train", noisyoffice / "train_cleaned")
        paths = [p for p in found if p.name in names]
    elif data.startswith("DIBCO 2016") and dibco:
        paths, _ = find_pairs(dibco / "noisy", dibco / "clean")
    else:
        return None
    pairs, problems = load_pairs(paths)
    if problems:
        raise SystemExit("\n".join(problems))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--why", required=True, help="what changed in the build")
    parser.add_argument("--names", default=None, help="comma-separated [default: every shipped]")
    parser.add_argument("--noisyoffice", type=Path, default=None)
    parser.add_argument("--dibco-2016", type=Path, default=None)
    args = parser.parse_args()

    from docclean.io.atomic import write_text_atomic
    from docclean.models.architectures import get_architecture
    from docclean.models.store import card_path, load_model, save_model, shipped_models
    from docclean.training.trainer import score_pages

    names = args.names.split(",") if args.names else sorted(shipped_models())
    today = datetime.date.today().isoformat()
    for name in names:
        loaded = load_model(name)
        card = {k: v for k, v in loaded.card.items() if k not in COMPUTED}
        card["architecture_summary"] = get_architecture(card["architecture"]).summary
        card["rebuilt"] = [*card.get("rebuilt", []), {"date": today, "why": args.why}]
        saved = save_model(loaded.model, loaded.path, card, overwrite=True)
        print(f"{loaded.path} ({saved['size_bytes']:,} bytes, {saved['sha256'][:12]})")

    def rewrite_card(path: Path, card: dict) -> None:
        write_text_atomic(card_path(path), json.dumps(card, indent=2) + "\n")

    twins: dict[str, dict] = {}
    for name in names:
        loaded = load_model(name)
        if not loaded.card.get("validation"):
            continue
        pairs = _validation_pairs(loaded.card, args.noisyoffice, args.dibco_2016)
        if pairs is None:
            print(f"{name}: validation data not given; figures kept", file=sys.stderr)
            continue
        scores = score_pages(loaded, pairs)
        loaded.card["validation"].update(model=scores["model"])
        twins[name] = loaded.card["validation"]
        rewrite_card(loaded.path, loaded.card)
        print(f"{name}: {scores['model']}", file=sys.stderr)
    for name in names:  # all-data models report their twin's figures
        loaded = load_model(name)
        reported = loaded.card.get("reported_validation")
        if reported and reported.get("validation_model") in twins:
            reported.update(model=twins[reported["validation_model"]]["model"])
            rewrite_card(loaded.path, loaded.card)


if __name__ == "__main__":
    main()
