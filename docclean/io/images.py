"""Read and write page images: decoding to float gray, DPI, multi-page TIFF and PDF, atomic writes.

Every unreadable input becomes :class:`~docclean.errors.InputError` (naming the file and
a short cause); every failed write becomes :class:`~docclean.errors.OutputError`. PDF pages are
rendered and written by :mod:`docclean.io.pdf`.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import threading
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, TiffImagePlugin, UnidentifiedImageError

from docclean.errors import InputError, OutputError, OutputExistsError
from docclean.io.atomic import TargetExistsError, atomic_path
from docclean.io.pdf import DEFAULT_DPI, count_pdf_pages, is_pdf_path, iter_pdf_pages, write_pdf

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_PIXELS",
    "PageImage",
    "count_pages",
    "is_image_path",
    "read_image",
    "read_pages",
    "to_float_gray",
    "to_uint8",
    "write_pages",
]

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".pdf"}
)
MAX_PIXELS: int = 20000 * 20000

# Formats whose extra frames are pages; for others (APNG, animated WebP) only frame 0 is read.
_MULTIPAGE_FORMATS = frozenset({"TIFF"})
_WRITE_FORMATS = {"png": "PNG", "tiff": "TIFF", "tif": "TIFF", "pdf": "PDF"}
PNG_COMPRESS_LEVEL = 3
"""zlib level for PNG pages: a cleaned A4 page at 300 dpi encodes in 0.28 s at 3 against 0.61 s at
Pillow's default 6, for a file about 10 % larger."""
# ITU-R 601-2 luma, the weights Pillow's convert("L") uses.
_LUMA = (0.299, 0.587, 0.114)
_CORRUPT = "truncated or corrupt image data"
_TIFF_X_RESOLUTION = 282
_SWAPS_AXES = frozenset({5, 6, 7, 8})  # EXIF orientations that rotate by 90 degrees


@dataclass(frozen=True)
class PageImage:
    """One decoded page: float32 gray pixels in [0, 1], its DPI and 0-based page index; when
    colour was asked for and the page has it, ``rgb`` holds its colours (HxWx3 uint8, over
    white)."""

    pixels: np.ndarray
    dpi: tuple[float, float] | None
    index: int
    rgb: np.ndarray | None = None


def is_image_path(path: Path) -> bool:
    """Whether ``path`` has a supported image suffix (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


# --- Pillow global settings -------------------------------------------------------------

_guard_lock = threading.Lock()
_guard_depth = 0
_saved_max_pixels: int | None = None


@contextlib.contextmanager
def _pillow_guard() -> Iterator[None]:
    """Disable Pillow's own pixel limit (we enforce MAX_PIXELS) and refuse truncated data.

    Reference-counted so overlapping use from several threads restores the old limit once.
    """
    global _guard_depth, _saved_max_pixels
    with _guard_lock:
        if _guard_depth == 0:
            _saved_max_pixels = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _guard_depth += 1
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        with _guard_lock:
            _guard_depth -= 1
            if _guard_depth == 0:
                Image.MAX_IMAGE_PIXELS = _saved_max_pixels


# --- reading ------------------------------------------------------------------------------


def _os_cause(exc: OSError) -> str:
    """Short lower-case cause for an OS-level error."""
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return f"i/o error ({exc})" if str(exc) else "i/o error"


def _decode_cause(exc: BaseException) -> str:
    """Short lower-case cause for an exception raised by Pillow while opening/decoding."""
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image (cannot identify image file)"
    if isinstance(exc, Image.DecompressionBombError):
        return f"too many pixels, more than the limit of {MAX_PIXELS}"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    if isinstance(exc, (SyntaxError, EOFError, struct.error, zlib.error, IndexError)):
        return _CORRUPT
    text = str(exc).strip()
    low = text.lower()
    if "not supported" in low or "unsupported" in low or "not available" in low:
        return f"unsupported image data ({text})"
    if "truncated" in low or "broken" in low or "corrupt" in low or "decod" in low:
        return _CORRUPT
    return f"corrupt image data ({text or type(exc).__name__})"


def _check_size(path: Path, image: Image.Image, page: str = "") -> None:
    """Refuse pages whose header claims more than MAX_PIXELS, before decoding them."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InputError(path, f"{page}claims an empty size of {width}x{height} pixels")
    if width * height > MAX_PIXELS:
        raise InputError(
            path,
            f"{page}claims {width}x{height} pixels, more than the limit of {MAX_PIXELS}",
            "possible decompression bomb; split or downscale the image",
        )


