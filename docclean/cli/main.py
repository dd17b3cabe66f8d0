"""The ``docclean`` command line: parse options, call the library, map errors to exit codes.

No image maths here. Every :class:`DocCleanError` is turned into one message and its exit code in
:func:`main`; progress and messages go to stderr, data and JSON to stdout.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from docclean import __version__
from docclean.cli.progress import Reporter
from docclean.errors import DataError, DocCleanError, ExitCode, UsageError


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
        str | None,
        typer.Option(help="Architecture (see `docclean architectures`) \\[default: tone-unet]."),
    ] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Fine-tune this model (shipped name or .keras path) on your pairs; with --arch, "
            "grow it into that larger architecture first (tone-unet-fine, -lin or -edge from "
            "tone-unet; fast-unet-edge or -mirrored from fast-unet)."
        ),
    ] = None,
    loss: Annotated[str, typer.Option(help="mse, bce, l1, mse+ssim or mse+edge.")] = "mse",
    regularizer: Annotated[
        str,
        typer.Option(
            help="none; sparse (L1 activity penalty on the bottleneck); or contractive (penalty "
            "on the bottleneck's Jacobian)."
        ),
    ] = "none",
    regularizer_weight: Annotated[
        float | None,
        typer.Option(help="Weight of the --regularizer penalty \\[default: 1e-4].", min=0),
    ] = None,
    epochs: Annotated[
        int, typer.Option(help="Most epochs to run (early stopping may end sooner).")
    ] = 30,
    patch_size: Annotated[
        int | None,
        typer.Option(
            help="Side of the square training patches, px \\[default: the architecture's; 256 for "
            "tone-unet and fast-unet, 64 for the seed models]."
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Patches per training step \\[default: the architecture's; 8 for tone-unet and "
            "fast-unet, 32 for the seed models]."
        ),
    ] = None,
    steps_per_epoch: Annotated[
        int | None, typer.Option(help="Steps per epoch \\[default: about one pass over the pages].")
    ] = None,
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    schedule: Annotated[
        str,
        typer.Option(
            help="Learning-rate schedule: plateau (halve it when validation stalls) or cosine "
            "(a short warm-up, then a cosine decay to 0 by the last epoch)."
        ),
    ] = "plateau",
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 6,
    val: Annotated[
        str | None,
        typer.Option(help="Validation pages: comma-separated names or @FILE with one name a line."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="Fraction of whole pages held out for validation (when no --val).")
    ] = 0.1,
    augment: Annotated[
        str,
        typer.Option(
            help="Patch augmentations, comma-separated, or none: flip (mirror), tone (jitter the "
            "noisy brightness and contrast), scale (resample 0.6x-1.6x, like another dpi)."
        ),
    ] = "flip,tone",
    seed: Annotated[int, typer.Option(help="Seed for weights, split and sampling.")] = 0,
    synthetic: Annotated[
        int, typer.Option(help="Mix in N synthetic pairs (rendered text, random dirt).")
    ] = 0,
    synthetic_exclude: Annotated[
        str | None,
        typer.Option(
            help="Degradation kinds the synthetic pairs never get, comma-separated (see "
            "`docclean synth --list-kinds`): to test generalization to a kind left out."
        ),
    ] = None,
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

    from docclean.synth.generator import parse_kind_list
    from docclean.training.data import pair_dirs, parse_augment, read_name_list
    from docclean.training.trainer import TrainConfig
    from docclean.training.trainer import train as run_training

    reporter = Reporter()
    with errors_to_exit_codes(reporter):
        noisy_dir, clean_dir = pair_dirs(data, noisy, clean)
        config = TrainConfig(
            output=output,
            arch=arch,
            init_from=init_from,
            loss=loss,
            regularizer=regularizer,
            regularizer_weight=regularizer_weight,
            epochs=epochs,
            patch_size=patch_size,
            batch_size=batch_size,
            steps_per_epoch=steps_per_epoch,
            learning_rate=learning_rate,
            schedule=schedule,
            patience=patience,
            seed=seed,
            augment=parse_augment(augment),
            val_names=read_name_list(val) if val is not None else None,
            val_fraction=val_fraction,
            synthetic=synthetic,
            synthetic_exclude=parse_kind_list(synthetic_exclude) or [],
            skip_bad_pairs=skip_bad_pairs,
            overwrite=overwrite,
            description=description,
            device=device.value,
        )
        card = run_training(noisy_dir, clean_dir, config, reporter)
    if json_out:
        print(json.dumps(card, indent=2))


class FormatChoice(str, Enum):
    same = "same"
    png = "png"
    tiff = "tiff"
    pdf = "pdf"


@app.command()
def clean(
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder for the cleaned pages, or - for one image on stdout."
        ),
    ],
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Image or PDF files, folders (searched recursively), or -: with -o - one image "
            "on stdin, else a list of paths on stdin.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Shipped model name or .keras path \\[default: the office model; with --binarize, "
            "the historical binarization model]."
        ),
    ] = None,
    fmt: Annotated[
        FormatChoice,
        typer.Option(
            "--format",
            help="same: TIFF->TIFF, PDF->PDF, other images->PNG (never lossy); or png, tiff, pdf.",
        ),
    ] = FormatChoice.same,
    dpi: Annotated[
        float | None,
        typer.Option(help="DPI written into every output (PDF inputs are rendered at it).", min=1),
    ] = None,
    binarize: Annotated[
        bool,
        typer.Option(
            help="Write bilevel (1-bit) pages: text black, background white; uses the historical "
            "binarization model unless --model is given."
        ),
    ] = False,
    tile_size: Annotated[
        int | None,
        typer.Option(
            help="Tile side in px (fixed shape, traced once) \\[default: the model's].", min=8
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Tiles per model call \\[default: the model's].", min=1)
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace outputs that exist (default: skip).")
    ] = False,
    files_from: Annotated[
        Path | None,
        typer.Option(help="Read input paths from FILE (- for stdin), one a line.", metavar="FILE"),
    ] = None,
    null: Annotated[
        bool, typer.Option("--null", "-0", help="Path lists are NUL-separated (find -print0).")
    ] = False,
    jobs: Annotated[
        int, typer.Option(help="Threads reading and writing files around the one model.")
    ] = 2,
    fail_fast: Annotated[
        bool, typer.Option(help="Stop at the first file that fails (exit code 1).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(help="Print what would be cleaned or skipped; clean nothing, load no model."),
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per page on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Clean scanned pages into OUTPUT, mirroring the input folders; never touches the inputs.

    `docclean clean - -o -` is a filter: one image or PDF on stdin, the cleaned one on stdout.
    """
    import json

    from docclean.inference.batch import CleanJob, PageRecord, discover_inputs

    reporter = Reporter(quiet=quiet)
    stop = threading.Event()
    with errors_to_exit_codes(reporter), _stop_on_signals(stop, quiet):
        if str(output_dir) == "-":
            _clean_filter(
                inputs or [],
                files_from,
                fmt,
                dpi,
                dry_run or json_out,
                reporter,
                lambda: _page_cleaner(model, tile_size, batch_size, device, binarize),
                stop,
            )
            return
        specs = _clean_specs(inputs or [], files_from, null)
        files = list(discover_inputs(specs, output_dir))
        if not files:
            raise UsageError(
                "no input images found", "give image or PDF files, folders, or --files-from"
            )
        job = CleanJob(
            files,
            output_dir,
            fmt=fmt.value,
            overwrite=overwrite,
            dpi=dpi,
            jobs=jobs,
            fail_fast=fail_fast,
            warn=reporter.warn,
            stop=stop,
        )

        def on_record(record: PageRecord) -> None:
            if record.status == "failed":
                reporter.error(record.error or record.input)
            if json_out:
                print(json.dumps(record.to_json()), flush=True)
            elif dry_run and record.status != "failed":
                action = "clean" if record.status == "planned" else "skip "
                note = "" if record.status == "planned" else "  (output exists)"
                print(f"{action} {record.input} -> {record.output}{note}", flush=True)

        if dry_run:
            summary = job.plan(on_record)
            reporter.info(
                f"dry run: would clean {summary.files_planned}, skip {summary.files_skipped} "
                f"(output exists), fail {summary.files_failed}"
            )
        else:
            try:
                cleaner = _page_cleaner(model, tile_size, batch_size, device, binarize)
                job.clean_page = cleaner.clean
                reporter.info(
                    f"cleaning {len(files)} file(s) with {cleaner.loaded.name} on {device_in_use()}"
                )
                with reporter.bar("cleaning", len(files)) as bar:
                    seen: set[str] = set()

                    def on_page(record: PageRecord) -> None:
                        on_record(record)
                        if record.input not in seen:
                            seen.add(record.input)
                            bar.advance(1)

                    job.run(on_page)
            except KeyboardInterrupt:  # a second signal: stopped at once, writes still finished
                job.summary.interrupted = True
            summary = job.summary
            reporter.info(
                f"done {summary.files_done}, skipped {summary.files_skipped} (output exists), "
                f"failed {summary.files_failed}; {summary.pages_done} page(s) in "
                f"{summary.seconds:.1f} s ({summary.pages_per_second:.2f} pages/s)"
            )
        if summary.stopped:
            reporter.info("stopped at the first failure (--fail-fast)")
        if summary.interrupted:
            reporter.error(
                "interrupted: every output written is complete; "
                "run the same command again to finish"
            )
            raise typer.Exit(int(ExitCode.INTERRUPTED))
    if summary.files_failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


