"""docclean's Python API: :class:`Cleaner` for pages in memory.

``docclean clean`` is a thin layer over the same pieces: a page read from a file goes through
:func:`docclean.io.images.to_float_gray`, the model, and :func:`docclean.io.images.to_uint8`, and so
does a page given to :meth:`Cleaner.clean`, so both give the same pixels.

    import docclean
    cleaner = docclean.Cleaner()                 # the default office model, CPU or GPU
    clean = cleaner.clean(numpy_page)            # uint8 or float, gray or RGB(A): same type back
    clean_pil = cleaner.clean(Image.open("scan.png"))
    colour = docclean.Cleaner(color=True).clean(rgb_page)   # coloured ink keeps its colour
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import numpy as np

from docclean.errors import UsageError

if TYPE_CHECKING:
    from PIL import Image

    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import LoadedModel

Device = Literal["auto", "cpu", "gpu"]
ArrayT = TypeVar("ArrayT", bound=np.ndarray)


class Cleaner:
    """Cleans pages held in memory with one model, loaded once.

    ``model`` is a shipped model's name or a ``.keras`` path (its card beside it); ``None`` is the
    default office model, or with ``binarize`` the binarization model. ``tile_size`` and
    ``batch_size`` default to the model's own. With ``color``, colour pages come back in colour:
    paper cleaned as in gray, coloured ink (stamps, signatures) keeping its hue (see
    :mod:`docclean.inference.color`). Loading fails with :class:`docclean.errors.ModelError`.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: Device = "auto",
        binarize: bool = False,
        tile_size: int | None = None,
        batch_size: int | None = None,
        color: bool = False,
    ) -> None:
        if device not in ("auto", "cpu", "gpu"):
            raise UsageError(f"device must be auto, cpu or gpu, not {device!r}")
        if color and binarize:
            raise UsageError("color and binarize cannot be combined")
        self.color = color
        from docclean.backend import tensorflow
        from docclean.inference.cleaner import PageCleaner
        from docclean.models.store import DEFAULT_BINARIZE_MODEL, load_model

        tensorflow(device)
        if model is None and binarize:
            model = DEFAULT_BINARIZE_MODEL
        self.binarize = binarize
        self._page_cleaner: PageCleaner = PageCleaner(
            load_model(model),
            tile_size=tile_size,
            batch_size=batch_size,
            device=device,
            binarize=binarize,
        )

    @property
    def model(self) -> LoadedModel:
        """The loaded model, with its name, path and card."""
        return self._page_cleaner.loaded

    def clean_gray(self, page: np.ndarray) -> np.ndarray:
        """Clean a float32 HxW page in [0, 1]: float32 in [0, 1] back (bool, True = white, when
        binarizing). The primitive the other forms use."""
        page = np.asarray(page, dtype=np.float32)
        if page.ndim != 2:
            raise UsageError(f"clean_gray takes an HxW page, not shape {page.shape}")
        if page.size == 0:
            raise UsageError("the page is empty")
        if not np.isfinite(page).all():
            raise UsageError("the page has NaN or infinite values")
        result: np.ndarray = self._page_cleaner.clean(page)
        return result

    @overload
    def clean(self, image: ArrayT, *, color: bool | None = None) -> ArrayT: ...
    @overload
    def clean(self, image: Image.Image, *, color: bool | None = None) -> Image.Image: ...

    def clean(self, image: Any, *, color: bool | None = None) -> Any:
        """Clean a page: a numpy array (uint8, uint16 or float in [0, 1]; HxW, HxWx1, HxWx3 or
        HxWx4) or a PIL image. Returns the same type, shape and dtype, alpha opaque. A colour
        page comes back as its cleaned gray in every colour channel, or with ``color`` (default:
        the cleaner's) in colour: white paper, coloured ink keeping its hue."""
        from PIL import Image

        color = self.color if color is None else color
        if color and self.binarize:
            raise UsageError("color and binarize cannot be combined")
        if isinstance(image, Image.Image):
            return self._clean_pil(image, color)
        if isinstance(image, np.ndarray):
            return self._clean_array(image, color)
        raise UsageError(f"clean takes a numpy array or a PIL image, not {type(image).__name__}")

    def _clean_pil(self, image: Image.Image, color: bool = False) -> Image.Image:
        from PIL import Image

        from docclean.inference.color import recolor
        from docclean.io.images import to_float_gray, to_rgb, to_uint8

        try:
            gray = to_float_gray(image)
            rgb = to_rgb(image) if color else None
        except ValueError as exc:
            raise UsageError(f"cannot read this PIL image: {exc}") from None
        if rgb is not None:
            coloured = Image.fromarray(recolor(rgb, self.clean_gray(gray)), mode="RGB")
            return coloured.convert("RGBA") if image.mode in ("RGBA", "LA", "PA") else coloured
        cleaned = Image.fromarray(self._to_uint8(self.clean_gray(gray), to_uint8), mode="L")
        if image.mode in ("RGB", "RGBA", "LA"):
            return cleaned.convert(image.mode)
        return cleaned

    def _clean_array(self, array: np.ndarray, color: bool = False) -> np.ndarray:
        from docclean.io.images import to_uint8

        gray = _array_to_gray(array)
        cleaned = self.clean_gray(gray)
        if color and array.ndim == 3 and array.shape[2] in (3, 4):
            return _recolored(array, cleaned)
        if array.dtype == np.uint8:
            out: np.ndarray = self._to_uint8(cleaned, to_uint8)
        elif array.dtype == np.uint16:
            out = np.round(np.asarray(cleaned, np.float32) * 65535).astype(np.uint16)
        else:
            out = np.asarray(cleaned, dtype=array.dtype)
        if array.ndim == 3:
            channels = [out] * min(array.shape[2], 3)
            if array.shape[2] == 4:
                full = 255 if array.dtype == np.uint8 else 65535 if array.dtype == np.uint16 else 1
                channels.append(np.full_like(out, full))
            out = np.stack(channels[: array.shape[2]], axis=-1)
        return out

    @staticmethod
    def _to_uint8(cleaned: np.ndarray, to_uint8: Any) -> np.ndarray:
        if cleaned.dtype == bool:
            return np.where(cleaned, np.uint8(255), np.uint8(0))
        result: np.ndarray = to_uint8(cleaned)
        return result


