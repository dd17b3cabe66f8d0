"""Classic cleaning methods to compare models against, run on the same pages.

Each method maps a float32 grayscale page in [0, 1] to a page of the same size: grayscale for
background subtraction and unpaper, bilevel (0 = ink, 1 = paper) for the thresholds.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from docclean.errors import DocCleanError
from docclean.io.images import to_uint8

Method = Callable[[np.ndarray], np.ndarray]


def no_cleaning(page: np.ndarray) -> np.ndarray:
    """The page as it is."""
    return page


def median_background(page: np.ndarray) -> np.ndarray:
    """Divide out a median-filtered background estimate (stains, shadows and uneven light).

    The median window is 1/40 of the shorter side (odd, at least 21 px): wide enough to step over
    text, narrow enough to follow stains.
    """
    import cv2

    size = max(21, (min(page.shape) // 40) | 1)
    background = cv2.medianBlur(to_uint8(page), size).astype(np.float32) / 255.0
    return np.clip(page / np.maximum(background, 1e-3), 0.0, 1.0).astype(np.float32)


def otsu(page: np.ndarray) -> np.ndarray:
    """Global Otsu threshold (scikit-image)."""
    from skimage.filters import threshold_otsu

    if page.min() == page.max():
        return np.ones_like(page)
    return (page > threshold_otsu(page)).astype(np.float32)


def sauvola(page: np.ndarray, window: int = 25, k: float = 0.2) -> np.ndarray:
    """Sauvola local threshold (scikit-image), window 25 px, k 0.2."""
    from skimage.filters import threshold_sauvola

    window = min(window, (min(page.shape) // 2) * 2 + 1)
    if window < 3:
        return otsu(page)
    return (page > threshold_sauvola(page, window_size=window, k=k)).astype(np.float32)


def unpaper_available() -> bool:
    return shutil.which("unpaper") is not None


def unpaper(page: np.ndarray) -> np.ndarray:
    """unpaper's cleaning filters (black, noise, blur, gray) with every geometric step turned off,
    so pixels stay where they are and can be compared with the target."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="docclean-unpaper-") as tmp:
        src, dst = Path(tmp) / "in.pgm", Path(tmp) / "out.pgm"
        Image.fromarray(to_uint8(page), mode="L").save(src)
        command = [
            "unpaper", "--layout", "none", "--no-deskew", "--no-mask-scan", "--no-mask-center",
            "--no-border-scan", "--no-border-align", "-q", str(src), str(dst),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not dst.is_file():
            raise DocCleanError(f"unpaper failed: {done.stderr.strip()[:200]}")
        with Image.open(dst) as image:
            out = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if out.shape != page.shape:
        raise DocCleanError(f"unpaper changed the page size to {out.shape[1]}x{out.shape[0]}")
    return out


BASELINES: dict[str, Method] = {
    "median_background": median_background,
    "otsu": otsu,
    "sauvola": sauvola,
    "unpaper": unpaper,
}
BILEVEL = frozenset({"otsu", "sauvola"})
