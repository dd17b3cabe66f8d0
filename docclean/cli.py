"""The ``docclean`` command line: parse options, call the library, map errors to exit codes.

No image maths here. Every :class:`DocCleanError` is turned into one message and its exit code in
:func:`main`; progress and messages go to stderr, data and JSON to stdout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from docclean import __version__
from docclean.errors import DataError, DocCleanError, ExitCode, UsageError
from docclean.progress import Reporter


@contextmanager
def errors_to_exit_codes(reporter: Reporter) -> Iterator[None]:
    """The one place where library errors become a message on stderr and an exit code."""
    try:
        yield
    except DocCleanError as exc:
        reporter.error(str(exc))
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        reporter.error("interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so a killed batch run stops between files like an interrupted one."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (e.g. under a test runner's thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


app = typer.Typer(
    name="docclean",
    help="Clean scanned documents: stains, folds, wrinkles, shadows and noise, removed by a "
    "convolutional denoising autoencoder.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"docclean {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Clean scanned documents with a tiled convolutional denoising autoencoder."""


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


DeviceOption = Annotated[
    DeviceChoice,
    typer.Option(help="auto: a GPU when TensorFlow sees one; cpu; gpu (fails without one)."),
]


@app.command()
def train(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Model to write: NAME.keras + NAME.json.")
    ],
    data: Annotated[
        Path | None,
        typer.Argument(help="A folder holding noisy/ and clean/ (or use --noisy/--clean)."),
    ] = None,
    noisy: Annotated[Path | None, typer.Option(help="Folder of noisy pages.")] = None,
    clean: Annotated[
        Path | None, typer.Option(help="Folder of clean targets, same file names.")
    ] = None,
    arch: Annotated[
        str, typer.Option(help="Architecture (see `docclean architectures`).")
    ] = "seed-text",
    epochs: Annotated[
        int, typer.Option(help="Most epochs to run (early stopping may end sooner).")
    ] = 30,
    patch_size: Annotated[int, typer.Option(help="Side of the square training patches, px.")] = 64,
    batch_size: Annotated[int, typer.Option(help="Patches per training step.")] = 32,
    steps_per_epoch: Annotated[
        int | None, typer.Option(help="Steps per epoch [default: about one pass over the pages].")
    ] = None,
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 6,
    val: Annotated[
        str | None,
        typer.Option(help="Validation pages: comma-separated names or @FILE with one name a line."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="Fraction of whole pages held out for validation (when no --val).")
    ] = 0.1,
    augment: Annotated[bool, typer.Option(help="Flip patches and jitter brightness.")] = True,
    seed: Annotated[int, typer.Option(help="Seed for weights, split and sampling.")] = 0,
    skip_bad_pairs: Annotated[
        bool, typer.Option(help="Warn about unpaired or mismatched files instead of stopping.")
    ] = False,
    description: Annotated[
        str, typer.Option(help="What the model is for (goes into its card).")
    ] = "",
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing model of that name.")
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model card as JSON on stdout.")
    ] = False,
) -> None:
    """Train a model on paired noisy/clean pages (matched by file name)."""
    import json

    from docclean.data import pair_dirs, read_name_list
    from docclean.train import TrainConfig
    from docclean.train import train as run_training

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        noisy_dir, clean_dir = pair_dirs(data, noisy, clean)
        config = TrainConfig(
            output=output,
            arch=arch,
            epochs=epochs,
            patch_size=patch_size,
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            learning_rate=learning_rate,
            patience=patience,
            seed=seed,
            augment=augment,
            val_names=read_name_list(val) if val is not None else None,
            val_fraction=val_fraction,
            skip_bad_pairs=skip_bad_pairs,
            overwrite=overwrite,
            description=description,
            device=device.value,
        )
        card = run_training(noisy_dir, clean_dir, config, reporter)
    if json_out:
        print(json.dumps(card, indent=2))


class FormatChoice(str, Enum):
    png = "png"
    tiff = "tiff"


