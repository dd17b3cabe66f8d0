"""Finished pages of a multi-page output, kept beside it until the whole file can be assembled.

A multi-page TIFF or PDF is cleaned page by page into a hidden folder ``.NAME.docclean-partial``
next to its output: one PNG per page (8-bit gray or bilevel, its DPI in a text chunk; for a PDF
compressed as a PDF page holds it, so that the PDF takes the file's data as it is), each written
atomically, and ``source.json`` saying which input and settings the pages belong to. An
interrupted run leaves the folder; the next run with the same input and settings continues after
the last page it holds. The output is assembled from the folder a page at a time and the folder
is removed once the output is in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
from PIL import Image, PngImagePlugin

from docclean.io.atomic import atomic_path, hidden_name, write_text_atomic
from docclean.io.images import to_uint8
from docclean.io.pdf import PDF_PNG_LEVEL

PARTIAL_TAG = "docclean-partial"
_SOURCE = "source.json"
_DPI_KEY = "docclean-dpi"


def partial_folder(target: Path) -> Path:
    """The hidden folder beside ``target`` that holds its finished pages."""
    return target.parent / hidden_name(target.name, PARTIAL_TAG)


def is_partial_folder(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith("." + PARTIAL_TAG)


class PartialPages:
    """The finished pages of ``target``, made from the input and settings in ``source``."""

    def __init__(self, target: Path, source: dict[str, Any]) -> None:
        self.target = target
        self.folder = partial_folder(target)
        self.source = source
        self._lock: int | None = None

    def lock(self) -> bool:
        """Hold the folder (made if missing) for this run: False when another run holds it
        (two runs into one folder never write the same pages). :meth:`discard` or
        :meth:`release` lets go."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:  # a file system without locks: go on unlocked
            pass
        self._lock = fd
        return True

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock)
            self._lock = None

    def _page(self, index: int) -> Path:
        return self.folder / f"page{index + 1:05d}.png"

    def finished(self, total: int) -> int:
        """How many leading pages (of ``total``) an earlier run left for this very input; reads
        only, so a dry run may ask."""
        try:
            kept = json.loads((self.folder / _SOURCE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0
        if kept != self.source:
            return 0
        count = 0
        while count < total and self._page(count).is_file():
            count += 1
        return count

    def begin(self, start: int) -> None:
        """Get the (locked) folder ready to take page ``start`` on: emptied when ``start`` is 0."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if start == 0:
            for old in self.folder.iterdir():
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink(missing_ok=True)
            write_text_atomic(self.folder / _SOURCE, json.dumps(self.source, sort_keys=True))

    def add(self, index: int, pixels: np.ndarray, dpi: tuple[float, float] | None) -> None:
        """Keep one cleaned page (float in [0, 1], uint8 or bool) with its DPI, atomically."""
        arr = np.asarray(pixels)
        if arr.dtype == np.bool_:
            image = Image.fromarray(np.ascontiguousarray(arr))
        else:
            image = Image.fromarray(arr if arr.dtype == np.uint8 else to_uint8(arr))
        info = PngImagePlugin.PngInfo()
        if dpi is not None:
            info.add_text(_DPI_KEY, json.dumps([float(dpi[0]), float(dpi[1])]))
        with atomic_path(self._page(index)) as tmp:
            level = PDF_PNG_LEVEL if self.source.get("format") == "pdf" else 1
            image.save(tmp, format="PNG", compress_level=level, pnginfo=info)

    def dpis(self, total: int) -> list[tuple[float, float] | None]:
        """Each kept page's DPI (reads the PNG headers only)."""
        out: list[tuple[float, float] | None] = []
        for index in range(total):
            with Image.open(self._page(index)) as image:
                raw = image.info.get(_DPI_KEY)
            values: list[Any] = json.loads(raw) if raw else []
            ok = len(values) == 2 and all(isinstance(v, float) and math.isfinite(v) for v in values)
            out.append((values[0], values[1]) if ok else None)
        return out

    def pages(self, total: int) -> Sequence[Image.Image]:
        """The ``total`` kept pages as a lazy sequence of images, each opened (not decoded) when
        it is asked for: a PDF embeds a gray page's PNG data as it is, a TIFF decodes it."""
        return _LazyPages(self, total)

    def open(self, index: int) -> Image.Image:
        return Image.open(self._page(index))

    def discard(self) -> None:
        """Remove the folder and what it holds (it is docclean's own), and let go of it."""
        if self.folder.is_dir() and not self.folder.is_symlink():
            shutil.rmtree(self.folder, ignore_errors=True)
        self.release()


class _LazyPages(Sequence[Image.Image]):
    def __init__(self, partial: PartialPages, total: int) -> None:
        self._partial = partial
        self._total = total

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> Image.Image: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Image.Image]: ...
    def __getitem__(self, index: int | slice) -> Image.Image | Sequence[Image.Image]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._total))]
        if not 0 <= index < self._total:
            raise IndexError(index)
        return self._partial.open(index)