@contextmanager
def _stop_on_signals(stop: threading.Event, quiet: bool) -> Iterator[None]:
    """The first SIGINT or SIGTERM sets ``stop`` (the run ends between pages); a second one
    raises KeyboardInterrupt (the run ends at once, writes under way still finish)."""
    import signal

    try:
        fd: int | None = None if quiet else sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured stderr (tests) has no descriptor
        fd = None

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if fd is not None:  # os.write: safe in a handler, unlike print
            with suppress(OSError):
                os.write(fd, b"stopping after the current page (interrupt again to stop now)\n")

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (e.g. under a test runner's thread)
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _read_stdin_bytes() -> bytes:
    """All of stdin as bytes (a text-only stdin is encoded back)."""

    buffer = getattr(sys.stdin, "buffer", None)
    return buffer.read() if buffer is not None else sys.stdin.read().encode()


def _clean_specs(inputs: list[Path], files_from: Path | None, null: bool) -> list[Path]:
    """Input paths for `clean`: arguments, ``-`` (a path list on stdin) and --files-from."""
    from docclean.inference.batch import parse_path_list

    dashes = sum(str(spec) == "-" for spec in inputs) + (str(files_from) == "-")
    if dashes > 1:
        raise UsageError("stdin can be read only once", "give - or --files-from - once")
    specs: list[Path] = []
    for spec in inputs:
        specs += parse_path_list(_read_stdin_bytes(), null) if str(spec) == "-" else [spec]
    if files_from is not None:
        if str(files_from) == "-":
            data = _read_stdin_bytes()
        else:
            try:
                data = files_from.read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read --files-from {files_from}: {exc.strerror}") from exc
        specs += parse_path_list(data, null)
    return specs


def _clean_filter(
    inputs: list[Path],
    files_from: Path | None,
    fmt: FormatChoice,
    dpi: float | None,
    listing: bool,
    reporter: Reporter,
    make_cleaner: Any,
    stop: threading.Event | None = None,
) -> None:
    """`clean X -o -`: clean one image (a file, or - for bytes on stdin) and write it to stdout.

    When ``stop`` is set (a signal) before the image is cleaned, nothing goes to stdout (exit 130).
    """
    import tempfile

    from docclean.errors import InputError
    from docclean.inference.batch import CleanJob, InputFile, PageRecord
    from docclean.io.images import sniff_suffix

    if len(inputs) != 1 or files_from is not None or listing:
        raise UsageError(
            "-o - writes one cleaned image to stdout",
            "give exactly one file, or - for image data on stdin; no --files-from, --json "
            "or --dry-run",
        )
    with tempfile.TemporaryDirectory(prefix="docclean-") as tmp:
        work = Path(tmp)
        source = inputs[0]
        from_stdin = str(source) == "-"
        if from_stdin:
            data = _read_stdin_bytes()
            if not data:
                raise InputError("<stdin>", "no data on stdin")
            suffix = sniff_suffix(data)
            if suffix is None:
                raise InputError(
                    "<stdin>",
                    "not PNG, JPEG, TIFF, BMP, WebP or PDF data",
                    "to give a list of paths on stdin use --files-from -",
                )
            source = work / f"stdin{suffix}"
            source.write_bytes(data)
        item = InputFile(source, Path(source.name))
        job = CleanJob([item], work / "out", fmt=fmt.value, overwrite=True, dpi=dpi, jobs=1)
        if stop is not None:
            job.stop = stop
        shown = "<stdin>" if from_stdin else str(source)
        job.warn = lambda message: reporter.warn(message.replace(str(source), shown))
        job.clean_page = make_cleaner().clean
        outputs: list[str] = []

        def on_record(record: PageRecord) -> None:
            if record.status == "failed":
                reporter.error((record.error or "").replace(str(source), shown))
            elif record.output:
                outputs.append(record.output)

        summary = job.run(on_record)
        if summary.interrupted:
            reporter.error("interrupted: nothing was written to stdout")
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if summary.files_failed or not outputs:
            raise typer.Exit(int(ExitCode.INPUT_FAILED))
        stdout = getattr(sys.stdout, "buffer", None)
        data = Path(outputs[0]).read_bytes()
        if stdout is None:  # pragma: no cover - stdout is always binary-capable here
            raise UsageError("stdout cannot take binary data")
        stdout.write(data)
        stdout.flush()
        reporter.info(f"cleaned {summary.pages_done} page(s) in {summary.seconds:.1f} s to stdout")


@app.command()
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


@app.command("models")
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


@app.command()
def architectures() -> None:
    """List the architectures `docclean train --arch` accepts."""
    from docclean.models.architectures import ARCHITECTURES

    for arch in ARCHITECTURES.values():
        print(f"{arch.name}\t{arch.summary}")


def _page_cleaner(
    model: str | None,
    tile_size: int | None,
    batch_size: int | None,
    device: DeviceChoice,
    binarize: bool = False,
) -> Any:
    from docclean.backend import tensorflow
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import DEFAULT_BINARIZE_MODEL, load_model

    tensorflow(device.value)
    if model is None and binarize:
        model = DEFAULT_BINARIZE_MODEL
    return PageCleaner(
        load_model(model),
        tile_size=tile_size,
        batch_size=batch_size,
        device=device.value,
        binarize=binarize,
    )


def device_in_use() -> str:
    from docclean.backend import device_in_use as in_use

    return in_use()


def _list_kinds(value: bool) -> None:
    if value:
        from docclean.synth.generator import describe_kinds

        for name, summary in describe_kinds().items():
            print(f"{name}\t{summary}")
        raise typer.Exit()


@app.command()
def synth(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Folder to write: OUT/noisy/NAME.png + OUT/clean/NAME.png."
        ),
    ],
    clean_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Clean pages: a folder (searched recursively) or a file; optional with --render.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed makes the same pages.", min=0)] = 0,
    per_page: Annotated[
        int,
        typer.Option(help="Dirty variants of each clean page (named NAME-0, NAME-1, …).", min=1),
    ] = 1,
    kinds: Annotated[
        str | None,
        typer.Option(help="Comma-separated degradations to use (default: all; see --list-kinds)."),
    ] = None,
    exclude_kinds: Annotated[
        str | None, typer.Option(help="Comma-separated degradations to leave out.")
    ] = None,
    mix: Annotated[
        bool,
        typer.Option(
            help="Give each page a random mix of the kinds (at least one); --no-mix: all of them."
        ),
    ] = True,
    render: Annotated[
        int, typer.Option(help="Also render N clean pages of pseudo-text.", min=0)
    ] = 0,
    size: Annotated[str, typer.Option(help="Size of rendered pages, WxH px.")] = "1240x1754",
    overwrite: Annotated[
        bool, typer.Option(help="Write into an output folder that already holds pages.")
    ] = False,
    list_kinds: Annotated[
        bool,
        typer.Option(
            "--list-kinds", callback=_list_kinds, is_eager=True, help="List the degradations."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Make training pairs: realistic dirty versions of clean pages, beside a clean copy.

    `docclean train OUT` then trains on them directly.
    """
    from docclean.synth.generator import (
        SynthOptions,
        parse_kind_list,
        parse_size,
        resolve_kinds,
        synthesize,
    )

    reporter = Reporter(quiet=quiet)
    with errors_to_exit_codes(reporter), interrupt_on_sigterm():
        options = SynthOptions(
            seed=seed,
            per_page=per_page,
            kinds=resolve_kinds(parse_kind_list(kinds), parse_kind_list(exclude_kinds)),
            mix=mix,
            render=render,
            size=parse_size(size),
            overwrite=overwrite,
        )
        summary = synthesize(clean_dir, output, options, reporter)
        reporter.info(
            f"wrote {summary.pairs} pair(s) from {summary.pages} page(s) to {output / 'noisy'} "
            f"and {output / 'clean'} in {summary.seconds:.1f} s"
            + (f"; {len(summary.failed)} file(s) failed" if summary.failed else "")
        )
    if summary.failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