@app.command()
def clean(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Image files, folders (searched recursively) or - for a list on stdin."
        ),
    ],
    output_dir: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the cleaned pages.")
    ],
    model: Annotated[
        str | None, typer.Option(help="Shipped model name or .keras path [default: office model].")
    ] = None,
    fmt: Annotated[
        FormatChoice,
        typer.Option("--format", help="Output format; multi-page inputs always give a TIFF."),
    ] = FormatChoice.png,
    tile_size: Annotated[
        int, typer.Option(help="Tile side in px (fixed shape, traced once).")
    ] = 256,
    batch_size: Annotated[int, typer.Option(help="Tiles per model call.")] = 8,
    overwrite: Annotated[
        bool, typer.Option(help="Replace outputs that exist (default: skip).")
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per page on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Clean scanned pages into OUTPUT, mirroring the input folders; never touches the inputs."""
    import json
    import sys

    from docclean.pipeline import CleanJob, PageRecord, discover_inputs, read_path_list

    reporter = Reporter(quiet=quiet)
    with errors_to_exit_codes(reporter), interrupt_on_sigterm():
        specs: list[Path] = []
        for spec in inputs:
            specs += read_path_list(sys.stdin) if str(spec) == "-" else [spec]
        files = list(discover_inputs(specs, output_dir))
        if not files:
            raise UsageError("no input images found", "give image files, folders or - for stdin")
        cleaner = _page_cleaner(model, tile_size, batch_size, device)
        job = CleanJob(files, output_dir, cleaner.clean, fmt=fmt.value, overwrite=overwrite)
        reporter.info(
            f"cleaning {len(files)} file(s) with {cleaner.loaded.name} on {device_in_use()}"
        )
        with reporter.bar("cleaning", len(files)) as bar:
            seen: set[str] = set()

            def on_record(record: PageRecord) -> None:
                if record.status == "failed":
                    reporter.error(record.error or record.input)
                if json_out:
                    print(json.dumps(record.to_json()), flush=True)
                if record.input not in seen:
                    seen.add(record.input)
                    bar.advance(1)

            summary = job.run(on_record)
        reporter.info(
            f"done {summary.files_done}, skipped {summary.files_skipped} (output exists), "
            f"failed {summary.files_failed}; {summary.pages_done} page(s) in "
            f"{summary.seconds:.1f} s ({summary.pages_per_second:.2f} pages/s)"
        )
    if summary.files_failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


@app.command()
def evaluate(
    noisy: Annotated[Path, typer.Option(help="Folder of noisy pages.")],
    clean: Annotated[Path, typer.Option(help="Folder of clean targets, same file names.")],
    model: Annotated[
        str | None, typer.Option(help="Shipped model name or .keras path [default: office model].")
    ] = None,
    names: Annotated[
        str | None, typer.Option(help="Only these pages: comma-separated names or @FILE.")
    ] = None,
    tile_size: Annotated[int, typer.Option(help="Tile side in px.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Tiles per model call.")] = 8,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score a model against "no cleaning" on paired pages: RMSE, PSNR and SSIM per page and mean."""
    import json

    from docclean.data import find_pairs, read_name_list, report_problems
    from docclean.evaluate import evaluate_pairs, render_table

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        pairs, problems = find_pairs(noisy, clean)
        report_problems(problems, skip_bad=True, warn=reporter.warn)
        if names is not None:
            wanted = set(read_name_list(names))
            pairs = [p for p in pairs if p.name in wanted]
        if not pairs:
            raise DataError(f"no image pairs to evaluate in {noisy} and {clean}")
        cleaner = _page_cleaner(model, tile_size, batch_size, device)
        report = evaluate_pairs(pairs, cleaner, reporter)
    if json_out:
        print(json.dumps(report, indent=2))
    else:
        render_table(report)
    if report["failed"]:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


@app.command("models")
def list_models(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the model cards as JSON.")
    ] = False,
) -> None:
    """List the shipped models and what their cards say."""
    import json

    from rich.console import Console
    from rich.table import Table

    from docclean.modelstore import DEFAULT_MODEL, read_card, shipped_models

    cards = {name: read_card(path) for name, path in shipped_models().items()}
    if json_out:
        print(json.dumps(cards, indent=2))
        return
    table = Table(title="shipped models")
    for column in ("name", "architecture", "parameters", "output", "validation RMSE", "for"):
        table.add_column(column)
    for name, card in cards.items():
        rmse = (
            (card.get("reported_validation") or card.get("validation") or {}).get("model") or {}
        ).get("rmse")
        table.add_row(
            name + (" (default)" if name == DEFAULT_MODEL else ""),
            card["architecture"],
            f"{card.get('parameters', 0):,}",
            card.get("output_kind", "grayscale"),
            f"{rmse:.4f}" if rmse is not None else "-",
            card.get("description", ""),
        )
    Console().print(table)


@app.command()
def architectures() -> None:
    """List the architectures `docclean train --arch` accepts."""
    from docclean.architectures import ARCHITECTURES

    for arch in ARCHITECTURES.values():
        print(f"{arch.name}\t{arch.summary}")


def _page_cleaner(model: str | None, tile_size: int, batch_size: int, device: DeviceChoice) -> Any:
    from docclean.backend import tensorflow
    from docclean.inference import PageCleaner
    from docclean.modelstore import load_model

    tensorflow(device.value)
    return PageCleaner(
        load_model(model), tile_size=tile_size, batch_size=batch_size, device=device.value
    )


def device_in_use() -> str:
    from docclean.backend import device_in_use as in_use

    return in_use()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
