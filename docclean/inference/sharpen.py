"""Blurred pages sharpened before the model, which learnt less blur than a phone's photo has.

The default keeps scans as sharp as its training pages well, but a page blurred by a camera or an
out-of-focus scan (an edge's gaussian sigma of a pixel at 150-200 dpi) comes back with the small
print thinned and its smallest marks gone. So before the model a page's edge blur is measured
(:func:`edge_blur`), and a page at least :data:`MIN_BLUR` px blurred is sharpened by an unsharp
mask (:data:`RADIUS`, :data:`AMOUNT`). Scans as sharp as the training pages measure 0.15-0.46
px (good scans at 150-600 dpi but the 600-dpi light scan, every NoisyOffice page, the sample
scans), and sharpening those costs (NoisyOffice's stains and noise come back stronger). A speckled
page (:func:`docclean.inference.marks.census`) is not sharpened: its specks would be.
Measured: docs/do-no-harm.md, "Blurred pages sharpened".
"""

from __future__ import annotations

import math

import numpy as np

from docclean.inference.marks import Census

MIN_BLUR = 0.55
"""Edge sigma (px) from which a page is sharpened: scans 0.15-0.46; pages blurred by a sigma of
0.6-1.1 px measure 0.50-0.90 at 150 dpi, 0.64-0.93 at 300, and phone photos 0.62-0.88."""
RADIUS = 1.0
AMOUNT = 0.75
"""The unsharp mask: the page plus :data:`AMOUNT` times its difference from its gaussian blur of
sigma :data:`RADIUS` px (0.5 kept fewer of a blurred 150-dpi page's marks and 1.0 cost on blurred
300-dpi pages; both did about as well on phone photos)."""
EDGE_CONTRAST = 0.5
"""Windows (:data:`WINDOW` px square) whose gray range is at least this hold an edge."""
WINDOW = 7
STRIPS = 16
STRIP_ROWS = 64
"""The blur is measured on at most :data:`STRIPS` bands of :data:`STRIP_ROWS` rows, evenly
spread over the page (an A4 page at 300 dpi: 1,024 of its 3,508 rows)."""


def sharpen_blurred(levelled: np.ndarray, page_census: Census) -> np.ndarray:
    """``levelled`` sharpened when it is blurred (see the module's text) and not speckled;
    ``levelled`` itself otherwise."""
    import cv2

    if page_census.kind == "speckled" or edge_blur(levelled) < MIN_BLUR:
        return levelled
    soft = cv2.GaussianBlur(levelled, (0, 0), RADIUS)
    sharpened: np.ndarray = np.clip(levelled + AMOUNT * (levelled - soft), 0.0, 1.0)
    return sharpened.astype(np.float32)


def edge_blur(page: np.ndarray) -> float:
    """The gaussian sigma (px) of ``page``'s edges: from the median, over windows that hold an
    edge, of the largest step between neighbouring pixels against the window's gray range (a step
    blurred by sigma climbs at most erf(1 / (2 sqrt(2) sigma)) of its height in one pixel); 0
    when the page has too few edges to tell. It reads 0.1-0.15 px low at 0.5-1.1 px (the window
    cuts an edge's tails), more above."""
    import cv2
    from scipy.special import erfinv

    bands = _bands(np.asarray(page, np.float32))
    window = np.ones((WINDOW, WINDOW), np.uint8)
    ratios = []
    for band in bands:
        gray_range = cv2.dilate(band, window) - cv2.erode(band, window)
        step = np.zeros_like(band)
        np.maximum(step[:, :-1], np.abs(np.diff(band, axis=1)), out=step[:, :-1])
        np.maximum(step[:-1], np.abs(np.diff(band, axis=0)), out=step[:-1])
        edges = gray_range >= EDGE_CONTRAST
        ratios.append(cv2.dilate(step, window)[edges] / gray_range[edges])
    found = np.concatenate(ratios)
    if found.size < 100:
        return 0.0
    climb = min(max(float(np.median(found)), 1e-3), 0.999)
    return 1.0 / (2.0 * math.sqrt(2.0) * float(erfinv(climb)))


def _bands(page: np.ndarray) -> list[np.ndarray]:
    """The page itself when short, otherwise :data:`STRIPS` bands of :data:`STRIP_ROWS` rows."""
    rows = page.shape[0]
    if rows <= STRIPS * STRIP_ROWS:
        return [page]
    starts = np.linspace(0, rows - STRIP_ROWS, STRIPS).astype(int)
    return [page[start : start + STRIP_ROWS] for start in starts]
