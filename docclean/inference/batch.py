"""Batch cleaning: find inputs, map them to outputs, clean page by page, write atomically, report.

Inputs are never opened for writing. An output that exists is skipped (so a rerun resumes) unless
overwriting is asked for. One bad file is reported and the run goes on (unless ``fail_fast``).
A pool of ``jobs`` threads reads the next files and writes the last ones while the model cleans
the current one in the calling thread; records still come out in input order. Setting the job's
``stop`` event (from a signal handler) ends the run between pages, and writes already under way
finish, so an interrupted run leaves only complete outputs and a rerun resumes it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from docclean.errors import DocCleanError, InputError, OutputError, UsageError
from docclean.io.images import PageImage, count_pages, is_image_path, read_pages, write_pages
from docclean.io.pdf import is_pdf_path

OutputFormat = Literal["same", "png", "tiff", "pdf"]
OutputKind = Literal["png", "tiff", "pdf"]
SUFFIX: dict[OutputKind, str] = {"png": ".png", "tiff": ".tif", "pdf": ".pdf"}
KIND_SUFFIXES: dict[OutputKind, frozenset[str]] = {
    "png": frozenset({".png"}),
    "tiff": frozenset({".tif", ".tiff"}),
    "pdf": frozenset({".pdf"}),
}
MULTIPAGE_SUFFIXES = KIND_SUFFIXES["tiff"] | KIND_SUFFIXES["pdf"]
PLAUSIBLE_DPI = (50.0, 2400.0)
MAX_JOBS = 64


@dataclass(frozen=True)
class InputFile:
    """An input page file and the path its output takes below the output folder."""

    path: Path
    relative: Path


@dataclass
class PageRecord:
    """What happened to one page (or one whole file when it was planned, skipped or unreadable)."""

    input: str
    output: str | None
    page: int | None
    width: int | None
    height: int | None
    dpi: list[float] | None
    seconds: float
    status: Literal["done", "skipped", "failed", "planned"]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    """Counts for the end-of-run line and the exit code."""

    files_done: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    files_planned: int = 0
    pages_done: int = 0
    seconds: float = 0.0
    stopped: bool = False
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def pages_per_second(self) -> float:
        return self.pages_done / self.seconds if self.seconds > 0 else 0.0


def discover_inputs(specs: Iterable[Path], output_dir: Path | None = None) -> Iterator[InputFile]:
    """Files as given, folders searched recursively for images (sorted), skipping ``output_dir``.

    A path that does not exist is yielded as is, so that it is reported like any other bad input.
    """
    excluded = output_dir.resolve() if output_dir is not None else None
    for spec in specs:
        if spec.is_dir() and excluded is not None and _resolved(spec) == excluded:
            raise OutputError(
                f"the output folder {output_dir} is the input folder {spec}",
                "choose another output folder; docclean never writes beside its inputs",
            )
        if spec.is_dir():
            for path in sorted(spec.rglob("*")):
                if excluded is not None and path.resolve().is_relative_to(excluded):
                    continue
                if path.is_file() and is_image_path(path) and not path.name.startswith("."):
                    yield InputFile(path, path.relative_to(spec))
        else:
            yield InputFile(spec, Path(spec.name))


def parse_path_list(data: bytes | str, null: bool = False) -> list[Path]:
    """Paths from a list: one a line (``\\r\\n`` too), or NUL-separated when ``null``.

    Blank entries are ignored; bytes are decoded as file names are (``os.fsdecode``).
    """
    text = os.fsdecode(data) if isinstance(data, bytes) else data
    entries = text.split("\0") if null else text.splitlines()
    return [Path(entry) for entry in entries if entry.strip()]


def output_kind(path: Path, fmt: OutputFormat) -> OutputKind:
    """The format an input becomes: ``fmt``, or for "same" TIFF->TIFF, PDF->PDF, others->PNG.

    JPEG, BMP and WebP become PNG: cleaned pages are never re-encoded lossily.
    """
    if fmt != "same":
        return fmt
    suffix = path.suffix.lower()
    if suffix in KIND_SUFFIXES["tiff"]:
        return "tiff"
    return "pdf" if suffix in KIND_SUFFIXES["pdf"] else "png"


def output_path(item: InputFile, output_dir: Path, kind: OutputKind) -> Path:
    """Where the cleaned ``item`` goes: its relative path under ``output_dir``, suffix by kind.

    An input already of that kind keeps its own suffix (``a.tiff`` stays ``a.tiff``).
    """
    if item.relative.suffix.lower() in KIND_SUFFIXES[kind]:
        return output_dir / item.relative
    return output_dir / item.relative.with_suffix(SUFFIX[kind])


PageCleanerFn = Callable[[np.ndarray], np.ndarray]
RecordFn = Callable[[PageRecord], None]


@dataclass
class _Planned:
    """An input that will be cleaned, where it goes and as what."""

    item: InputFile
    target: Path
    kind: OutputKind


@dataclass
class _Outcome:
    """A file's result in input order: a pending write with its page records, or an error."""

    item: InputFile
    write: Future[None] | None = None
    records: list[PageRecord] = field(default_factory=list)
    error: DocCleanError | None = None


