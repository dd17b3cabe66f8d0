"""OCRmyPDF plugin: docclean cleans the pages OCRmyPDF reads, and if asked the pages it shows.

    ocrmypdf --plugin docclean.ocrmypdf in.pdf out.pdf          # OCR reads cleaned pages
    ocrmypdf --plugin docclean.ocrmypdf --force-ocr --docclean-visible in.pdf out.pdf
    ocrmypdf --docclean --docclean-model noisyoffice-tone-unet in.pdf out.pdf

Installed with docclean, the plugin also loads by itself (OCRmyPDF's ``ocrmypdf`` entry-point
group) but then only adds its options: it cleans when named with ``--plugin`` or given
``--docclean``, ``--docclean-visible`` or ``--docclean-model``, so plain ``ocrmypdf`` runs stay
as they were. Each worker process loads a model once, on its first page; importing this module
does not import TensorFlow.
"""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocrmypdf import hookimpl

if TYPE_CHECKING:
    from PIL import Image

    from docclean.api import Cleaner

log = logging.getLogger(__name__)

MAX_TESSERACT_SIDE = 32767
MAX_TESSERACT_BYTES = 2**31 - 1
"""Tesseract's limits, which OCRmyPDF's own ``filter_ocr_image`` downsamples to fit."""

_cleaners: dict[str, Cleaner] = {}
_lock = threading.Lock()


@hookimpl
def add_options(parser: ArgumentParser) -> None:
    """Add ``--docclean``, ``--docclean-visible`` and ``--docclean-model``."""
    if parser.get_default("docclean") is not None:
        return  # loaded both by entry point and by --plugin: the options are there already
    group = parser.add_argument_group(
        "docclean", "Clean scanned pages (stains, folds, shadows, noise) with docclean"
    )
    group.add_argument(
        "--docclean",
        action="store_true",
        default=False,
        help="Clean what OCR reads (implied by --plugin docclean.ocrmypdf and the options below).",
    )
    group.add_argument(
        "--docclean-visible",
        action="store_true",
        default=False,
        help="Also replace the visible pages with cleaned ones (needs --force-ocr, --deskew "
        "or --clean-final, which rasterize the visible page).",
    )
    group.add_argument(
        "--docclean-model",
        metavar="MODEL",
        default=None,
        help="A shipped model's name or a .keras path (default: docclean's office model).",
    )


@hookimpl
def check_options(options: Any) -> None:
    """Refuse ``--docclean-visible`` where OCRmyPDF keeps the original page (nothing to clean)."""
    if not _opt(options, "docclean_visible"):
        return
    rasterizes = (
        _opt(options, "deskew")
        or _opt(options, "clean_final")
        or _opt(options, "force_ocr")
        or _opt(options, "is_force_mode")
    )
    if not rasterizes:
        from ocrmypdf.exceptions import BadArgsError

        raise BadArgsError(
            "--docclean-visible replaces each page with its cleaned image: add --force-ocr "
            "(or --deskew or --clean-final), without which OCRmyPDF keeps the original pages"
        )


@hookimpl
def filter_ocr_image(page: Any, image: Image.Image) -> Image.Image | None:
    """The page OCR reads, cleaned, and downsampled first as OCRmyPDF's Tesseract plugin does."""
    options = page.options
    if not _enabled(options):
        return None  # the next plugin (OCRmyPDF's own) filters the image
    image = _fit_tesseract(image, options)
    return _clean(image, _opt(options, "docclean_model"), color=False)


@hookimpl
def filter_page_image(page: Any, image_filename: Path) -> Path | None:
    """With ``--docclean-visible``: the visible page, cleaned (colour ink keeps its colour)."""
    options = page.options
    if not (_enabled(options) and _opt(options, "docclean_visible")):
        return None
    from PIL import Image

    with Image.open(image_filename) as image:
        image.load()
        cleaned = _clean(image, _opt(options, "docclean_model"), color=True)
    output = image_filename.with_name(f"{image_filename.stem}.docclean.png")
    dpi = cleaned.info.get("dpi")
    if dpi:
        cleaned.save(output, dpi=tuple(round(float(d)) for d in dpi))
    else:
        cleaned.save(output)
    return output


