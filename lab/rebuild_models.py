"""Rebuild shipped models with their architecture's current build, weights unchanged, and re-score.

    python lab/rebuild_models.py --why "TEXT" [--names A,B] [--noisyoffice DIR] [--dibco-2016 DIR]

For an architecture that gained a weightless layer (as `despeckle` in front of `tone-unet` and
`fast-unet`): each model is loaded, its weights are copied into a fresh build and saved over the
old file with its card (new sha256, receptive radius and architecture summary; a `rebuilt` entry
records the date and --why). Validation twins (cards with a `validation` block) are then scored
again with `docclean.training.trainer.score_pages` on the data their card names: NoisyOffice VA
(zoo/noisyoffice-va.txt) under --noisyoffice, DIBCO 2016 pages staged by benchmarks/stage_dibco.sh
under --dibco-2016. Models trained on all data copy their twin's new figures into
`reported_validation`. A model whose data is not given keeps its figures and is named on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPUTED = ("schema", "receptive_radius", "stride", "file", "size_bytes", "sha256")
"""Card fields that save_model writes itself."""


def _validation_pairs(data: str, noisyoffice: Path | None, dibco: Path | None) -> list | None:
    """The pairs a twin's card was validated on (``data``, in words), or None when not given."""
    from docclean.training.data import find_pairs, load_pairs, read_name_list

    if data.startswith("NoisyOffice VA") and noisyoffice:
        names = set(read_name_list(f"@{ROOT / 'zoo' / 'noisyoffice-va.txt'}"))
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
    parser.add_argument(
        "--names", default=None, help="comma-separated names or paths [default: models/, zoo/]"
    )
    parser.add_argument("--noisyoffice", type=Path, default=None)
    parser.add_argument("--dibco-2016", type=Path, default=None)
    args = parser.parse_args()

    from docclean.models.architectures import get_architecture
    from docclean.models.card import write_card
    from docclean.models.store import load_model, save_model
    from docclean.training.trainer import score_pages

    every = sorted((ROOT / "models").glob("*.keras")) + sorted((ROOT / "zoo").glob("*.keras"))
    names = args.names.split(",") if args.names else [str(p) for p in every]
    today = datetime.date.today().isoformat()
    for name in names:
        loaded = load_model(name)
        facts = {k: v for k, v in loaded.card.to_dict().items() if k not in COMPUTED}
        facts["architecture_summary"] = get_architecture(loaded.card.architecture).summary
        facts["rebuilt"] = [*facts.get("rebuilt", []), {"date": today, "why": args.why}]
        saved = save_model(loaded.model, loaded.path, facts, overwrite=True)
        print(f"{loaded.path} ({saved.size_bytes or 0:,} bytes, {saved.sha256[:12]})")

    twins: dict[str, dict[str, float]] = {}
    for name in names:
        loaded = load_model(name)
        own = loaded.card.validation
        if own is None:
            continue
        pairs = _validation_pairs(own.data, args.noisyoffice, args.dibco_2016)
        if pairs is None:
            print(f"{name}: validation data not given; figures kept", file=sys.stderr)
            continue
        scores = score_pages(loaded, pairs)["model"]
        figures = {**own.scores, "model": scores}
        card = dataclasses.replace(loaded.card, validation=dataclasses.replace(own, scores=figures))
        write_card(loaded.path, card)
        twins[loaded.name] = scores
        print(f"{name}: {scores}", file=sys.stderr)
    for name in names:  # all-data models report their twin's figures
        loaded = load_model(name)
        reported = loaded.card.reported_validation
        twin = Path(reported.validation_model).stem if reported else ""
        if reported and twin in twins:
            figures = {**reported.scores, "model": twins[twin]}
            reported = dataclasses.replace(reported, scores=figures)
            write_card(loaded.path, dataclasses.replace(loaded.card, reported_validation=reported))


if __name__ == "__main__":
    main()
