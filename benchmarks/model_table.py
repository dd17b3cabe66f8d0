"""The shipped models' table for README.md and models/README.md, from their cards.

    python bench/model_table.py

One row per model: name, what it is for, parameters, FLOPs per pixel, seconds per A4 page and its
validation figures; then the command that reproduces each figure. Everything comes from the cards
(`models/NAME.json`): `flops_per_pixel` (written by `docclean train`), `speed` (from
`bench/speed.py`) and `validation` or `reported_validation` (from `docclean train` / `evaluate`).
"""

from __future__ import annotations

from typing import Any


def _validation(card: dict[str, Any]) -> str:
    block = card.get("reported_validation") or card.get("validation") or {}
    scores = block.get("model") or {}
    where = block.get("data", "")
    if "fm" in scores:
        text = (f"FM {scores['fm']:.1f}, p-FM {scores['pfm']:.1f}, PSNR {scores['psnr']:.2f}, "
                f"DRD {scores['drd']:.2f}")  # fmt: skip
    elif "rmse" in scores:
        text = f"RMSE {scores['rmse']:.4f}, PSNR {scores['psnr']:.2f}, SSIM {scores['ssim']:.3f}"
    else:
        return "-"
    return f"{where}: {text}" if where else text


def _speed(card: dict[str, Any]) -> str:
    speed = card.get("speed") or {}
    if "a4_per_page_s" not in speed:
        return "-"
    return f"{speed['a4_per_page_s']:.2f} ({speed['a4_model_s']:.2f})"


def main() -> None:
    from docclean.models.store import (
        DEFAULT_BINARIZE_MODEL,
        DEFAULT_MODEL,
        read_card,
        shipped_models,
    )

    cards = {name: read_card(path) for name, path in sorted(shipped_models().items())}
    print("| model | for | parameters | FLOPs/pixel | s per A4 page (model alone) | validation |")
    print("|---|---|---|---|---|---|")
    for name, card in cards.items():
        label = f"`{name}`"
        if name == DEFAULT_MODEL:
            label += " (default)"
        elif name == DEFAULT_BINARIZE_MODEL:
            label += " (`--binarize` default)"
        print(
            f"| {label} | {card.get('description', '')} | {card.get('parameters', 0):,} "
            f"| {card.get('flops_per_pixel', 0):,} | {_speed(card)} | {_validation(card)} |"
        )
    print()
    for name, card in cards.items():
        block = card.get("reported_validation") or card.get("validation") or {}
        commands = [
            c for c in (block.get("command"), (card.get("speed") or {}).get("command")) if c
        ]
        if commands:
            print(f"`{name}`:")
            print("```sh")
            print("\n".join(commands))
            print("```")


if __name__ == "__main__":
    main()
