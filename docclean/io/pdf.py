"""PDF pages in and out: render scanned pages at their image's resolution, write pages losslessly.

Reading uses pypdfium2: each page is rendered in gray at the DPI of the largest image it holds (so
a scan comes back at its own pixel size), or at :data:`DEFAULT_DPI` when it holds none. Writing
uses img2pdf: gray pages go in as lossless PNG data, bilevel pages as CCITT G4, and each page gets
the size in points that its pixels and DPI give, so the PDF prints as the input did.

PDFium is not thread-safe, so every call into it holds one module-wide lock.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, TypeGuard

import numpy as np
from PIL import Image, ImageFile

from docclean.errors import InputError

__all__ = [
    "DEFAULT_DPI",
    "check_pdf_render_size",
    "count_pdf_pages",
    "is_pdf_path",
    "iter_pdf_pages",
    "pdf_bytes",
    "write_pdf",
]

DEFAULT_DPI: float = 300.0
REOPEN_EVERY = 8
"""Pages read from one opening of a PDF (PDFium caches what it decoded until it closes)."""
_POINTS_PER_INCH = 72.0
PDF_PNG_LEVEL = 6
"""zlib level of a gray page's PNG data in a PDF (Pillow's default: smaller files than the PNG
outputs' :data:`~docclean.io.images.PNG_COMPRESS_LEVEL`, as archives keep PDFs)."""
_MIN_POINTS = 3.0  # smallest page side PDF viewers (and pikepdf) accept
_pdfium_lock = threading.RLock()
# PDFium's document-loading error codes (FPDF_ERR_*).
_LOAD_CAUSES = {
    2: "cannot open the file",
    3: "corrupt PDF (not in PDF format or damaged)",
    4: "encrypted PDF (needs a password)",
    5: "encrypted PDF (unsupported security handler)",
    6: "encrypted PDF (unsupported security handler)",
}


def is_pdf_path(path: Path) -> bool:
    """Whether ``path`` has the .pdf suffix (case-insensitive)."""
    return Path(path).suffix.lower() == ".pdf"


def _open(path: Path) -> Any:
    """Open a PDF with PDFium (caller holds the lock); raises InputError naming the cause."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None) or (4 if "password" in str(exc).lower() else 0)
        cause = _LOAD_CAUSES.get(code, f"unreadable PDF ({exc})")
        hint = "decrypt it first (e.g. qpdf --decrypt)" if "encrypted" in cause else None
        raise InputError(path, cause, hint) from exc
    except OSError as exc:
        raise InputError(path, f"cannot open the file ({exc.strerror or exc})") from exc


def count_pdf_pages(path: Path) -> int:
    """Number of pages of a PDF; raises InputError for encrypted, corrupt or empty ones."""
    with _pdfium_lock:
        doc = _open(path)
        try:
            count = len(doc)
        finally:
            doc.close()
    if count == 0:
        raise InputError(path, "PDF has no pages")
    return count


def check_pdf_render_size(path: Path, dpi: float | None, max_pixels: int) -> int:
    """The page count of a PDF, after checking that every page renders within ``max_pixels``.

    Pages render at ``dpi`` when given, else at their largest image's DPI, else DEFAULT_DPI; a
    page above the limit is an InputError naming it (only its size is read, nothing rendered).
    Without ``dpi``, pages above the limit are refused too: their output could not be written
    at the resolution they hold.
    """
    with _pdfium_lock:
        doc = _open(path)
        try:
            total = len(doc)
            if total == 0:
                raise InputError(path, "PDF has no pages")
            for index in range(total):
                page = doc[index]
                try:
                    width_pt, height_pt = page.get_size()
                    page_dpi = (dpi, dpi) if dpi else _image_dpi(page) or (DEFAULT_DPI,) * 2
                finally:
                    page.close()
                width = round(width_pt * page_dpi[0] / _POINTS_PER_INCH)
                height = round(height_pt * page_dpi[1] / _POINTS_PER_INCH)
                if width * height > max_pixels:
                    raise InputError(
                        path,
                        f"page {index + 1} of {total} would render at {width}x{height} pixels "
                        f"({page_dpi[0]:g} dpi), more than the limit of {max_pixels}",
                        "give a lower --dpi",
                    )
        except InputError:
            raise
        except Exception as exc:
            raise InputError(path, f"unreadable PDF ({exc})") from exc
        finally:
            doc.close()
    return total


def _image_dpi(page: Any) -> tuple[float, float] | None:
    """DPI (horizontal, vertical, on the page as shown) of the page's largest image, if any."""
    import pypdfium2 as pdfium

    best: tuple[int, tuple[float, float]] | None = None
    for obj in page.get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,)):
        try:
            px_w, px_h = obj.get_px_size()
            a, b, c, d, _, _ = obj.get_matrix().get()
        except pdfium.PdfiumError:
            continue
        width_pt, height_pt = math.hypot(a, b), math.hypot(c, d)
        if px_w <= 0 or px_h <= 0 or width_pt <= 0 or height_pt <= 0:
            continue
        dpi = (px_w * _POINTS_PER_INCH / width_pt, px_h * _POINTS_PER_INCH / height_pt)
        if abs(b) + abs(c) > abs(a) + abs(d):  # image turned a quarter on the page
            dpi = (dpi[1], dpi[0])
        if best is None or px_w * px_h > best[0]:
            best = (px_w * px_h, dpi)
    if best is None:
        return None
    dpi = best[1]
    if page.get_rotation() in (90, 270):
        dpi = (dpi[1], dpi[0])
    return dpi


