"""Put a fresh speed measurement into a model's card, leaving the model file alone:

    python benchmarks/speed.py --model NAME --sizes a4 --repeats 3 --json speed.json
    python benchmarks/set_speed.py NAME|PATH speed.json

The card's `speed` block is rewritten as `lab/install_model.py --speed` writes it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="a shipped model's name or a .keras path")
    parser.add_argument("speed", type=Path, help="a benchmarks/speed.py --json report, A4 row")
    args = parser.parse_args()

    from docclean.models.card import Speed, read_card, write_card
    from docclean.models.store import resolve_model

    path = resolve_model(args.name)
    speed = Speed.from_report(json.loads(args.speed.read_text()), args.name)
    write_card(path, dataclasses.replace(read_card(path), speed=speed))
    print(f"{path.with_suffix('.json')}: {speed.a4_per_page_s} s per A4 page")


if __name__ == "__main__":
    main()