def _check_file(path: Path) -> None:
    """Refuse folders, missing and empty files with a clear cause."""
    try:
        if path.is_dir():
            raise InputError(path, "is a directory")
        if path.stat().st_size == 0:
            raise InputError(path, "empty file (0 bytes)")
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and path.is_symlink():
            raise InputError(path, "dangling symlink (its target does not exist)") from exc
        raise InputError(path, _os_cause(exc)) from exc


def _open(path: Path) -> ImageFile.ImageFile:
    """Open ``path`` (header only) inside the guard; checks existence, size and pixel count."""
    _check_file(path)
    try:
        image = Image.open(path)
    except OSError as exc:
        if type(exc) is not OSError and not isinstance(exc, UnidentifiedImageError):
            raise InputError(path, _os_cause(exc)) from exc  # FileNotFound, Permission...
        raise InputError(path, _decode_cause(exc)) from exc
    except Exception as exc:  # Pillow raises many types for bad headers
        raise InputError(path, _decode_cause(exc)) from exc
    try:
        _check_size(path, image)
    except InputError:
        image.close()
        raise
    return image


def _frame_count(path: Path, image: ImageFile.ImageFile) -> int:
    """Number of pages of an opened image (1 unless a multi-page format)."""
    if image.format not in _MULTIPAGE_FORMATS:
        return 1
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except Exception as exc:
        cause = _decode_cause(exc)
        if cause.startswith("corrupt image data"):
            cause = _CORRUPT
        raise InputError(path, f"{cause} (cannot read the page list)") from exc


def count_pages(path: Path) -> int:
    """Number of pages in an image file (multi-page TIFF: frames; PDF: pages); raises InputError."""
    path = Path(path)
    if is_pdf_path(path):
        _check_file(path)
        return count_pdf_pages(path)
    with _pillow_guard():
        image = _open(path)
        with image:
            return _frame_count(path, image)


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    """DPI from ``image.info`` rounded to 0.01, None if absent or invalid.

    Values within 0.03 of a whole number are snapped to it: PNG stores whole pixels per metre,
    so 150 dpi reads back as 150.0124 (1 px/m is 0.0254 dpi).
    """
    raw = image.info.get("dpi")
    tags = getattr(image, "tag_v2", None)
    if tags is not None and _TIFF_X_RESOLUTION not in tags:
        return None  # Pillow reports (1, 1) for TIFFs without resolution tags
    try:
        if raw is None or len(raw) != 2:
            return None
        values = (float(raw[0]), float(raw[1]))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(v) and v > 0 for v in values):
        return None

    def tidy(v: float) -> float:
        nearest = round(v)
        return float(nearest) if abs(v - nearest) < 0.03 else round(v, 2)

    return tidy(values[0]), tidy(values[1])


