"""Put a fresh speed measurement into a shipped model's card, leaving the model file alone:

    python bench/speed.py --model NAME --sizes a4 --repeats 3 --json speed.json
    python bench/set_speed.py NAME speed.json

The card's `speed` block is rewritten as `bench/install_model.py --speed` writes it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from install_model import MODELS, speed_block


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name")
    parser.add_argument("speed", type=Path, help="a bench/speed.py --json report with an A4 row")
    args = parser.parse_args()

    from docclean.io.atomic import write_text_atomic

    path = MODELS / f"{args.name}.json"
    card = json.loads(path.read_text())
    card["speed"] = speed_block(json.loads(args.speed.read_text()), args.name)
    write_text_atomic(path, json.dumps(card, indent=2) + "\n")
    print(f"{path}: {card['speed']['a4_per_page_s']} s per A4 page")


if __name__ == "__main__":
    main()
