"""`docclean clean`: clean pages into a folder, or one image from stdin to stdout."""

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

from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    _page_cleaner,
    device_in_use,
    errors_to_exit_codes,
)
from docclean.errors import ExitCode, UsageError
from docclean.progress import Reporter


class FormatChoice(str, Enum):
    same = "same"
    png = "png"
    tiff = "tiff"
    pdf = "pdf"


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