def _orientation(image: Image.Image) -> int:
    """EXIF orientation (1 when absent or unreadable; a broken EXIF block is not fatal)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:
        return 1


def _decode_page(
    path: Path, image: ImageFile.ImageFile, index: int, total: int, color: bool = False
) -> PageImage:
    """Decode the current frame of ``image`` into a PageImage (raises InputError); with
    ``color``, a colour frame's RGB too."""
    page = f"page {index + 1} of {total} " if total > 1 else ""
    _check_size(path, image, page)
    try:
        image.load()
        dpi = _dpi(image)
        orientation = _orientation(image)
        upright: Image.Image = image
        if orientation != 1:
            upright = ImageOps.exif_transpose(image)
            if dpi is not None and orientation in _SWAPS_AXES:
                dpi = (dpi[1], dpi[0])
        pixels = to_float_gray(upright)
        rgb = to_rgb(upright) if color else None
    except _UnsupportedModeError as exc:
        raise InputError(path, f"{page}{exc}") from exc
    except Exception as exc:
        cause = _decode_cause(exc)
        raise InputError(path, f"{page}is corrupt: {cause}" if page else cause) from exc
    return PageImage(pixels=pixels, dpi=dpi, index=index, rgb=rgb)


def _iter_pages(
    path: Path, first_only: bool = False, start: int = 0, color: bool = False
) -> Generator[PageImage, None, None]:
    """Decode pages one at a time from page ``start`` on, holding the file open between them."""
    with _pillow_guard():
        image = _open(path)
    with image:
        total = 1 if first_only else _frame_count(path, image)
        for index in range(start, total):
            with _pillow_guard():
                if index:
                    try:
                        image.seek(index)
                    except Exception as exc:
                        cause = f"page {index + 1} of {total} is corrupt: {_decode_cause(exc)}"
                        raise InputError(path, cause) from exc
                result = _decode_page(path, image, index, total, color)
            yield result


def _iter_pdf(
    path: Path, dpi: float | None, start: int = 0, color: bool = False
) -> Generator[PageImage, None, None]:
    """PDF pages as PageImages (see :func:`docclean.io.pdf.iter_pdf_pages`); with ``color``,
    pages are rendered in colour and a page with colour keeps its RGB."""
    _check_file(path)
    pages = iter_pdf_pages(path, dpi, MAX_PIXELS, start, color=color)
    for index, (pixels, page_dpi) in enumerate(pages, start=start):
        if pixels.ndim == 3:
            yield PageImage(
                pixels=_luma(pixels, 255.0), dpi=page_dpi, index=index, rgb=_colored(pixels)
            )
            continue
        yield PageImage(
            pixels=pixels.astype(np.float32) / np.float32(255), dpi=page_dpi, index=index
        )


def read_pages(
    path: Path, pdf_dpi: float | None = None, start: int = 0, color: bool = False
) -> Iterator[PageImage]:
    """Yield every page of ``path`` lazily (multi-page TIFF: all frames; PDF: all pages; in order),
    from the 0-based page ``start`` on (the pages before it are not decoded).

    The file is probed (exists, non-empty, an image, not too large) before this returns,
    so those errors raise here; damage inside the pixel data raises during iteration.
    PDF pages are rendered at ``pdf_dpi`` when given, else at the DPI of the image they hold.
    With ``color``, each page that has colour also carries it (:attr:`PageImage.rgb`).
    """
    path = Path(path)
    count_pages(path)
    if is_pdf_path(path):
        return _iter_pdf(path, pdf_dpi, start, color)
    return _iter_pages(path, start=start, color=color)


def read_image(path: Path) -> PageImage:
    """First page of ``path`` (training and evaluation use); raises InputError."""
    path = Path(path)
    pages = _iter_pdf(path, None) if is_pdf_path(path) else _iter_pages(path, first_only=True)
    try:
        return next(pages)
    except StopIteration:  # pragma: no cover - every image has a first frame
        raise InputError(path, "no pages") from None
    finally:
        pages.close()


# --- pixel conversion ---------------------------------------------------------------------


class _UnsupportedModeError(ValueError):
    """A Pillow mode to_float_gray cannot convert."""


def _luma(rgb: np.ndarray, scale: float) -> np.ndarray:
    """ITU-R 601 luma of an HxWx3(+) array, in float32, divided by ``scale``."""
    out = rgb[..., 0].astype(np.float32)
    out *= np.float32(_LUMA[0] / scale)
    out += rgb[..., 1] * np.float32(_LUMA[1] / scale)
    out += rgb[..., 2] * np.float32(_LUMA[2] / scale)
    return out