@dataclass
class CleanJob:
    """One batch run: what to read, where to write, and how.

    ``dpi`` overrides every output's DPI (PDF inputs are rendered at it); ``jobs`` is the number
    of reader/writer threads; ``warn`` receives warnings (implausible DPI) in the calling thread;
    ``stop``, once set (from any thread or a signal handler), ends the run between pages.
    """

    inputs: list[InputFile]
    output_dir: Path
    clean_page: PageCleanerFn | None = None
    fmt: OutputFormat = "same"
    overwrite: bool = False
    dpi: float | None = None
    jobs: int = 2
    fail_fast: bool = False
    warn: Callable[[str], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    summary: Summary = field(default_factory=Summary)
    _claimed: dict[Path, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.jobs <= MAX_JOBS:
            raise UsageError(f"--jobs must be between 1 and {MAX_JOBS}, not {self.jobs}")
        if self.dpi is not None and not (self.dpi > 0 and np.isfinite(self.dpi)):
            raise UsageError(f"--dpi must be a positive number, not {self.dpi}")

    def plan(self, on_record: RecordFn) -> Summary:
        """Dry run: report each input as planned, skipped or failed; read and write nothing."""
        started = time.perf_counter()
        self.summary.files_planned = len(self._plan(on_record, report_planned=True))
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def run(self, on_record: RecordFn) -> Summary:
        """Clean every input; calls ``on_record`` for each page (or skipped/failed file).

        When ``stop`` is set the file being cleaned is dropped (a rerun redoes it), queued writes
        finish and ``summary.interrupted`` is set. A KeyboardInterrupt is handled the same way and
        then raised again. An output folder that cannot take files raises OutputError up front.
        """
        if self.clean_page is None:
            raise UsageError("no page cleaner given")
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="docclean-io")
        outcomes: deque[_Outcome] = deque()
        try:
            todo = self._plan(on_record)
            if self.summary.stopped or self._interrupted():  # --fail-fast, or a signal, already
                todo = []
            if todo:
                self._check_output_dir()
            reads = _read_ahead(pool, [p.item for p in todo], self.jobs, self.dpi)
            for planned, loaded in zip(todo, reads, strict=False):
                if self.summary.stopped or self._interrupted():
                    break
                outcome = self._clean_file(pool, planned, loaded)
                if outcome is None:  # stopped between two pages of this file
                    break
                outcomes.append(outcome)
                while outcomes and (len(outcomes) > self.jobs or _settled(outcomes[0])):
                    self._finish(outcomes.popleft(), on_record)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            raise
        finally:
            while outcomes:
                self._finish(outcomes.popleft(), on_record)
            pool.shutdown(wait=True, cancel_futures=True)
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _interrupted(self) -> bool:
        """Whether ``stop`` was set; records it in the summary."""
        if self.stop.is_set():
            self.summary.interrupted = True
        return self.summary.interrupted

    def _check_output_dir(self) -> None:
        """Create the output folder and prove it takes files, so that one fails once, up front."""
        folder = self.output_dir
        try:
            if folder.exists() and not folder.is_dir():
                raise OutputError(f"the output folder {folder} is not a folder")
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            cause = (exc.strerror or str(exc)).lower()
            raise OutputError(
                f"cannot write into the output folder {folder}: {cause}",
                "check its permissions or choose another folder with -o",
            ) from None

    def _clean_file(
        self, pool: ThreadPoolExecutor, planned: _Planned, loaded: Future[list[PageImage]]
    ) -> _Outcome | None:
        """Clean one loaded file and queue its write; errors are kept for their turn.

        Returns None when ``stop`` was set before the file was wholly cleaned: nothing is written.
        """
        try:
            pages = loaded.result()
            self._check_dpi(planned.item, pages)
            cleaned_pages = self._clean_pages(planned, pages)
            if cleaned_pages is None:
                return None
            records, cleaned = cleaned_pages
            dpis = [self._out_dpi(planned.item, page) for page in pages]
            write = pool.submit(write_pages, planned.target, cleaned, None, planned.kind, dpis)
            return _Outcome(planned.item, write, records)
        except DocCleanError as exc:
            if self.fail_fast:
                self.summary.stopped = True
            return _Outcome(planned.item, error=exc)

    def _plan(self, on_record: RecordFn, report_planned: bool = False) -> list[_Planned]:
        """Outputs for every input; existing outputs are skipped, impossible ones fail, up front."""
        inputs_resolved = {_resolved(i.path) for i in self.inputs}
        todo: list[_Planned] = []
        for item in self.inputs:
            if self._interrupted():
                break
            try:
                kind = output_kind(item.path, self.fmt)
                self._check_pages_fit(item, kind)
                target = self._claim(item, kind, inputs_resolved)
            except DocCleanError as exc:
                self._fail(item, exc, on_record)
                if self.summary.stopped:
                    break
                continue
            if target.exists() and not self.overwrite:
                self.summary.files_skipped += 1
                on_record(_file_record(item, target, "skipped"))
            else:
                todo.append(_Planned(item, target, kind))
                if report_planned:
                    on_record(_file_record(item, target, "planned"))
        return todo

    def _check_pages_fit(self, item: InputFile, kind: OutputKind) -> None:
        """A multi-page input asked to become a PNG fails (PNG holds one page)."""
        if kind != "png" or item.path.suffix.lower() not in MULTIPAGE_SUFFIXES:
            return
        pages = count_pages(item.path)
        if pages > 1:
            raise InputError(
                item.path,
                f"has {pages} pages and PNG holds one",
                "use --format same, tiff or pdf for multi-page documents",
            )

    def _finish(self, outcome: _Outcome, on_record: RecordFn) -> None:
        """Wait for a file's write; report its pages as done, or the file as failed."""
        error = outcome.error
        if error is None and outcome.write is not None:
            try:
                outcome.write.result()
            except DocCleanError as exc:  # name the input too: the message names the output
                error = OutputError(f"{outcome.item.path}: {exc.message}", exc.hint)
        if error is not None:
            self._fail(outcome.item, error, on_record)
            return
        self.summary.files_done += 1
        self.summary.pages_done += len(outcome.records)
        for record in outcome.records:
            on_record(record)

    def _fail(self, item: InputFile, exc: DocCleanError, on_record: RecordFn) -> None:
        self.summary.files_failed += 1
        self.summary.failures.append(str(exc))
        if self.fail_fast:
            self.summary.stopped = True
        on_record(_failed(item, exc))

    def _claim(self, item: InputFile, kind: OutputKind, inputs: set[Path]) -> Path:
        """The output path for ``item``, refused when it is an input or another input's output."""
        target = output_path(item, self.output_dir, kind)
        resolved = _resolved(target)
        if resolved in inputs:
            raise OutputError(
                f"{item.path}: its output {target} is an input file",
                "choose an output folder that is not the input folder",
            )
        other = self._claimed.get(resolved)
        if other is not None:
            raise OutputError(
                f"{item.path}: its output {target} is also the output of {other}",
                "rename one of them or clean them into different folders",
            )
        self._claimed[resolved] = item.path
        return target

    def _out_dpi(self, item: InputFile, page: PageImage) -> tuple[float, float] | None:
        """--dpi, else the page's own; PDF pages were rendered at --dpi and carry their actual DPI."""
        return (self.dpi, self.dpi) if self.dpi and not is_pdf_path(item.path) else page.dpi

    def _check_dpi(self, item: InputFile, pages: list[PageImage]) -> None:
        """Warn once per file whose DPI is implausible (unless --dpi overrides it)."""
        if self.dpi or self.warn is None:
            return
        low, high = PLAUSIBLE_DPI
        for page in pages:
            if page.dpi is not None and not all(low <= v <= high for v in page.dpi):
                where = f" (page {page.index + 1})" if len(pages) > 1 else ""
                self.warn(
                    f"{item.path}{where} claims {page.dpi[0]:g}x{page.dpi[1]:g} dpi, an "
                    f"implausible resolution (expected {low:g} to {high:g}); "
                    "set the right one with --dpi"
                )
                return

    def _clean_pages(
        self, planned: _Planned, pages: list[PageImage]
    ) -> tuple[list[PageRecord], list[np.ndarray]] | None:
        """Clean each page and describe it; None when ``stop`` is set before the last page."""
        assert self.clean_page is not None
        records: list[PageRecord] = []
        cleaned: list[np.ndarray] = []
        for page in pages:
            if self._interrupted():
                return None
            started = time.perf_counter()
            cleaned.append(self.clean_page(page.pixels))
            height, width = page.pixels.shape
            dpi = self._out_dpi(planned.item, page)
            records.append(
                PageRecord(
                    input=str(planned.item.path),
                    output=str(planned.target),
                    page=page.index,
                    width=width,
                    height=height,
                    dpi=list(dpi) if dpi else None,
                    seconds=round(time.perf_counter() - started, 4),
                    status="done",
                )
            )
        return records, cleaned


def _settled(outcome: _Outcome) -> bool:
    return outcome.write is None or outcome.write.done()


def _read_ahead(
    pool: ThreadPoolExecutor, inputs: list[InputFile], depth: int, pdf_dpi: float | None
) -> Iterator[Future[list[PageImage]]]:
    """Futures of each input's pages, in order, with up to ``depth`` files read ahead."""
    futures: deque[Future[list[PageImage]]] = deque()
    queued = 0
    for _ in inputs:
        while queued < len(inputs) and len(futures) <= depth:
            futures.append(pool.submit(_read_all, inputs[queued].path, pdf_dpi))
            queued += 1
        yield futures.popleft()  # dropped by the caller once cleaned, freeing the pages


def _read_all(path: Path, pdf_dpi: float | None) -> list[PageImage]:
    """Every page of ``path``; any failure is an InputError, so one file never ends the run."""
    if path.is_dir():
        raise InputError(path, "is a folder with no images docclean reads")
    try:
        return list(read_pages(path, pdf_dpi))
    except DocCleanError:
        raise
    except MemoryError:
        raise InputError(path, "not enough memory to decode it") from None
    except Exception as exc:  # a decoder failure imageio does not know yet
        raise InputError(path, f"cannot be read ({type(exc).__name__}: {exc})") from exc


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _file_record(
    item: InputFile, target: Path, status: Literal["skipped", "planned"]
) -> PageRecord:
    return PageRecord(str(item.path), str(target), None, None, None, None, 0.0, status)


def _failed(item: InputFile, exc: DocCleanError) -> PageRecord:
    return PageRecord(str(item.path), None, None, None, None, None, 0.0, "failed", str(exc))