def _opt(options: Any, name: str) -> Any:
    """An option's value, or None where this OCRmyPDF version lacks it."""
    try:
        return getattr(options, name)
    except AttributeError:
        return None


def _enabled(options: Any) -> bool:
    """Whether this run asked for docclean: by --plugin, or by one of its own options."""
    if (
        _opt(options, "docclean")
        or _opt(options, "docclean_visible")
        or _opt(options, "docclean_model")
    ):
        return True
    here = Path(__file__).resolve()
    for plugin in _opt(options, "plugins") or ():
        name = str(plugin)
        if name == __name__ or (name.endswith(".py") and Path(name).resolve() == here):
            return True
    return False


def _fit_tesseract(image: Image.Image, options: Any) -> Image.Image:
    """What OCRmyPDF's Tesseract plugin does, which a plugin that answers this hook replaces:
    with ``--tesseract-downsample-large-images``, shrink the image to at most
    ``--tesseract-downsample-above`` (at most 32767) pixels a side and 2**31 bytes, its DPI
    scaled to match."""
    tesseract = _opt(options, "tesseract")
    if tesseract is not None:  # OCRmyPDF 17: a namespace of Tesseract's options
        enabled = _opt(tesseract, "downsample_large_images")
        above = _opt(tesseract, "downsample_above")
    else:  # OCRmyPDF 16: flat option names
        enabled = _opt(options, "tesseract_downsample_large_images")
        above = _opt(options, "tesseract_downsample_above")
    if not enabled:
        return image
    from ocrmypdf.imageops import calculate_downsample, downsample_image

    threshold = min(int(above or MAX_TESSERACT_SIDE), MAX_TESSERACT_SIDE)
    size = calculate_downsample(
        image, max_size=(threshold, threshold), max_bytes=MAX_TESSERACT_BYTES
    )
    return downsample_image(image, size)


def _cleaner(model: str | None) -> Cleaner:
    """This process's cleaner for ``model``, loaded on first use."""
    key = model or ""
    with _lock:
        if key not in _cleaners:
            from docclean.api import Cleaner

            log.info("docclean: loading model %s", model or "(default)")
            _cleaners[key] = Cleaner(model)
        return _cleaners[key]


def _clean(image: Image.Image, model: str | None, *, color: bool) -> Image.Image:
    """``image`` cleaned: 8-bit gray, or RGB for a colour image when ``color``; DPI kept."""
    from docclean.errors import DocCleanError

    cleaner = _cleaner(model)
    try:
        with _lock:
            cleaned = cleaner.clean(image, color=color)
    except DocCleanError as exc:
        raise RuntimeError(f"docclean could not clean this page: {exc}") from exc
    if not color and cleaned.mode != "L":  # a colour image's cleaned gray, in every channel
        cleaned = cleaned.convert("L")
    elif cleaned.mode not in ("L", "RGB"):
        cleaned = cleaned.convert("RGB")
    if "dpi" in image.info:
        cleaned.info["dpi"] = image.info["dpi"]
    return cleaned


class EntryPoint:
    """What OCRmyPDF's ``ocrmypdf`` entry point registers when docclean is installed: these hooks
    under another object than this module, so that ``--plugin docclean.ocrmypdf`` can register
    the module as well (pluggy refuses one object twice). Both copies act alike: the options are
    added once, and the filters clean only when asked (:func:`_enabled`), one copy per page."""

    add_options = staticmethod(add_options)
    check_options = staticmethod(check_options)
    filter_ocr_image = staticmethod(filter_ocr_image)
    filter_page_image = staticmethod(filter_page_image)