def _over_white(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite float gray over white paper using 8-bit alpha."""
    a = alpha.astype(np.float32)
    a /= np.float32(255)
    gray *= a
    gray += np.float32(1) - a
    return gray


def _int_scale(image: Image.Image, values: np.ndarray) -> tuple[np.ndarray, float]:
    """Values and full-scale of a mode "I" image.

    A declared TIFF depth of 1 to 16 bits is used as is; 32-bit (or undeclared) data is scaled
    by its real range: values up to 255 as 8-bit, up to 65535 as 16-bit, else the full 32 bits
    (a scanner's 0..255 page stored as 32-bit integers is not a black page).
    """
    tags = getattr(image, "tag_v2", None)
    bits: int | None = None
    signed = False
    if tags is not None:
        with contextlib.suppress(Exception):
            bps = tags.get(258)
            bits = int(bps[0] if isinstance(bps, tuple) else bps) if bps is not None else None
            fmt = tags.get(339)
            signed = int(fmt[0] if isinstance(fmt, tuple) else fmt) == 2 if fmt else False
    if bits is not None and 1 <= bits <= 16:
        return values, float(2 ** (bits - 1) - 1 if signed else 2**bits - 1)
    if values.size == 0 or (values.min() >= 0 and values.max() <= 65535):
        return values, 255.0 if values.size and values.max() <= 255 and bits == 32 else 65535.0
    if bits == 32 and not signed:
        return values.view(np.uint32), float(2**32 - 1)
    return values, float(2**31 - 1)


def _float_scaled(values: np.ndarray) -> np.ndarray:
    """Mode "F" pixels in [0, 1]: data in 0..1 taken as is (a little over- or undershoot clipped),
    data reaching above 2 taken as 0..255; NaN, infinity or any other range is refused."""
    if values.size == 0:
        return values.astype(np.float32)
    if not np.isfinite(values).all():
        raise _UnsupportedModeError("has NaN or infinite pixel values (a damaged float image)")
    low, high = float(values.min()), float(values.max())
    scale = 255.0 if high > 2.0 else 1.0
    if low < -scale or high > 1.01 * 255:
        raise _UnsupportedModeError(
            f"has float pixel values from {low:g} to {high:g}, neither 0..1 nor 0..255"
        )
    out = values.astype(np.float32) / np.float32(scale)
    return np.clip(out, 0.0, 1.0, out=out)


def to_float_gray(image: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any common mode to float32 HxW gray in [0, 1].

    Transparency is composited over white; colour uses ITU-R 601 luma computed in float;
    16-bit gray keeps its precision (divided by 65535). Mode "F" is taken as 0..1 or 0..255 by
    its range; NaN, infinity or another range raise (an InputError when read from a file).
    """
    mode = image.mode
    if mode == "1":
        return np.asarray(image, dtype=np.float32)
    if mode == "L":
        return np.asarray(image).astype(np.float32) / np.float32(255)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.float32) / np.float32(65535)
    if mode == "I":
        values, scale = _int_scale(image, np.asarray(image))
        out = values.astype(np.float64) / scale
        return np.clip(out, 0.0, 1.0).astype(np.float32)
    if mode == "F":
        return _float_scaled(np.asarray(image, dtype=np.float32))
    if mode == "LA":
        arr = np.asarray(image)
        gray = arr[..., 0].astype(np.float32) / np.float32(255)
        return _over_white(gray, arr[..., 1])
    if mode == "RGB":
        return _luma(np.asarray(image), 255.0)
    if mode == "RGBA":
        arr = np.asarray(image)
        return _over_white(_luma(arr, 255.0), arr[..., 3])
    if mode in ("P", "PA"):
        has_alpha = (
            mode == "PA"
            or "transparency" in image.info
            or (image.palette is not None and "A" in image.palette.mode)
        )
        return to_float_gray(image.convert("RGBA" if has_alpha else "RGB"))
    if mode in ("La", "RGBa"):
        return to_float_gray(image.convert("RGBA" if mode == "RGBa" else "LA"))
    try:
        converted = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
    except (ValueError, OSError) as exc:
        raise _UnsupportedModeError(f"unsupported image mode {mode!r}") from exc
    return to_float_gray(converted)


_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


def to_rgb(image: Image.Image) -> np.ndarray | None:
    """A colour image's pixels as HxWx3 uint8 (transparency over white); None for gray modes
    and for colour images whose pixels are all gray (nothing to keep)."""
    if image.mode in _GRAY_MODES:
        return None
    try:
        rgba = np.asarray(image.convert("RGBA"))
    except (ValueError, OSError) as exc:
        raise _UnsupportedModeError(f"unsupported image mode {image.mode!r}") from exc
    alpha = rgba[..., 3:].astype(np.float32) / np.float32(255)
    rgb = rgba[..., :3].astype(np.float32) * alpha + np.float32(255) * (1 - alpha)
    return _colored(np.floor(rgb + np.float32(0.5)).astype(np.uint8))


def _colored(rgb: np.ndarray) -> np.ndarray | None:
    """``rgb`` (HxWx3 uint8), or None when R, G and B are equal everywhere (a gray page)."""
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return None
    return np.ascontiguousarray(rgb)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Float in [0, 1] to uint8: scaled by 255, rounded half up, clipped; NaN becomes 0."""
    values = np.nan_to_num(np.asarray(pixels, dtype=np.float32), nan=0.0)
    values = np.clip(values, 0.0, 1.0) * np.float32(255)
    return np.floor(values + np.float32(0.5)).astype(np.uint8)


# --- writing ------------------------------------------------------------------------------


def _page_image(path: Path, page: np.ndarray | Image.Image, number: int) -> Image.Image:
    """A Pillow image for one page array: mode "L" for float [0, 1] or uint8, "1" for bool,
    "RGB" for HxWx3; an image (a page docclean kept) as it is."""
    if isinstance(page, Image.Image):
        return page
    arr = np.asarray(page)
    colour = arr.ndim == 3 and arr.shape[2] == 3
    if not (arr.ndim == 2 or colour) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise OutputError(f"cannot write {path}: page {number} has shape {arr.shape}, not HxW")
    if arr.dtype == np.bool_:
        return Image.fromarray(np.ascontiguousarray(arr))  # mode "1", True is white
    if arr.dtype == np.uint8:
        data = np.ascontiguousarray(arr)
    elif np.issubdtype(arr.dtype, np.floating):
        data = to_uint8(arr)
    else:
        raise OutputError(
            f"cannot write {path}: page {number} has dtype {arr.dtype}, not float or uint8"
        )
    return Image.fromarray(data)


def _valid_dpi(path: Path, dpi: tuple[float, float] | None) -> tuple[float, float] | None:
    """``dpi`` as two floats, or OutputError when it is not two positive finite numbers."""
    if dpi is None:
        return None
    if len(dpi) != 2 or not all(math.isfinite(v) and v > 0 for v in dpi):
        raise OutputError(f"cannot write {path}: invalid dpi {dpi!r}")
    return float(dpi[0]), float(dpi[1])


def _save_pil(
    fh: IO[bytes],
    pil_format: str,
    images: Iterable[Image.Image],
    dpis: list[tuple[float, float] | None],
) -> None:
    """Encode ``images`` into ``fh`` one at a time (PNG: one page; TIFF: one or more; PDF via
    img2pdf, which holds the compressed pages, never the decoded ones)."""
    if pil_format == "PDF":
        write_pdf(fh, images, [d or (DEFAULT_DPI, DEFAULT_DPI) for d in dpis])
        return

    if pil_format == "PNG":
        dpi_option = {} if dpis[0] is None else {"dpi": dpis[0]}
        next(iter(images)).save(fh, format="PNG", compress_level=PNG_COMPRESS_LEVEL, **dpi_option)
        return
    with TiffImagePlugin.AppendingTiffWriter(fh) as tiff:  # pages one by one, each its settings
        for image, dpi in zip(images, dpis, strict=True):
            options: dict[str, Any] = {} if dpi is None else {"dpi": dpi}
            compression = "group4" if image.mode == "1" else "tiff_adobe_deflate"
            image.save(tiff, format="TIFF", compression=compression, **options)
            tiff.newFrame()


def write_pages(
    path: Path,
    pages: Sequence[np.ndarray] | Sequence[Image.Image],
    dpi: tuple[float, float] | None,
    fmt: str,
    page_dpis: Sequence[tuple[float, float] | None] | None = None,
    overwrite: bool = True,
) -> None:
    """Write pages as ``fmt`` ("png": one page; "tiff" and "pdf": one or more) atomically.

    Float pages are written as 8-bit gray (through :func:`to_uint8`), uint8 pages as they are
    (HxWx3: RGB) and bool pages as bilevel (TIFF and PDF: CCITT G4). ``page_dpis`` gives each page its own
    DPI, else every page gets ``dpi``; a PDF page without DPI is taken as 300 dpi, and its size
    in points is its pixel size times 72 / DPI. Data goes to a hidden ``.<name>.*.part`` file
    in the target directory, is fsynced and then renamed over ``path``; on failure the temporary
    file is removed and OutputError raised. ``pages`` may be a lazy sequence: each page is
    fetched and encoded in turn; Pillow images are written as they are (a PDF takes an opened
    gray PNG file's data without decoding it). Without ``overwrite`` an existing ``path`` is
    never replaced: OutputExistsError is raised (an output that appeared while this one was
    written).
    """
    path = Path(path)
    pil_format = _WRITE_FORMATS.get(fmt.lower())
    if pil_format is None:
        raise OutputError(f"cannot write {path}: unknown format {fmt!r}", "use png, tiff or pdf")
    if len(pages) == 0:
        raise OutputError(f"cannot write {path}: no pages to write")
    if pil_format == "PNG" and len(pages) != 1:
        raise OutputError(
            f"cannot write {path}: PNG holds one page, got {len(pages)}",
            "write multi-page documents as TIFF or PDF",
        )
    if page_dpis is not None and len(page_dpis) != len(pages):
        raise OutputError(
            f"cannot write {path}: {len(page_dpis)} DPI values for {len(pages)} pages"
        )
    dpis = [
        _valid_dpi(path, d) for d in (page_dpis if page_dpis is not None else [dpi] * len(pages))
    ]
    images = (_page_image(path, pages[n], n + 1) for n in range(len(pages)))

    try:
        with (
            atomic_path(path, overwrite=overwrite) as tmp,
            open(tmp, "w+b") as fh,  # w+: the TIFF writer reads back
            _pillow_guard(),  # img2pdf opens pages with Pillow: our limit, not Pillow's
        ):
            _save_pil(fh, pil_format, images, dpis)
    except OutputError:
        raise
    except TargetExistsError as exc:
        raise OutputExistsError(
            f"{path} appeared while it was being written; left as it is",
            "use --overwrite to replace outputs",
        ) from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_os_cause(exc)}") from exc
    except Exception as exc:  # encoder errors
        raise OutputError(f"cannot write {path}: {exc}") from exc


# Leading bytes of the formats `clean - -o -` reads from stdin, and the suffix each gets.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"II*\x00", ".tif"),
    (b"MM\x00*", ".tif"),
    (b"%PDF-", ".pdf"),
    (b"BM", ".bmp"),
)


def sniff_suffix(data: bytes) -> str | None:
    """The file suffix for image or PDF ``data``, from its first bytes; None if unknown."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in _MAGIC if data.startswith(magic)), None)
