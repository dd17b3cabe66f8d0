"""Batch cleaning: find inputs, map them to outputs, clean page by page, write atomically, report.

Inputs are never opened for writing. An output that exists is skipped (so a rerun resumes) unless
overwriting is asked for. One bad file is reported and the run goes on. Reading the next file and
writing the last one overlap with inference on the current one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from docclean.errors import DocCleanError, InputError, OutputError
from docclean.imageio import PageImage, count_pages, is_image_path, read_pages, write_pages

OutputFormat = Literal["png", "tiff"]
SUFFIX = {"png": ".png", "tiff": ".tif"}
TIFF_SUFFIXES = frozenset({".tif", ".tiff"})


@dataclass(frozen=True)
class InputFile:
    """An input page file and the path its output takes below the output folder."""

    path: Path
    relative: Path


@dataclass
class PageRecord:
    """What happened to one page (or one whole file when it was skipped or unreadable)."""

    input: str
    output: str | None
    page: int | None
    width: int | None
    height: int | None
    dpi: list[float] | None
    seconds: float
    status: Literal["done", "skipped", "failed"]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    """Counts for the end-of-run line and the exit code."""

    files_done: int = 0
    files_skipped: int = 0
    files_failed: int = 0
    pages_done: int = 0
    seconds: float = 0.0
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


def read_path_list(lines: Iterable[str]) -> list[Path]:
    """Paths from a list, one a line; blank lines are ignored."""
    return [Path(line.rstrip("\r\n")) for line in lines if line.strip()]


def output_path(item: InputFile, output_dir: Path, fmt: OutputFormat, pages: int) -> Path:
    """Where the cleaned ``item`` goes: its relative path under ``output_dir``, suffix by format.

    Several pages always make a TIFF, the one format here that holds pages in order.
    """
    kind: OutputFormat = "tiff" if pages > 1 else fmt
    return output_dir / item.relative.with_suffix(SUFFIX[kind])


PageCleanerFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class CleanJob:
    """One batch run: what to read, where to write, and how."""

    inputs: list[InputFile]
    output_dir: Path
    clean_page: PageCleanerFn
    fmt: OutputFormat = "png"
    overwrite: bool = False
    summary: Summary = field(default_factory=Summary)
    _claimed: dict[Path, Path] = field(default_factory=dict)

    def run(self, on_record: Callable[[PageRecord], None]) -> Summary:
        """Clean every input; calls ``on_record`` for each page (or skipped/failed file)."""
        started = time.perf_counter()
        todo = self._plan(on_record)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="docclean-io") as pool:
            pending: Future[None] | None = None
            for (item, target), (_, loaded) in zip(
                todo, _read_ahead(pool, [i for i, _ in todo]), strict=True
            ):
                try:
                    pages = loaded.result()
                    records, cleaned = self._clean_pages(item, pages, target)
                    if pending is not None:
                        self._finish(pending, on_record)
                    kind = "tiff" if len(pages) > 1 else self.fmt
                    pending = pool.submit(write_pages, target, cleaned, pages[0].dpi, kind)
                    pending.records = records  # type: ignore[attr-defined]
                    pending.item = item  # type: ignore[attr-defined]
                except DocCleanError as exc:
                    self._fail(item, exc, on_record)
            if pending is not None:
                self._finish(pending, on_record)
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _plan(self, on_record: Callable[[PageRecord], None]) -> list[tuple[InputFile, Path]]:
        """Outputs for every input; existing outputs are skipped, impossible ones fail, up front."""
        inputs_resolved = {_resolved(i.path) for i in self.inputs}
        todo: list[tuple[InputFile, Path]] = []
        for item in self.inputs:
            try:
                pages = count_pages(item.path) if item.path.suffix.lower() in TIFF_SUFFIXES else 1
                target = self._claim(item, pages, inputs_resolved)
            except DocCleanError as exc:
                self._fail(item, exc, on_record)
                continue
            if target.exists() and not self.overwrite:
                self.summary.files_skipped += 1
                on_record(_skipped(item, target))
            else:
                todo.append((item, target))
        return todo

    def _finish(self, write: Future[None], on_record: Callable[[PageRecord], None]) -> None:
        """Wait for a file's write; report its pages as done, or the file as failed."""
        records: list[PageRecord] = write.records  # type: ignore[attr-defined]
        try:
            write.result()
        except DocCleanError as exc:
            self._fail(write.item, exc, on_record)  # type: ignore[attr-defined]
            return
        self.summary.files_done += 1
        self.summary.pages_done += len(records)
        for record in records:
            on_record(record)

    def _fail(
        self, item: InputFile, exc: DocCleanError, on_record: Callable[[PageRecord], None]
    ) -> None:
        self.summary.files_failed += 1
        self.summary.failures.append(str(exc))
        on_record(_failed(item, exc))

    def _claim(self, item: InputFile, pages: int, inputs: set[Path]) -> Path:
        """The output path for ``item``, refused when it is an input or another input's output."""
        target = output_path(item, self.output_dir, self.fmt, pages)
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

    def _clean_pages(
        self, item: InputFile, pages: list[PageImage], target: Path
    ) -> tuple[list[PageRecord], list[np.ndarray]]:
        records: list[PageRecord] = []
        cleaned: list[np.ndarray] = []
        for page in pages:
            started = time.perf_counter()
            cleaned.append(self.clean_page(page.pixels))
            height, width = page.pixels.shape
            records.append(
                PageRecord(
                    input=str(item.path),
                    output=str(target),
                    page=page.index,
                    width=width,
                    height=height,
                    dpi=list(page.dpi) if page.dpi else None,
                    seconds=round(time.perf_counter() - started, 4),
                    status="done",
                )
            )
        return records, cleaned


def _read_ahead(
    pool: ThreadPoolExecutor, inputs: list[InputFile]
) -> Iterator[tuple[InputFile, Future[list[PageImage]]]]:
    """Yield each input with a future of its pages; the next file is read while this one is cleaned."""
    futures: list[Future[list[PageImage]]] = []
    for index, item in enumerate(inputs):
        while len(futures) <= index + 1 and len(futures) < len(inputs):
            futures.append(pool.submit(_read_all, inputs[len(futures)].path))
        yield item, futures[index]
        futures[index] = None  # type: ignore[call-overload]  # free the pages once cleaned


def _read_all(path: Path) -> list[PageImage]:
    if path.is_dir():
        raise InputError(path, "is a folder with no images docclean reads")
    return list(read_pages(path))


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _skipped(item: InputFile, target: Path) -> PageRecord:
    return PageRecord(str(item.path), str(target), None, None, None, None, 0.0, "skipped")


def _failed(item: InputFile, exc: DocCleanError) -> PageRecord:
    return PageRecord(str(item.path), None, None, None, None, None, 0.0, "failed", str(exc))
