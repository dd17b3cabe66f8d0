"""Colour pages: the model cleans the gray page; coloured ink then gets its colour back.

The models clean luma. :func:`recolor` puts the input's colour back where it belongs to ink and
nowhere else: a pixel is coloured ink when the input is clearly coloured there (chroma, the
spread of its R, G and B, above :data:`MIN_CHROMA` after a light blur that calms sensor noise)
and the cleaned page is not paper there (darker than :data:`PAPER`). Such a pixel takes the
input's chromaticity (its R:G:B relative to its luma) at the cleaned luma, so hue and saturation
stay while stains and gray paper do not; every other pixel is the cleaned gray. A red stamp stays
red, a blue signature blue, black text neutral, and paper (stains and tinted paper included) white.
"""

from __future__ import annotations

import numpy as np

MIN_CHROMA = 0.10
"""Chroma (max - min of R, G, B in [0, 1]) from which a pixel counts as coloured; full colour at
:data:`MIN_CHROMA` + :data:`CHROMA_RAMP`. Black ink with sensor noise stays well below it."""
CHROMA_RAMP = 0.08
PAPER = 0.85
"""Cleaned luma from which a pixel is paper (neutral white), with a soft edge of :data:`PAPER_RAMP`
below it so anti-aliased stroke edges fade into the paper."""
PAPER_RAMP = 0.2
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def recolor(rgb: np.ndarray, cleaned: np.ndarray) -> np.ndarray:
    """The cleaned gray page ``cleaned`` (float in [0, 1], HxW) with the colour of the input
    ``rgb`` (HxWx3 uint8) kept on coloured ink: HxWx3 uint8."""
    import cv2

    from docclean.io.images import to_uint8

    gray = np.asarray(cleaned, np.float32)
    if rgb.shape[:2] != gray.shape or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"colour page {rgb.shape} does not match cleaned page {gray.shape}")
    smooth = cv2.GaussianBlur(rgb.astype(np.float32) / np.float32(255), (0, 0), 1.0)
    chroma = smooth.max(axis=2) - smooth.min(axis=2)
    luma = np.maximum(smooth @ _LUMA, np.float32(0.02))
    ink = np.clip((chroma - MIN_CHROMA) / CHROMA_RAMP, 0, 1) * np.clip(
        (PAPER - gray) / PAPER_RAMP, 0, 1
    )
    coloured = smooth * (gray / luma)[..., None]
    out = gray[..., None] + ink[..., None] * (coloured - gray[..., None])
    return to_uint8(out)


def as_rgb(gray: np.ndarray) -> np.ndarray:
    """A gray page (float in [0, 1] or uint8, HxW) as HxWx3 uint8."""
    from docclean.io.images import to_uint8

    pixels = np.asarray(gray)
    pixels = pixels if pixels.dtype == np.uint8 else to_uint8(pixels)
    return np.repeat(pixels[..., None], 3, axis=2)
