"""`docclean models` and `docclean architectures`: what can be used."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

OPTIONAL_COLUMNS = ("validation", "folds", "s/A4", "params", "architecture", "FLOPs/px", "output")
"""Shown on a terminal beside the name and what the model is for, in this order, as width allows."""
FOR_WIDTH = 34
"""The least width kept for the "for" column before another column is added (it wraps below)."""


def list_models(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model cards as JSON.")
    ] = False,
) -> None:
    """List the installed models: what each is for, its validation and fold figures and speed.

    A table on a terminal (what each model is for always; other columns as width allows).

    Tab-separated lines with a header when piped; the last column names the two defaults.

    Other models load by path: `--model zoo/NAME.keras`.
    """
    import json

    from docclean.models.store import (
        DEFAULT_BINARIZE_MODEL,
        DEFAULT_MODEL,
        read_card,
        shipped_models,
    )

    cards = {name: read_card(path) for name, path in shipped_models().items()}
    if json_out:
        print(json.dumps({name: card.to_dict() for name, card in cards.items()}, indent=2))
        return
    roles = {DEFAULT_MODEL: "default", DEFAULT_BINARIZE_MODEL: "--binarize"}
    rows = []
    for name, card in cards.items():
        shown = card.shown_validation
        rows.append(
            {
                "name": name,
                "architecture": card.architecture,
                "params": f"{card.parameters:,}" if card.parameters else "-",
                "FLOPs/px": f"{card.flops_per_pixel:,}" if card.flops_per_pixel else "-",
                "s/A4": f"{card.speed.a4_per_page_s:.2f}" if card.speed else "-",
                "output": card.output_kind,
                "validation": shown.headline() if shown else "-",
                "folds": card.folds_headline(),
                "for": card.description or "-",
                "role": roles.get(name, ""),
            }
        )
    if not sys.stdout.isatty():
        columns = ("name", "architecture", "params", "FLOPs/px", "s/A4", "output", "validation",
                   "folds")  # fmt: skip
        print("\t".join((*columns, "for", "default for")))
        for row in rows:
            print("\t".join(row[c] for c in (*columns, "for", "role")))
        return
    _print_table(rows)


def _print_table(rows: list[dict[str, str]]) -> None:
    """The models as a table as wide as the terminal: name and purpose always, then as many of
    :data:`OPTIONAL_COLUMNS` as leave "for" :data:`FOR_WIDTH` characters (it wraps when narrower)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    labels = [f"{r['name']} ({r['role']})" if r["role"] else r["name"] for r in rows]
    left = console.width - max(map(len, labels), default=4) - 2
    widest_for = max((len(r["for"]) for r in rows), default=3)
    shown = []
    for column in OPTIONAL_COLUMNS:
        need = max(len(column), *(len(r[column]) for r in rows)) + 2
        if left - need < min(FOR_WIDTH, widest_for):
            break
        shown.append(column)
        left -= need
    table = Table(
        title="installed models",
        caption=None if len(shown) == len(OPTIONAL_COLUMNS) else "all columns: --json, or piped",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        expand=False,
    )
    table.add_column("name", no_wrap=True)
    for column in shown:
        table.add_column(
            column, no_wrap=True, justify="right" if column != "architecture" else "left"
        )
    table.add_column("for", overflow="fold")
    for label, row in zip(labels, rows, strict=True):
        table.add_row(label, *(row[c] for c in shown), row["for"])
    console.print(table)


def architectures() -> None:
    """List the architectures `docclean train --arch` accepts."""
    from docclean.models.architectures import ARCHITECTURES

    for arch in ARCHITECTURES.values():
        print(f"{arch.name}\t{arch.summary}")