def _recolored(array: np.ndarray, cleaned: np.ndarray) -> np.ndarray:
    """An HxWx3(4) page's cleaned gray ``cleaned`` with its coloured ink's colour, as ``array``'s
    shape and dtype (alpha opaque)."""
    from docclean.inference.color import recolor

    full = 255.0 if array.dtype == np.uint8 else 65535.0 if array.dtype == np.uint16 else 1.0
    rgb = array[..., :3].astype(np.float32) * np.float32(255 / full)
    if array.shape[2] == 4:
        alpha = array[..., 3:].astype(np.float32) / np.float32(full)
        rgb = rgb * alpha + np.float32(255) * (1 - alpha)
    colour = recolor(np.floor(rgb + 0.5).astype(np.uint8), cleaned)
    if array.dtype == np.uint8:
        out = colour
    elif array.dtype == np.uint16:
        out = colour.astype(np.uint16) * np.uint16(257)
    else:
        out = (colour.astype(np.float32) / np.float32(255)).astype(array.dtype)
    if array.shape[2] == 4:
        opaque = np.full((*out.shape[:2], 1), full, dtype=out.dtype)
        out = np.concatenate([out, opaque], axis=2)
    return out


def _array_to_gray(array: np.ndarray) -> np.ndarray:
    """A numpy page as float32 HxW gray in [0, 1], the way a file's pixels are read."""
    from docclean.io.images import _luma, _over_white

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise UsageError(f"a page must be HxW, HxWx1, HxWx3 or HxWx4, not shape {array.shape}")
    if array.dtype == np.uint8:
        scale = 255.0
    elif array.dtype == np.uint16:
        scale = 65535.0
    elif np.issubdtype(array.dtype, np.floating):
        scale = 1.0
        if array.size and not np.isfinite(array).all():
            raise UsageError("the page has NaN or infinite values")
        if array.size and (array.min() < 0 or array.max() > 1):
            raise UsageError("a float page must hold values in [0, 1]")
    elif array.dtype == bool:
        array, scale = array.astype(np.float32), 1.0
    else:
        raise UsageError(f"unsupported pixel type {array.dtype} (use uint8, uint16 or float)")
    if array.ndim == 2:
        return array.astype(np.float32) / np.float32(scale)
    gray = _luma(array, scale)
    if array.shape[2] == 4:
        alpha = array[..., 3].astype(np.float32) * np.float32(255 / scale)
        gray = _over_white(gray, alpha)
    return gray
