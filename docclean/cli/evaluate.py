"""`docclean evaluate`: score models and baselines on paired pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    _page_cleaner,
    errors_to_exit_codes,
)
from docclean.errors import DataError, ExitCode
from docclean.progress import Reporter


def evaluate(
    noisy: Annotated[Path, typer.Option(help="Folder of noisy pages.")],
    clean: Annotated[
        Path, typer.Option(help="Folder of targets (gray or bilevel), same file names.")
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Shipped model name or .keras path; repeat to compare \\[default: office model]."
        ),
    ] = None,
    baselines: Annotated[
        bool, typer.Option(help="Also run median background, Otsu, Sauvola and unpaper.")
    ] = False,
    ocr: Annotated[bool, typer.Option(help="Character error rate of tesseract's reading.")] = False,
    names: Annotated[
        str | None, typer.Option(help="Only these pages: comma-separated names or @FILE.")
    ] = None,
    contact_sheet: Annotated[
        Path | None, typer.Option(help="Draw noisy | cleaned | target | error into this PNG.")
    ] = None,
    sheet_pages: Annotated[int, typer.Option(help="Pages on the contact sheet.")] = 6,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write per-page scores as CSV (- for stdout).")
    ] = None,
    tile_size: Annotated[
        int | None, typer.Option(help="Tile side in px \\[default: the model's].", min=8)
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Tiles per model call \\[default: the model's].", min=1)
    ] = None,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score models beside "no cleaning" and classic baselines on paired pages."""
    import json

    from docclean.evaluation.report import EvalOptions, evaluate_pairs, render_table, report_csv
    from docclean.training.data import find_pairs, read_name_list, report_problems

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        pairs, problems = find_pairs(noisy, clean)
        report_problems(problems, skip_bad=True, warn=reporter.warn)
        if names is not None:
            wanted = set(read_name_list(names))
            pairs = [p for p in pairs if p.name in wanted]
        if not pairs:
            raise DataError(f"no image pairs to evaluate in {noisy} and {clean}")
        specs: list[str | None] = list(model) if model else [None]
        cleaners = [_page_cleaner(m, tile_size, batch_size, device) for m in specs]
        options = EvalOptions(
            baselines=baselines, ocr=ocr, contact_sheet=contact_sheet, sheet_pages=sheet_pages
        )
        report = evaluate_pairs(pairs, cleaners, reporter, options)
        if csv_out is not None:
            text = report_csv(report)
            if str(csv_out) == "-":
                print(text, end="")
            else:
                from docclean.io.atomic import write_text_atomic

                write_text_atomic(csv_out, text)
    if json_out:
        print(json.dumps(report, indent=2))
    elif csv_out is None or str(csv_out) != "-":
        render_table(report)
    if report["failed"]:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))