def _tidy(value: float) -> float:
    """Round a DPI to 0.01, snapping values within 0.03 of a whole number to it."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 0.03 else round(value, 2)


def _render(
    page: Any, dpi: tuple[float, float], max_pixels: int, color: bool = False
) -> tuple[np.ndarray, tuple[float, float]]:
    """Render ``page`` in 8-bit gray (``color``: HxWx3 RGB) at ``dpi`` (lowered to fit
    ``max_pixels``).

    Returns the pixels and their actual DPI: the page size in whole pixels over its size in inches.
    """
    import pypdfium2 as pdfium

    width_pt, height_pt = page.get_size()
    width = max(1, round(width_pt * dpi[0] / _POINTS_PER_INCH))
    height = max(1, round(height_pt * dpi[1] / _POINTS_PER_INCH))
    if width * height > max_pixels:
        shrink = math.sqrt(max_pixels / (width * height)) * 0.999
        dpi = (dpi[0] * shrink, dpi[1] * shrink)
        width = max(1, math.floor(width_pt * dpi[0] / _POINTS_PER_INCH))
        height = max(1, math.floor(height_pt * dpi[1] / _POINTS_PER_INCH))
    kind = pdfium.raw.FPDFBitmap_BGR if color else pdfium.raw.FPDFBitmap_Gray
    bitmap = pdfium.PdfBitmap.new_native(width, height, kind)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, width, height)
    flags = pdfium.raw.FPDF_ANNOT | (pdfium.raw.FPDF_REVERSE_BYTE_ORDER if color else 0)
    flags |= 0 if color else pdfium.raw.FPDF_GRAYSCALE
    pdfium.raw.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, flags)
    if color:
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8)[:height, :width, :3]
    else:
        pixels = np.array(bitmap.to_numpy(), dtype=np.uint8).reshape(height, -1)[:, :width]
    # The DPI the whole pixels really have, so that pixels * 72 / DPI is the page size again.
    actual = (width * _POINTS_PER_INCH / width_pt, height * _POINTS_PER_INCH / height_pt)
    return pixels, (_tidy(actual[0]), _tidy(actual[1]))


def _native_pixels(page: Any, rendered: np.ndarray) -> np.ndarray | None:
    """The page's one image decoded as is, when it fills the page upright at the rendered size.

    Rendering may shift or resample a scan by a pixel (page sizes are float32 in PDFium), so a
    page that is just one upright full-page image (and no annotations) takes that image's own
    pixels instead. They are used only when they agree with the rendering at a coarse scale that
    a one-pixel shift does not change, so masks or decode arrays the raw image may lack fall back
    to the rendering.
    """
    import pypdfium2 as pdfium

    if page.get_rotation() != 0 or pdfium.raw.FPDFPage_GetAnnotCount(page) != 0:
        return None
    objects = list(page.get_objects(max_depth=1))
    if len(objects) != 1 or objects[0].type != pdfium.raw.FPDF_PAGEOBJ_IMAGE:
        return None
    image = objects[0]
    try:
        a, b, c, d, _, _ = image.get_matrix().get()
        if a <= 0 or d <= 0 or abs(b) > 1e-3 * a or abs(c) > 1e-3 * d:
            return None
        if tuple(image.get_px_size()) != (rendered.shape[1], rendered.shape[0]):
            return None
        mode = "RGB" if rendered.ndim == 3 else "L"
        native = np.asarray(image.get_bitmap(render=False).to_pil().convert(mode))
    except Exception:  # formats PDFium cannot hand out raw: keep the rendering
        return None
    if native.shape != rendered.shape:
        return None
    if native.ndim == 3:  # colour: compare the channels' mean
        difference = np.abs(_block_means(native.mean(axis=2)) - _block_means(rendered.mean(axis=2)))
    else:
        difference = np.abs(_block_means(native) - _block_means(rendered))
    difference = difference.mean()
    return native if difference < 16 else None


def _block_means(pixels: np.ndarray, block: int = 8) -> np.ndarray:
    """Means of ``block`` x ``block`` tiles (edge rows and columns that do not fill one dropped)."""
    by, bx = (min(block, n) for n in pixels.shape)
    height, width = (n - n % b for n, b in zip(pixels.shape, (by, bx), strict=True))
    tiles = pixels[:height, :width].astype(np.float32)
    return tiles.reshape(height // by, by, width // bx, bx).mean(axis=(1, 3))


def iter_pdf_pages(
    path: Path, dpi: float | None, max_pixels: int, start: int = 0, color: bool = False
) -> Generator[tuple[np.ndarray, tuple[float, float]], None, None]:
    """Yield each page from the 0-based ``start`` on as (uint8 gray pixels, DPI), in order
    (``color``: HxWx3 RGB pixels).

    Pages render at ``dpi`` when given, else at their largest image's DPI, else DEFAULT_DPI.
    PDFium keeps every image it decoded until its document closes, so the document is opened
    again every :data:`REOPEN_EVERY` pages: memory stays flat however long the PDF is.
    """
    with _pdfium_lock:
        doc = _open(path)
        total = len(doc)
    try:
        if total == 0:
            raise InputError(path, "PDF has no pages")
        for index in range(start, total):
            with _pdfium_lock:
                if index > start and (index - start) % REOPEN_EVERY == 0:
                    doc.close()
                    doc = _open(path)
                try:
                    page = doc[index]
                    try:
                        page_dpi = (dpi, dpi) if dpi else _image_dpi(page) or (DEFAULT_DPI,) * 2
                        pixels, page_dpi = _render(page, page_dpi, max_pixels, color)
                        native = None if dpi else _native_pixels(page, pixels)
                        result = (pixels if native is None else native, page_dpi)
                    finally:
                        page.close()
                except InputError:
                    raise
                except Exception as exc:
                    raise InputError(
                        path, f"page {index + 1} of {total} cannot be rendered ({exc})"
                    ) from exc
            yield result
    finally:
        with _pdfium_lock:
            doc.close()


def _page_data(page: Image.Image) -> bytes:
    """One page as image data img2pdf embeds without loss: G4 TIFF for mode "1", else PNG (a
    gray or colour PNG file's own data, as it is; the file is closed)."""
    if _kept_png(page):
        with page, open(page.filename, "rb") as data:
            return data.read()
    buffer = io.BytesIO()
    if page.mode == "1":
        page.save(buffer, format="TIFF", compression="group4")
    else:
        page.save(buffer, format="PNG", compress_level=PDF_PNG_LEVEL)
    return buffer.getvalue()


def _kept_png(page: Image.Image) -> TypeGuard[ImageFile.ImageFile]:
    """Whether ``page`` is a gray or colour PNG opened from a file (a kept page)."""
    return (
        isinstance(page, ImageFile.ImageFile)
        and page.format == "PNG"
        and bool(page.filename)
        and page.mode in ("L", "RGB")
    )


def write_pdf(
    stream: IO[bytes], pages: Iterable[Image.Image], dpis: Sequence[tuple[float, float]]
) -> None:
    """Write a PDF with one page per image to ``stream``, each ``pixels * 72 / dpi`` points in size.

    Pages are taken one at a time as img2pdf asks for them, and only their compressed data is
    kept until the PDF is written, never the decoded pages.
    """
    import img2pdf

    images = iter(pages)
    sizes = iter(enumerate(dpis, start=1))

    class _NextPage:
        def read(self) -> bytes:  # img2pdf reads each item in turn
            return _page_data(next(images))

    def layout(width_px: int, height_px: int, ndpi: object) -> tuple[float, float, float, float]:
        number, dpi = next(sizes)  # img2pdf lays pages out in order, one call each
        width_pt = width_px * _POINTS_PER_INCH / dpi[0]
        height_pt = height_px * _POINTS_PER_INCH / dpi[1]
        if min(width_pt, height_pt) < _MIN_POINTS:
            raise ValueError(
                f"page {number} would be {width_pt:.2f} x {height_pt:.2f} pt, and PDF pages "
                f"must be at least {_MIN_POINTS:g} pt (give a lower --dpi)"
            )
        return width_pt, height_pt, width_pt, height_pt

    img2pdf.convert(
        [_NextPage() for _ in dpis], layout_fun=layout, nodate=True, outputstream=stream
    )


def pdf_bytes(pages: Iterable[Image.Image], dpis: Sequence[tuple[float, float]]) -> bytes:
    """A PDF with one page per image, each ``pixels * 72 / dpi`` points in size."""
    buffer = io.BytesIO()
    write_pdf(buffer, pages, dpis)
    return buffer.getvalue()
