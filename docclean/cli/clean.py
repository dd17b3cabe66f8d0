"""`docclean clean`: clean pages into a folder, or one image from stdin to stdout."""

from __future__ import annotations

import os
import sys
import threading
from contextlib import suppress
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from docclean import defaults
from docclean.cli.common import (
    DeviceChoice,
    DeviceOption,
    _page_cleaner,
    device_in_use,
    errors_to_exit_codes,
)
from docclean.errors import ExitCode, InputError, OutputError, UsageError
from docclean.interrupts import deferred_interrupts
from docclean.progress import Reporter

# The first SIGINT or SIGTERM ends the run between pages; a second one ends it at once (writes
# under way still finish).
_STOPPING = b"stopping after the current page (interrupt again to stop now)\n"


class EngineChoice(str, Enum):
    local = "local"
    ray = "ray"


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
    color: Annotated[
        bool,
        typer.Option(
            "--color",
            help="Write colour pages in RGB: paper cleaned to white as in gray, coloured ink "
            "(stamps, signatures, colour print) keeps its hue. Gray inputs stay gray.",
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
    relative_to: Annotated[
        Path | None,
        typer.Option(
            help="Outputs keep each input's folders below DIR \\[default: for paths listed by "
            "--files-from or on stdin, the deepest folder holding them all; for arguments, none].",
            metavar="DIR",
            file_okay=False,
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option(help="Threads reading and writing files around the cleaning.")
    ] = 2,
    fail_fast: Annotated[
        bool, typer.Option(help="Stop at the first file that fails (exit code 1).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(help="Print what would be cleaned or skipped; clean nothing, load no model."),
    ] = False,
    device: DeviceOption = DeviceChoice.auto,
    mixed_precision: Annotated[
        bool,
        typer.Option(
            help="Run the model in float16 where that keeps pages within 1/255 of float32 "
            "(checked when the model loads; otherwise float32, with a warning). For GPUs."
        ),
    ] = False,
    engine: Annotated[
        EngineChoice,
        typer.Option(
            help="local: this process; ray: Ray Data actors over all local cores, or a cluster "
            "with --ray-address (pip install 'docclean[ray]')."
        ),
    ] = EngineChoice.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="With --engine ray: join the Ray cluster at ADDR (e.g. auto, or "
            "ray://head:10001) instead of starting a local one.",
            metavar="ADDR",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per page on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
) -> None:
    """Clean scanned pages into OUTPUT, mirroring the input folders; never touches the inputs.

    `docclean clean - -o -` is a filter: one image or PDF on stdin, the cleaned one on stdout.
    """
    import json

    from docclean.inference.batch import PageRecord

    reporter = Reporter(quiet=quiet)
    stop = threading.Event()
    stdout = _StdoutLines(stop)
    with errors_to_exit_codes(reporter), deferred_interrupts(stop, None if quiet else _STOPPING):
        check_tile_and_batch(tile_size, batch_size)
        if color and binarize:
            raise UsageError(
                "--color and --binarize cannot be combined", "bilevel pages are black and white"
            )
        check_engine(engine, ray_address, str(output_dir) == "-" and not dry_run)
        if color and engine == EngineChoice.ray:
            raise UsageError("--color works with --engine local only", "drop --engine ray")
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
                color,
            )
            return
        files = _clean_inputs(inputs or [], files_from, null, relative_to, output_dir)
        if not files:
            raise UsageError(
                "no input images found", "give image or PDF files, folders, or --files-from"
            )
        job = _job_class(engine)(
            files,
            output_dir,
            fmt=fmt.value,
            overwrite=overwrite,
            dpi=dpi,
            jobs=jobs,
            fail_fast=fail_fast,
            warn=reporter.warn,
            stop=stop,
            settings={
                "model": model if model is None or "/" not in model else os.path.abspath(model),
                "binarize": binarize,
                "tile_size": tile_size,
                "batch_size": batch_size,
                "color": color,
            },
            color=color,
        )
        if engine == EngineChoice.ray:
            _ray_settings(
                job, ray_address, model, tile_size, batch_size, device, binarize, mixed_precision
            )

        def on_record(record: PageRecord) -> None:
            if record.status == "failed":
                reporter.error(record.error or record.input)
            elif record.status == "skipped" and record.error:  # appeared after planning
                reporter.warn(record.error)
            if json_out:
                stdout.write(json.dumps(record.to_json()))
            elif dry_run and record.status != "failed":
                action = "clean" if record.status == "planned" else "skip "
                note = "" if record.status == "planned" else "  (output exists)"
                stdout.write(f"{action} {record.input} -> {record.output}{note}")

        if dry_run:
            summary = job.plan(on_record)
            reporter.info(
                f"dry run: would clean {summary.files_planned}, skip {summary.files_skipped} "
                f"(output exists), fail {summary.files_failed}"
            )
        else:
            try:
                todo = job.prepare(on_record)  # inputs checked before TensorFlow loads
                if todo and not job.summary.stopped and engine == EngineChoice.ray:
                    spec = job.cleaner = job.cleaner.resolved()
                    assert spec.model is not None
                    where = f"the Ray cluster at {ray_address}" if ray_address else "a local Ray"
                    reporter.info(
                        f"cleaning {todo} file(s) with {Path(spec.model).stem} on {where}"
                    )
                elif todo and not job.summary.stopped:
                    cleaner = _page_cleaner(
                        model, tile_size, batch_size, device, binarize, mixed_precision
                    )
                    if cleaner.precision_note:
                        reporter.warn(cleaner.precision_note)
                    check_tile_and_batch(cleaner.config.tile_size, cleaner.config.batch_size)
                    job.clean_page = cleaner.clean
                    reporter.info(
                        f"cleaning {todo} file(s) with {cleaner.loaded.name} on {device_in_use()}"
                    )
                if todo and not job.summary.stopped:
                    with reporter.bar("cleaning pages", None) as bar:
                        totals: list[int] = []

                        def progress(pages: int, total: int) -> None:
                            if not totals:
                                totals.append(total)
                                bar.reset(total, "cleaning pages")
                            bar.advance(pages)

                        job.progress = progress
                        job.run(on_record)
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
        if stdout.error is not None:
            raise OutputError(
                f"cannot write to stdout: {stdout.error}; stopped",
                "every output written is complete; run the same command again to finish",
            )
        if summary.interrupted:
            reporter.error(
                "interrupted: every output written is complete; "
                "run the same command again to finish"
            )
            raise typer.Exit(int(ExitCode.INTERRUPTED))
    if summary.output_failed:
        raise typer.Exit(int(ExitCode.OUTPUT))
    if summary.files_failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


def check_engine(engine: EngineChoice, ray_address: str | None, to_stdout: bool) -> None:
    """Refuse engine options that cannot work together; with --engine ray, Ray must import
    (checked before TensorFlow loads)."""
    if ray_address is not None and engine != EngineChoice.ray:
        raise UsageError("--ray-address needs --engine ray")
    if engine != EngineChoice.ray:
        return
    if to_stdout:
        raise UsageError("-o - cleans one image in this process", "drop --engine ray")
    from docclean.inference.ray_engine import import_ray

    import_ray()


def _job_class(engine: EngineChoice) -> Any:
    if engine == EngineChoice.ray:
        from docclean.inference.ray_engine import RayCleanJob

        return RayCleanJob
    from docclean.inference.batch import CleanJob

    return CleanJob


def _ray_settings(
    job: Any,
    ray_address: str | None,
    model: str | None,
    tile_size: int | None,
    batch_size: int | None,
    device: DeviceChoice,
    binarize: bool,
    mixed_precision: bool,
) -> None:
    """Tell a RayCleanJob how its actors build the model and where Ray runs."""
    from docclean.inference.ray_engine import CleanerSpec, RayOptions

    job.cleaner = CleanerSpec(model, tile_size, batch_size, device.value, binarize, mixed_precision)
    job.ray = RayOptions(address=ray_address)


def check_tile_and_batch(tile_size: int | None, batch_size: int | None) -> None:
    """Refuse tile and batch sizes one model call could not hold (before TensorFlow loads)."""
    if tile_size is not None and tile_size > defaults.MAX_TILE_SIZE:
        raise UsageError(
            f"--tile-size {tile_size} is more than the limit of {defaults.MAX_TILE_SIZE} px",
            "tiles of 256 to 1472 px are usual",
        )
    if batch_size is not None and batch_size > defaults.MAX_BATCH_SIZE:
        raise UsageError(
            f"--batch-size {batch_size} is more than the limit of {defaults.MAX_BATCH_SIZE} tiles",
            "1 to 32 tiles per call are usual",
        )
    if tile_size is not None and batch_size is not None:
        need = tile_size * tile_size * batch_size * 4
        if need > defaults.TILE_MEMORY_BUDGET:
            raise UsageError(
                f"--tile-size {tile_size} with --batch-size {batch_size} needs "
                f"{need / 2**30:.1f} GiB per model call, more than the limit of "
                f"{defaults.TILE_MEMORY_BUDGET / 2**30:g} GiB",
                "lower one of them",
            )


class _StdoutLines:
    """Lines to stdout; the first failure (a closed pipe, a full disk) sets ``stop`` and is kept,
    further lines are dropped, and stdout is pointed at /dev/null so exiting cannot fail again."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.error: str | None = None

    def write(self, line: str) -> None:
        if self.error is not None:
            return
        try:
            print(line, flush=True)
        except OSError as exc:
            self.error = _stdout_cause(exc)
            self.stop.set()
            _silence_stdout()


def _stdout_cause(exc: OSError) -> str:
    if isinstance(exc, BrokenPipeError):
        return "the reader closed it (broken pipe)"
    return (exc.strerror or str(exc)).lower()


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null: Python's last flush at exit then succeeds."""
    with suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _stdin_binary() -> Any:
    buffer = getattr(sys.stdin, "buffer", None)
    return buffer if buffer is not None else None


def _read_stdin_bytes() -> bytes:
    """All of stdin as bytes (a text-only stdin is encoded back)."""

    buffer = _stdin_binary()
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


def _clean_inputs(
    inputs: list[Path],
    files_from: Path | None,
    null: bool,
    relative_to: Path | None,
    output_dir: Path,
) -> list[Any]:
    """The InputFiles for `clean`: arguments as given, listed paths (``-``: a list on stdin,
    --files-from) keeping their folders below ``relative_to`` or the deepest folder holding
    them all, so that two scan0001.png from different folders stay apart."""
    from docclean.inference.batch import common_root, discover_inputs

    arguments = [spec for spec in inputs if str(spec) != "-"]
    listed = _clean_specs([spec for spec in inputs if str(spec) == "-"], files_from, null)
    files = list(discover_inputs(arguments, output_dir, relative_to))
    if listed:
        root = relative_to if relative_to is not None else common_root(listed)
        files += discover_inputs(listed, output_dir, root)
    return files


def _clean_filter(
    inputs: list[Path],
    files_from: Path | None,
    fmt: FormatChoice,
    dpi: float | None,
    listing: bool,
    reporter: Reporter,
    make_cleaner: Any,
    stop: threading.Event | None = None,
    color: bool = False,
) -> None:
    """`clean X -o -`: clean one image (a file, or - for bytes on stdin) and write it to stdout.

    When ``stop`` is set (a signal) before the image is cleaned, nothing goes to stdout (exit 130).
    """
    import tempfile

    from docclean.inference.batch import CleanJob, InputFile, PageRecord

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
            source = _stdin_to_file(work)
        item = InputFile(source, Path(source.name))
        job = CleanJob(
            [item], work / "out", fmt=fmt.value, overwrite=True, dpi=dpi, jobs=1, color=color
        )
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

        if not job.prepare(on_record):
            raise typer.Exit(int(ExitCode.INPUT_FAILED))
        summary = job.run(on_record)
        if summary.interrupted:
            reporter.error("interrupted: nothing was written to stdout")
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if summary.files_failed or not outputs:
            raise typer.Exit(int(ExitCode.INPUT_FAILED))
        _copy_to_stdout(Path(outputs[0]))
        reporter.info(f"cleaned {summary.pages_done} page(s) in {summary.seconds:.1f} s to stdout")


def _stdin_to_file(folder: Path) -> Path:
    """Image data on stdin into a file in ``folder``, named by its kind: the first bytes are
    looked at before anything else is read (text or zeros fail at once), and at most
    :data:`~docclean.defaults.MAX_STDIN_BYTES` are taken."""
    from docclean.io.images import sniff_suffix

    stream = _stdin_binary()
    if stream is None:  # pragma: no cover - a text-only stdin (some test runners)
        data = sys.stdin.read().encode()
        head, rest = data[:16], [data[16:]]
    else:
        head = b""
        while len(head) < 16:
            more = stream.read(16 - len(head))
            if not more:
                break
            head += more
        rest = None
    if not head:
        raise InputError("<stdin>", "no data on stdin")
    suffix = sniff_suffix(head)
    if suffix is None:
        raise InputError(
            "<stdin>",
            "not PNG, JPEG, TIFF, BMP, WebP or PDF data",
            "to give a list of paths on stdin use --files-from -",
        )
    limit = defaults.MAX_STDIN_BYTES
    source = folder / f"stdin{suffix}"
    chunks = iter(rest) if rest is not None else iter(lambda: stream.read(2**20), b"")
    size = len(head)
    with open(source, "wb") as fh:
        fh.write(head)
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise InputError(
                    "<stdin>",
                    f"more than {limit} bytes of data (the limit for stdin)",
                    "save it to a file and clean that",
                )
            fh.write(chunk)
    return source


def _copy_to_stdout(path: Path) -> None:
    """Copy ``path`` to stdout, every byte accounted for: a short write, a closed pipe or a full
    disk is an OutputError (exit 5), never a truncated image and exit 0."""
    try:
        fd: int | None = sys.stdout.fileno()
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):  # captured stdout (tests): no descriptor
        fd = None
    try:
        with open(path, "rb") as fh:
            if fd is None:
                buffer = sys.stdout.buffer
                for chunk in iter(lambda: fh.read(2**20), b""):
                    buffer.write(chunk)
                buffer.flush()
                return
            for chunk in iter(lambda: fh.read(2**20), b""):
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            _sync_if_file(fd)
    except OSError as exc:
        _silence_stdout()
        raise OutputError(
            f"cannot write to stdout: {_stdout_cause(exc)}",
            "the image on stdout is incomplete; nothing else was written",
        ) from None


def _sync_if_file(fd: int) -> None:
    """fsync stdout when it is a regular file: a full disk may only say so here."""
    import errno
    import stat

    if not stat.S_ISREG(os.fstat(fd).st_mode):
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EROFS):
            raise
