"""The models' table for README.md, models/README.md and zoo/README.md, from their cards.

    python benchmarks/model_table.py [FOLDER]

One row per model (the shipped ones, or those in FOLDER, such as zoo): name, what it is for,
parameters, FLOPs per pixel, seconds per A4 page, its validation figures and its figures on each
fold it never trained on (`benchmarks/folds.py --card`); then the command that reproduces each. Everything comes from the cards: `flops_per_pixel` (written by `docclean
train`), `speed` (from `benchmarks/speed.py`) and the validation figures (from `docclean train` /
`evaluate`; for a model trained on every page, its validation twin's).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docclean.models.card import ModelCard


def _validation(card: ModelCard) -> str:
    block = card.shown_validation
    if block is None:
        return "-"
    scores = block.model
    where = block.data
    if "fm" in scores:
        text = (f"FM {scores['fm']:.1f}, p-FM {scores['pfm']:.1f}, PSNR {scores['psnr']:.2f}, "
                f"DRD {scores['drd']:.2f}")  # fmt: skip
    elif "rmse" in scores:
        text = f"RMSE {scores['rmse']:.4f}, PSNR {scores['psnr']:.2f}, SSIM {scores['ssim']:.3f}"
    else:
        return "-"
    return f"{where}: {text}" if where else text


def _folds(card: ModelCard) -> str:
    """Each fold the model (or its twin, named) never trained on: its figure beside the classics'."""
    parts = []
    for name, fold in card.folds.items():
        scores = fold.scores
        if "fm" in fold.model:
            classics = ", ".join(
                f"{label} {scores[m]['fm']:.1f}"
                for m, label in (("otsu", "Otsu"), ("sauvola", "Sauvola"))
                if "fm" in scores.get(m, {})
            )
            text = f"FM {fold.model['fm']:.1f}" + (f" ({classics})" if classics else "")
        elif "rmse" in fold.model:
            plain = scores.get("no_cleaning", {}).get("rmse")
            text = f"RMSE {fold.model['rmse']:.4f}"
            text += f" (no cleaning {plain:.3f})" if plain is not None else ""
        else:
            continue
        twin = f", twin {fold.validation_model}" if fold.validation_model else ""
        parts.append(f"{name} ({fold.pages} pages{twin}): {text}")
    return "; ".join(parts) or "-"


def _speed(card: ModelCard) -> str:
    speed = card.speed
    if speed is None:
        return "-"
    alone = f" ({speed.a4_model_s:.2f})" if speed.a4_model_s else ""
    return f"{speed.a4_per_page_s:.2f}{alone}"


def main() -> None:
    from docclean.models.store import (
        DEFAULT_BINARIZE_MODEL,
        DEFAULT_MODEL,
        read_card,
        shipped_models,
    )

    if len(sys.argv) > 1:
        models = {p.stem: p for p in sorted(Path(sys.argv[1]).glob("*.keras"))}
    else:
        models = shipped_models()
    cards = {name: read_card(path) for name, path in sorted(models.items())}
    print(
        "| model | for | parameters | FLOPs/pixel | s per A4 page (model alone) | validation "
        "| folds it never trained on |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, card in cards.items():
        label = f"`{name}`"
        if name == DEFAULT_MODEL:
            label += " (default)"
        elif name == DEFAULT_BINARIZE_MODEL:
            label += " (`--binarize` default)"
        print(
            f"| {label} | {card.description} | {card.parameters or 0:,} "
            f"| {card.flops_per_pixel or 0:,} | {_speed(card)} | {_validation(card)} "
            f"| {_folds(card)} |"
        )
    print()
    for name, card in cards.items():
        block = card.shown_validation
        commands = [c for c in (block and block.command, card.speed and card.speed.command) if c]
        commands += sorted({fold.command for fold in card.folds.values() if fold.command})
        if commands:
            print(f"`{name}`:")
            print("```sh")
            print("\n".join(commands))
            print("```")


if __name__ == "__main__":
    main()
