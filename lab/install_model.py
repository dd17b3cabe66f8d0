"""Install a trained model into models/ under a new name, completing its card for shipping.

    python bench/install_model.py runs/tu-tr.keras office-tone-unet-tr \
        --validation-data "NoisyOffice VA, 72 whole pages" --validation-command "docclean evaluate ..." \
        [--reported-from runs/tu-tr.json --validation-model office-tone-unet-tr] \
        [--speed runs/speed-office.json]

The .keras file is copied byte for byte (its sha256 is checked against its card). The card gets the
new name and file, a `validation.data` / `validation.command` saying where its validation figure comes
from and how to reproduce it, and optionally:
  --reported-from CARD: that card's validation block as `reported_validation` (for a model trained
    on all data, whose figure comes from its validation twin, named by --validation-model);
  --speed JSON: the A4 row of `bench/speed.py --json` as `speed` (seconds per page, in a batch and
    for the model alone, one fresh process, peak RSS) with the command that measured it.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent / "models"


def speed_block(speed: dict, name: str) -> dict:
    """A card's `speed` block: the A4 row of a `bench/speed.py --json` report, with its command."""
    row = next(r for r in speed["rows"] if r["page"].startswith("A4"))
    return {
        "a4_per_page_s": row["docclean_per_page_s"],
        "a4_model_s": row["model_s"],
        "a4_one_page_run_s": row["docclean_s"],
        "a4_one_page_run_rss_mb": row["docclean_rss_mb"],
        "tile_size": speed["tile_size"],
        "batch_size": speed["batch_size"],
        "machine": f"{speed['cpus']} CPU cores, {speed['machine']}, no GPU",
        "command": f"python bench/speed.py --model {name} --sizes a4 --repeats 3",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("name")
    parser.add_argument("--validation-data", default=None)
    parser.add_argument("--validation-command", default=None)
    parser.add_argument("--reported-from", type=Path, default=None)
    parser.add_argument("--validation-model", default=None)
    parser.add_argument("--speed", type=Path, default=None)
    args = parser.parse_args()

    from docclean.models.store import card_path, read_card, sha256_of

    card = read_card(args.source)
    if sha256_of(args.source) != card["sha256"]:
        raise SystemExit(f"{args.source}: sha256 differs from its card")
    target = MODELS / f"{args.name}.keras"
    card.update(name=args.name, file=target.name)
    if card.get("validation") and args.validation_data:
        card["validation"].update(data=args.validation_data, command=args.validation_command)
    if args.reported_from:
        reported = dict(json.loads(args.reported_from.read_text())["validation"])
        reported.update(validation_model=args.validation_model, data=args.validation_data,
                        command=args.validation_command)  # fmt: skip
        card["reported_validation"] = reported
    if args.speed:
        card["speed"] = speed_block(json.loads(args.speed.read_text()), args.name)
    shutil.copyfile(args.source, target)
    card_path(target).write_text(json.dumps(card, indent=2) + "\n")
    print(f"{target} ({card['size_bytes']:,} bytes)")


if __name__ == "__main__":
    main()
