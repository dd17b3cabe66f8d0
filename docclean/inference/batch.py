"""Batch cleaning: find inputs, map them to outputs, clean page by page, write atomically, report.

Inputs are never opened for writing. An output that exists is skipped (so a rerun resumes) unless
overwriting is asked for. One bad file is reported and the run goes on (unless ``fail_fast``).
A pool of ``jobs`` threads reads the next files and writes the last ones while
:data:`~docclean.defaults.PAGES_CLEANED_AT_ONCE` threads clean pages (one in the model while the
next is prepared around it); records still come out in input order. Setting the job's
``stop`` event (from a signal handler) starts no more pages: those being cleaned and the writes
under way finish, so an interrupted run leaves only complete outputs and a rerun resumes it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from docclean.defaults import PAGES_CLEANED_AT_ONCE
from docclean.errors import DocCleanError, InputError, OutputError, OutputExistsError, UsageError
from docclean.inference.color import recolor
from docclean.io.images import (
    MAX_PIXELS,
    PageImage,
    count_pages,
    is_image_path,
    read_pages,
    write_pages,
)
from docclean.io.partial import PartialPages, is_partial_folder
from docclean.io.pdf import check_pdf_render_size, is_pdf_path

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
    output_failed: int = 0
    files_planned: int = 0
    pages_done: int = 0
    seconds: float = 0.0
    stopped: bool = False
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def pages_per_second(self) -> float:
        return self.pages_done / self.seconds if self.seconds > 0 else 0.0


def discover_inputs(
    specs: Iterable[Path], output_dir: Path | None = None, relative_to: Path | None = None
) -> Iterator[InputFile]:
    """Files as given, folders searched recursively for images (sorted), skipping ``output_dir``.

    A path that does not exist is yielded as is, so that it is reported like any other bad input;
    so are symlink loops and dangling symlinks found in folders. A file's output path is its
    name, or with ``relative_to`` its path below that folder (see :func:`common_root`); a
    folder's files keep their paths below the folder (and the folder's own below
    ``relative_to``).
    """
    excluded = output_dir.resolve() if output_dir is not None else None
    for spec in specs:
        if spec.is_dir() and excluded is not None and _resolved(spec) == excluded:
            raise OutputError(
                f"the output folder {output_dir} is the input folder {spec}",
                "choose another output folder; docclean never writes beside its inputs",
            )
        base = _below(spec, relative_to) if relative_to is not None else None
        if spec.is_dir():
            for path in _walk(spec, excluded):
                relative = path.relative_to(spec)
                yield InputFile(path, base / relative if base is not None else relative)
        else:
            yield InputFile(spec, base if base is not None else Path(spec.name))


def common_root(paths: Sequence[Path]) -> Path:
    """The deepest folder holding every path listed (a listed folder counts as itself), so that
    outputs keep the folders that tell same-named files apart."""
    if not paths:
        return Path.cwd()
    folders = [os.path.abspath(p if p.is_dir() else p.parent) for p in paths]
    return Path(os.path.commonpath(folders))


def _below(path: Path, root: Path) -> Path:
    """``path`` relative to ``root`` (both made absolute, symlinks kept); UsageError outside it."""
    absolute, base = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if not absolute.is_relative_to(base) or (absolute == base and not path.is_dir()):
        raise UsageError(
            f"{path} is not inside --relative-to {root}",
            "give a folder that holds every listed path",
        )
    return absolute.relative_to(base)


def _walk(folder: Path, excluded: Path | None) -> Iterator[Path]:
    """Image files below ``folder`` (sorted), without hidden files, docclean's partial-page
    folders or ``excluded``; broken symlinks (loops, dangling) are yielded to be reported."""
    for path in sorted(folder.rglob("*")):
        if path.name.startswith(".") or any(
            is_partial_folder(Path(part)) for part in path.relative_to(folder).parts[:-1]
        ):
            continue
        if path.is_symlink():
            try:
                os.stat(path)
            except OSError as exc:  # a loop is always named; a dangling link when an image's
                if exc.errno == errno.ELOOP or is_image_path(path):
                    yield path
                continue
        if excluded is not None and _resolved(path).is_relative_to(excluded):
            continue
        if path.is_file() and is_image_path(path):
            yield path


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


class _WriteFailedError(OutputError):
    """An output that was being written failed (a full disk, permissions), as opposed to one
    refused while planning (it would be an input, or another input's output)."""


PageCleanerFn = Callable[[np.ndarray], np.ndarray]
RecordFn = Callable[[PageRecord], None]
ProgressFn = Callable[[int, int], None]
"""Called as ``progress(pages_advanced, pages_in_all)``: once with 0 when the total is known,
then once per page cleaned (or taken over from an interrupted run)."""


@dataclass
class _Planned:
    """An input that will be cleaned, where it goes, as what, and from which page on."""

    item: InputFile
    target: Path
    kind: OutputKind
    pages: int
    partial: PartialPages | None = None
    start: int = 0


@dataclass
class _Outcome:
    """A file's result in input order: a pending write with its page records, or an error."""

    item: InputFile
    write: Future[None] | None = None
    records: list[PageRecord] = field(default_factory=list)
    error: DocCleanError | None = None
    target: Path | None = None


@dataclass
class _FileState:
    """The file being cleaned: its cleaned pages (or their pending writes to the partial store)."""

    planned: _Planned
    records: list[PageRecord] = field(default_factory=list)
    cleaned: list[np.ndarray] = field(default_factory=list)
    dpis: list[tuple[float, float] | None] = field(default_factory=list)
    kept: list[Future[None]] = field(default_factory=list)
    warned: bool = False
    error: DocCleanError | None = None


@dataclass
class CleanJob:
    """One batch run: what to read, where to write, and how.

    ``dpi`` overrides every output's DPI (PDF inputs are rendered at it); ``jobs`` is the number
    of writer threads and of pages read ahead; ``pages_at_once`` the number of pages cleaned at
    the same time (each on its own thread, taken in order); ``warn`` receives warnings
    (implausible DPI) in the calling thread; ``stop``, once set (from any thread or a signal
    handler), starts no more pages (those under way are taken); ``settings`` (model, options)
    are kept with an interrupted file's finished pages, so that only a rerun with the same ones
    continues them; ``progress`` hears of every page.
    """

    inputs: list[InputFile]
    output_dir: Path
    clean_page: PageCleanerFn | None = None
    fmt: OutputFormat = "same"
    overwrite: bool = False
    dpi: float | None = None
    jobs: int = 2
    pages_at_once: int = PAGES_CLEANED_AT_ONCE
    fail_fast: bool = False
    warn: Callable[[str], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    summary: Summary = field(default_factory=Summary)
    settings: dict[str, Any] = field(default_factory=dict)
    progress: ProgressFn | None = None
    color: bool = False
    _claimed: dict[Path, Path] = field(default_factory=dict)
    _todo: list[_Planned] | None = None

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

    def prepare(self, on_record: RecordFn) -> int:
        """Check every input and claim its output before any model loads: missing, unreadable
        and oversized inputs are reported (failed) and existing outputs skipped here. Returns
        the number of files left to clean; :meth:`run` then cleans those."""
        started = time.perf_counter()
        self._todo = self._plan(on_record)
        self.summary.seconds = time.perf_counter() - started
        if self.summary.stopped or self._interrupted():
            self._todo = []
        return len(self._todo)

    def run(self, on_record: RecordFn) -> Summary:
        """Clean every input; calls ``on_record`` for each page (or skipped/failed file).

        Pages stream: each is read, cleaned and written (a multi-page file's pages to its
        partial store) before the next ones are read, so memory does not grow with the page
        count. When ``stop`` is set the file being cleaned keeps its finished pages (a rerun
        continues after them), queued writes finish and ``summary.interrupted`` is set. A
        KeyboardInterrupt is handled the same way and then raised again. An output folder that
        cannot take files raises OutputError up front.
        """
        if self.clean_page is None:
            raise UsageError("no page cleaner given")
        started = time.perf_counter() - self.summary.seconds
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="docclean-io")
        outcomes: deque[_Outcome] = deque()
        reader: PageSource | None = None
        ahead: _CleanedAhead | None = None
        state: _FileState | None = None
        try:
            todo = self._todo if self._todo is not None else self._plan(on_record)
            self._todo = []
            if self.summary.stopped or self._interrupted():  # --fail-fast, or a signal, already
                todo = []
            if todo:
                self._check_output_dir()
            total = sum(planned.pages for planned in todo)
            self._advance(0, total)
            reader = self._page_source(todo)
            ahead = _CleanedAhead(reader, self._cleaned, self.pages_at_once, self._stopping)
            for index, entry, cleaning in ahead:  # once stopping, those under way are taken
                if self.summary.stopped:
                    break
                if state is None or state.planned is not todo[index]:
                    state = self._start_file(todo[index], total)
                if isinstance(entry, PageImage):
                    assert cleaning is not None
                    if state.error is None:
                        try:
                            self._clean_one(pool, state, entry, cleaning, total)
                        except DocCleanError as exc:  # the file fails; its pages are drained
                            state.error = exc
                    continue
                entry = entry or state.error
                outcome = self._end_file(pool, state, entry)
                state = None
                outcomes.append(outcome)
                while outcomes and (len(outcomes) > self.jobs or _settled(outcomes[0])):
                    self._finish(outcomes.popleft(), on_record)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            raise
        finally:
            if ahead is not None:  # pages cleaned ahead and not taken are dropped
                ahead.close()
            if reader is not None:
                reader.close()
            while outcomes:
                self._finish(outcomes.popleft(), on_record)
            pool.shutdown(wait=True)  # queued writes finish: a kept page is never dropped
            if state is not None and state.planned.partial is not None:
                state.planned.partial.release()  # an unfinished file: its pages await a rerun
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _page_source(self, todo: list[_Planned]) -> PageSource:
        """The planned files' pages in order, as :func:`read_file_entries` gives each file's
        (another engine decodes and cleans them elsewhere: see :meth:`_cleaned`)."""
        return _PageReader(todo, self.dpi, depth=self.jobs, color=self.color)

    def _cleaned(self, page: PageImage) -> tuple[np.ndarray, float]:
        """``page`` cleaned, and the seconds that took."""
        assert self.clean_page is not None
        started = time.perf_counter()
        cleaned = self.clean_page(page.pixels)
        if page.rgb is not None and cleaned.dtype != np.bool_:  # --color: ink keeps its colour
            cleaned = recolor(page.rgb, cleaned)
        return cleaned, time.perf_counter() - started

    def _advance(self, pages: int, total: int) -> None:
        if self.progress is not None:
            self.progress(pages, total)

    def _stopping(self) -> bool:
        """Whether to start cleaning no more pages: --fail-fast after a failure, or ``stop``."""
        return self.summary.stopped or self._interrupted()

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

    def _start_file(self, planned: _Planned, total: int) -> _FileState:
        """Begin a file: a multi-page one's partial store is made ready (or continued)."""
        state = _FileState(planned)
        if planned.partial is not None:
            try:
                if not planned.partial.lock():
                    state.error = OutputExistsError(
                        f"{planned.target} is being cleaned by another docclean run; left to it"
                    )
                    return state
                planned.partial.begin(planned.start)
            except OSError as exc:
                cause = (exc.strerror or str(exc)).lower()
                state.error = _WriteFailedError(
                    f"cannot keep pages beside {planned.target}: {cause}"
                )
            if planned.start:
                self._advance(planned.start, total)
        return state

    def _clean_one(
        self,
        pool: ThreadPoolExecutor,
        state: _FileState,
        page: PageImage,
        cleaning: Future[tuple[np.ndarray, float]],
        total: int,
    ) -> None:
        """Take one page's cleaning (``cleaning``: :meth:`_cleaned` under way); a multi-page
        file's page goes to its partial store at once."""
        planned = state.planned
        if not state.warned:
            state.warned = self._check_dpi(planned.item, page, planned.pages)
        cleaned, seconds = cleaning.result()
        height, width = page.pixels.shape
        dpi = self._out_dpi(planned.item, page)
        state.records.append(
            PageRecord(
                input=str(planned.item.path),
                output=str(planned.target),
                page=page.index,
                width=width,
                height=height,
                dpi=list(dpi) if dpi else None,
                seconds=round(seconds, 4),
                status="done",
            )
        )
        del page
        if planned.partial is None:
            state.cleaned.append(cleaned)
            state.dpis.append(dpi)
        else:
            index = planned.start + len(state.records) - 1
            state.kept.append(pool.submit(planned.partial.add, index, cleaned, dpi))
            _wait_while_busy(state.kept, self.jobs)
        self._advance(1, total)

    def _end_file(
        self, pool: ThreadPoolExecutor, state: _FileState, end: DocCleanError | None
    ) -> _Outcome:
        """The file's last page was cleaned (``end`` None) or reading it failed (``end``)."""
        planned = state.planned
        if isinstance(end, OutputExistsError):  # another run holds its pages: left to it
            return _Outcome(planned.item, error=end, target=planned.target)
        if end is not None:
            for kept in state.kept:
                kept.exception()  # wait: the folder is removed after its last write
            if planned.partial is not None:
                planned.partial.discard()
            if self.fail_fast:
                self.summary.stopped = True
            return _Outcome(planned.item, error=end)
        if planned.partial is None:
            write = pool.submit(
                write_pages,
                planned.target,
                state.cleaned,
                None,
                planned.kind,
                state.dpis,
                self.overwrite,
            )
        else:
            write = pool.submit(_assemble, planned, state.kept, self.overwrite)
        state.cleaned = []
        return _Outcome(planned.item, write, state.records, target=planned.target)

    def _plan(self, on_record: RecordFn, report_planned: bool = False) -> list[_Planned]:
        """Outputs for every input; existing outputs are skipped, impossible ones fail, up front.

        Every input's pages are counted here (a missing, unreadable or oversized one fails
        before anything loads), and a multi-page input's finished pages from an interrupted
        run are found.
        """
        inputs_resolved = {_resolved(i.path) for i in self.inputs}
        todo: list[_Planned] = []
        for item in self.inputs:
            if self._interrupted():
                break
            try:
                kind = output_kind(item.path, self.fmt)
                pages = self._count_pages(item, kind, dry=report_planned)
                target = self._claim(item, kind, inputs_resolved)
            except DocCleanError as exc:
                self._fail(item, exc, on_record)
                if self.summary.stopped:
                    break
                continue
            if _exists(target) and not self.overwrite:
                self.summary.files_skipped += 1
                on_record(_file_record(item, target, "skipped"))
                stale = PartialPages(target, {})
                if not report_planned and stale.folder.is_dir() and stale.lock():
                    stale.discard()  # the output is complete: pages left beside it are not needed
                continue
            planned = _Planned(item, target, kind, pages)
            if pages > 1:
                planned.partial = PartialPages(target, self._source(item, kind))
                planned.start = planned.partial.finished(pages)
            todo.append(planned)
            if report_planned:
                on_record(_file_record(item, target, "planned"))
        return todo

    def _source(self, item: InputFile, kind: OutputKind) -> dict[str, Any]:
        """What a multi-page file's kept pages were made from: input, format and settings."""
        info = item.path.stat()
        return {
            "input": os.path.abspath(item.path),
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
            "format": kind,
            "dpi": self.dpi,
            "settings": self.settings,
        }

    def _count_pages(self, item: InputFile, kind: OutputKind, dry: bool = False) -> int:
        """The input's page count (a cheap look at its header or page list); raises InputError.

        A PDF page that would render above the pixel limit, and a multi-page input asked to
        become a PNG (PNG holds one page), fail here. A dry run (``dry``) opens only the
        multi-page inputs asked to become PNG, and counts every other input as one page.
        """
        if dry and (kind != "png" or item.path.suffix.lower() not in MULTIPAGE_SUFFIXES):
            return 1
        if item.path.is_dir():
            raise InputError(item.path, "is a folder with no images docclean reads")
        try:
            if is_pdf_path(item.path):
                count_pages(item.path)  # the file checks: missing, empty, encrypted...
                pages = check_pdf_render_size(item.path, self.dpi, MAX_PIXELS)
            else:
                pages = count_pages(item.path)
        except DocCleanError:
            raise
        except Exception as exc:  # a decoder failure imageio does not know yet
            raise InputError(item.path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
        if kind == "png" and pages > 1:
            raise InputError(
                item.path,
                f"has {pages} pages and PNG holds one",
                "use --format same, tiff or pdf for multi-page documents",
            )
        return pages

    def _finish(self, outcome: _Outcome, on_record: RecordFn) -> None:
        """Wait for a file's write; report its pages as done, or the file as failed."""
        error = outcome.error
        if error is None and outcome.write is not None:
            try:
                outcome.write.result()
            except OutputExistsError as exc:
                error = exc
            except DocCleanError as exc:  # name the input too: the message names the output
                error = _WriteFailedError(f"{outcome.item.path}: {exc.message}", exc.hint)
        if isinstance(error, OutputExistsError):  # another run wrote it (or is): theirs stays
            self.summary.files_skipped += 1
            target = outcome.target or output_path(outcome.item, self.output_dir, "png")
            record = _file_record(outcome.item, target, "skipped")
            record.error = error.message
            on_record(record)
            return
        if error is not None:
            self._fail(outcome.item, error, on_record)
            return
        self.summary.files_done += 1
        self.summary.pages_done += len(outcome.records)
        for record in outcome.records:
            on_record(record)

    def _fail(self, item: InputFile, exc: DocCleanError, on_record: RecordFn) -> None:
        """Count and report a failed file; an output that could not be written (not an output
        refused while planning, e.g. one that would be an input) counts as an output failure."""
        self.summary.files_failed += 1
        if isinstance(exc, _WriteFailedError):
            self.summary.output_failed += 1
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

    def _check_dpi(self, item: InputFile, page: PageImage, pages: int) -> bool:
        """Warn (once per file) when a page's DPI is implausible (unless --dpi overrides it)."""
        if self.dpi or self.warn is None:
            return False
        low, high = PLAUSIBLE_DPI
        if page.dpi is not None and not all(low <= v <= high for v in page.dpi):
            where = f" (page {page.index + 1})" if pages > 1 else ""
            self.warn(
                f"{item.path}{where} claims {page.dpi[0]:g}x{page.dpi[1]:g} dpi, an "
                f"implausible resolution (expected {low:g} to {high:g}); "
                "set the right one with --dpi"
            )
            return True
        return False


def _assemble(planned: _Planned, kept: list[Future[None]], overwrite: bool) -> None:
    """Write a multi-page output from its partial store, a page at a time, then drop the store."""
    partial = planned.partial
    assert partial is not None
    try:
        try:
            for future in kept:
                future.result()  # a page that could not be kept fails the file (the rest stay)
            dpis = partial.dpis(planned.pages)
        except OSError as exc:
            cause = (exc.strerror or str(exc)).lower()
            raise OutputError(f"cannot keep the pages of {planned.target}: {cause}") from exc
        write_pages(
            planned.target, partial.pages(planned.pages), None, planned.kind, dpis, overwrite
        )
    except OutputExistsError:  # another run's output is in place: these pages are not needed
        partial.discard()
        raise
    except BaseException:  # kept for a rerun
        partial.release()
        raise
    partial.discard()


def _wait_while_busy(futures: list[Future[None]], limit: int) -> None:
    """Wait until at most ``limit`` of ``futures`` are unfinished (cleaned pages do not pile up)."""
    while sum(not f.done() for f in futures) > limit:
        next(f for f in futures if not f.done()).exception()


def _settled(outcome: _Outcome) -> bool:
    return outcome.write is None or outcome.write.done()


_END = object()


class _CleanedAhead:
    """A page source's entries in order, each page with its cleaning (a future of
    :meth:`CleanJob._cleaned`'s result) started as soon as fewer than ``depth`` pages are being
    cleaned, each on its own thread; other entries come with None. Once ``stopping()`` says so
    no more are read, and the entries already read are given out (their cleanings are under
    way). ``close`` drops the cleanings not taken (those under way finish first)."""

    def __init__(
        self,
        source: PageSource,
        clean: Callable[[PageImage], tuple[np.ndarray, float]],
        depth: int,
        stopping: Callable[[], bool],
    ) -> None:
        self._source = iter(source)
        self._stopping = stopping
        self._clean = clean
        self._depth = max(1, depth)
        self._pool = ThreadPoolExecutor(self._depth, thread_name_prefix="docclean-clean")
        self._ahead: deque[tuple[int, Any, Future[Any] | None]] = deque()
        self._pages_ahead = 0

    def __iter__(
        self,
    ) -> Iterator[tuple[int, PageImage | DocCleanError | None, Future[Any] | None]]:
        read_all = False
        while True:
            while not read_all and self._pages_ahead < self._depth and not self._stopping():
                try:
                    index, entry = next(self._source)
                except StopIteration:
                    read_all = True
                    break
                cleaning = None
                if isinstance(entry, PageImage):
                    cleaning = self._pool.submit(self._clean, entry)
                    self._pages_ahead += 1
                self._ahead.append((index, entry, cleaning))
            if not self._ahead:
                return
            taken = self._ahead.popleft()
            self._pages_ahead -= taken[2] is not None
            yield taken

    def close(self) -> None:
        self._ahead.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)


class PageSource(Protocol):
    """``(file index, entry)`` for the planned files in order, each file's pages then None (or
    its error); ``close`` stops it early."""

    def __iter__(self) -> Iterator[tuple[int, PageImage | DocCleanError | None]]: ...

    def close(self) -> None: ...


class _PageReader:
    """The planned files' pages in order, decoded by one thread at most ``depth`` pages ahead.

    Yields ``(file index, PageImage)`` for each page, then ``(file index, None)`` when the
    file's pages are all read, or ``(file index, InputError)`` when reading it failed.
    """

    def __init__(
        self, todo: list[_Planned], pdf_dpi: float | None, depth: int, color: bool = False
    ) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._fill, args=(todo, pdf_dpi, color), name="docclean-reader", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> Iterator[tuple[int, PageImage | DocCleanError | None]]:
        while True:
            entry = self._queue.get()
            if entry is _END:
                return
            if isinstance(entry, BaseException):  # a bug in the reader: not swallowed
                raise entry
            yield entry

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join()

    def _fill(self, todo: list[_Planned], pdf_dpi: float | None, color: bool) -> None:
        entries = _read_entries(todo, pdf_dpi, color)
        try:
            for entry in entries:
                if not self._put(entry):
                    return
            self._put(_END)
        except BaseException as exc:  # pragma: no cover - _read_entries catches what it knows
            self._put(exc)
        finally:
            entries.close()

    def _put(self, entry: object) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False


def _read_entries(
    todo: list[_Planned], pdf_dpi: float | None, color: bool = False
) -> Generator[tuple[int, PageImage | DocCleanError | None], None, None]:
    for index, planned in enumerate(todo):
        for entry in read_file_entries(planned.item.path, pdf_dpi, planned.start, color):
            yield index, entry


def read_file_entries(
    path: Path, pdf_dpi: float | None, start: int = 0, color: bool = False
) -> Generator[PageImage | DocCleanError | None, None, None]:
    """A file's pages from ``start`` on, then None; or, when reading fails, the InputError
    (after the pages read before it). With ``color``, colour pages carry their RGB."""
    try:
        yield from read_pages(path, pdf_dpi, start=start, color=color)
    except DocCleanError as exc:
        yield exc
        return
    except MemoryError:
        yield InputError(path, "not enough memory to decode it")
        return
    except Exception as exc:  # a decoder failure imageio does not know yet
        yield InputError(path, f"cannot be read ({type(exc).__name__}: {exc})")
        return
    yield None


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _file_record(
    item: InputFile, target: Path, status: Literal["skipped", "planned"]
) -> PageRecord:
    return PageRecord(str(item.path), str(target), None, None, None, None, 0.0, status)


def _failed(item: InputFile, exc: DocCleanError) -> PageRecord:
    return PageRecord(str(item.path), None, None, None, None, None, 0.0, "failed", str(exc))
