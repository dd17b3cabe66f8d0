"""`docclean models` and `docclean architectures`: what can be used."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def list_models(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model cards as JSON.")
    ] = False,
) -> None:
    """List the shipped models and what their cards say.

    A table on a terminal; tab-separated lines, a header first, when piped (the last column says
    which model is the default, and which the `--binarize` default).
    """
    import json

    from rich import box
    from rich.console import Console
    from rich.table import Table

    from docclean.models.store import (
        DEFAULT_BINARIZE_MODEL,
        DEFAULT_MODEL,
        read_card,
        shipped_models,
    )

    cards = {name: read_card(path) for name, path in shipped_models().items()}
    if json_out:
        print(json.dumps(cards, indent=2))
        return
    columns = ("architecture", "params", "FLOPs/px", "s/A4", "output", "validation", "for")
    rows = []
    for name, card in cards.items():
        block = card.get("reported_validation") or card.get("validation") or {}
        scores = block.get("model") or {}
        if "fm" in scores:
            validation = f"FM {scores['fm']:.1f}"
        elif "rmse" in scores:
            validation = f"RMSE {scores['rmse']:.4f}"
        else:
            validation = "-"
        seconds = (card.get("speed") or {}).get("a4_per_page_s")
        role = {DEFAULT_MODEL: "default", DEFAULT_BINARIZE_MODEL: "--binarize"}.get(name, "")
        rows.append(
            (
                name,
                card["architecture"],
                f"{card.get('parameters', 0):,}",
                f"{card['flops_per_pixel']:,}" if "flops_per_pixel" in card else "-",
                f"{seconds:.2f}" if seconds is not None else "-",
                card.get("output_kind", "grayscale"),
                validation,
                card.get("description", ""),
                role,
            )
        )
    if not sys.stdout.isatty():
        for row in [("name", *columns, "default for"), *rows]:
            print("\t".join(row))
        return
    console = Console()
    # what fits: every column from 150 characters, no "for" from 110, no architecture below
    shown = [c for c in columns if console.width >= {"for": 150, "architecture": 110}.get(c, 0)]
    table = Table(
        title="shipped models",
        caption=None if "for" in shown else "more with a wider terminal, or --json",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in ("name", *shown):
        table.add_column(column, no_wrap=column != "for")
    for name, *cells, role in rows:
        label = f"{name} ({role})" if role else name
        table.add_row(label, *(cell for c, cell in zip(columns, cells, strict=True) if c in shown))
    console.print(table)


def architectures() -> None:
    """List the architectures `docclean train --arch` accepts."""
    from docclean.models.architectures import ARCHITECTURES

    for arch in ARCHITECTURES.values():
        print(f"{arch.name}\t{arch.summary}")
