"""Install a trained model into models/ (or zoo/) under a new name, completing its card:

    python lab/install_model.py runs/tu-tr.keras office-tone-unet-tr --into zoo \
        --validation-data "NoisyOffice VA, 72 whole pages" --validation-command "docclean evaluate ..." \
        [--reported-from runs/tu-tr.keras --validation-model zoo/office-tone-unet-tr.keras] \
        [--speed runs/speed-office.json]

The .keras file is copied byte for byte (its sha256 is checked against its card). The card gets the
new name and file, a validation `data` / `command` saying where its validation figure comes from
and how to reproduce it, and optionally:
  --reported-from MODEL: that model's validation figures as `reported_validation` (for a model
    trained on all data, whose figure comes from its validation twin, named by --validation-model);
  --speed JSON: the A4 row of `benchmarks/speed.py --json` as `speed` (seconds per page, in a batch
    and for the model alone, one fresh process, peak RSS) with the command that measured it;
  --commands-since MODEL: keep only the `docclean train` commands run since MODEL (the model the
    first kept command starts from, whose own card, in zoo/, holds the commands before it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("name")
    parser.add_argument("--into", type=Path, default=ROOT / "models", help="[default: models/]")
    parser.add_argument("--validation-data", default="")
    parser.add_argument("--validation-command", default="")
    parser.add_argument("--reported-from", type=Path, default=None)
    parser.add_argument("--validation-model", default="")
    parser.add_argument("--speed", type=Path, default=None)
    parser.add_argument("--commands-since", type=Path, default=None)
    args = parser.parse_args()

    from docclean.models.card import Speed, read_card, write_card
    from docclean.models.store import sha256_of

    card = read_card(args.source)
    if sha256_of(args.source) != card.sha256:
        raise SystemExit(f"{args.source}: sha256 differs from its card")
    target = args.into / f"{args.name}.keras"
    card = dataclasses.replace(card, name=args.name, file=target.name)
    where = {"data": args.validation_data, "command": args.validation_command}
    if card.validation and args.validation_data:
        card = dataclasses.replace(card, validation=dataclasses.replace(card.validation, **where))
    if args.reported_from:
        twin = read_card(args.reported_from).validation
        if twin is None:
            raise SystemExit(f"{args.reported_from}: its card has no validation figures")
        reported = dataclasses.replace(twin, validation_model=args.validation_model, **where)
        card = dataclasses.replace(card, reported_validation=reported)
    if args.commands_since and card.training:
        before = read_card(args.commands_since).training
        earlier = before.commands if before else []
        if card.training.commands[: len(earlier)] != earlier:
            raise SystemExit(
                f"{args.source}: its commands do not start with {args.commands_since}'s"
            )
        training = dataclasses.replace(
            card.training, commands=card.training.commands[len(earlier) :]
        )
        card = dataclasses.replace(card, training=training)
    if args.speed:
        speed = Speed.from_report(json.loads(args.speed.read_text()), args.name)
        card = dataclasses.replace(card, speed=speed)
    shutil.copyfile(args.source, target)
    write_card(target, card)
    print(f"{target} ({card.size_bytes or 0:,} bytes)")


if __name__ == "__main__":
    main()
