"""`docclean evaluate`: score models and baselines on paired pages."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Annotated

import typer

from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    _page_cleaner,
    data_folders,
    errors_to_exit_codes,
    interrupt_on_sigterm,
    stdout_checked,
)
from docclean.errors import DataError, ModelError, OutputError, UsageError
from docclean.progress import Reporter


def evaluate(
    data: Annotated[
        Path | None,
        typer.Argument(help="A folder holding noisy/ and clean/ (or use --noisy/--clean)."),
    ] = None,
    noisy: Annotated[Path | None, typer.Option(help="Folder of noisy pages.")] = None,
    clean: Annotated[
        Path | None,
        typer.Option(help="Folder of targets (gray or bilevel), same file names."),
    ] = None,
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
        Path | None,
        typer.Option(
            help="Draw noisy | each model's output | target | error into this PNG (a new file)."
        ),
    ] = None,
    sheet_pages: Annotated[int, typer.Option(help="Pages on the contact sheet.", min=1)] = 6,
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", help="Write per-page scores as CSV, a new file (- for stdout)."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Let --csv and --contact-sheet replace files (never an input)."
        ),
    ] = False,
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
    from docclean.evaluation.report import (
        EvalOptions,
        check_output_path,
        render_table,
        report_csv,
        report_json,
        write_output,
    )
    from docclean.evaluation.report import evaluate as run_evaluation
    from docclean.models.store import resolve_model
    from docclean.training.data import find_pairs, read_name_list, report_problems

    reporter = Reporter()
    to_stdout = csv_out is not None and str(csv_out) == "-"
    with interrupt_on_sigterm(), errors_to_exit_codes(reporter):
        if to_stdout and json_out:
            raise UsageError("--json and --csv - both write to stdout: choose one")
        noisy_dir, clean_dir = data_folders(data, noisy, clean, "evaluate")
        pairs, problems = find_pairs(noisy_dir, clean_dir)
        report_problems(problems, skip_bad=True, warn=reporter.warn)
        if names is not None:
            wanted = set(read_name_list(names))
            pairs = [p for p in pairs if p.name in wanted]
        if not pairs:
            raise DataError(f"no image pairs to evaluate in {noisy_dir} and {clean_dir}")
        specs: list[str | None] = list(model) if model else [None]
        outputs = [p for p in (None if to_stdout else csv_out, contact_sheet) if p is not None]
        if len(outputs) == 2 and outputs[0].resolve() == outputs[1].resolve():
            raise UsageError(f"--csv and --contact-sheet both name {outputs[0]}")
        inputs = [path for pair in pairs for path in (pair.noisy, pair.clean)]
        if names is not None and names.startswith("@"):
            inputs.append(Path(names[1:]))
        for spec in specs:  # a model file and its card are inputs too
            with suppress(ModelError):  # an unknown model is named when models load
                keras_file = resolve_model(spec)
                inputs += [keras_file, keras_file.with_suffix(".json")]
        for path in outputs:
            check_output_path(path, overwrite, inputs, [noisy_dir, clean_dir])
        cleaners = [_page_cleaner(m, tile_size, batch_size, device) for m in specs]
        options = EvalOptions(
            baselines=baselines,
            ocr=ocr,
            contact_sheet=contact_sheet,
            sheet_pages=sheet_pages,
            overwrite=overwrite,
        )
        result = run_evaluation(pairs, cleaners, reporter, options)
    report = result.report
    codes = [int(result.exit_code)]
    with stdout_checked(reporter):
        if to_stdout:
            print(report_csv(report), end="")
        elif json_out:
            print(report_json(report))
        else:
            render_table(report)
    if csv_out is not None and not to_stdout:
        try:
            write_output(csv_out, report_csv(report).encode("utf-8"), overwrite=overwrite)
        except OutputError as exc:
            reporter.error(str(exc))
            codes.append(int(exc.exit_code))
    if max(codes):
        raise typer.Exit(max(codes))
