"""Faint pages for the binarizer: stretch a low-contrast page to the full range before the model.

The binarization models learnt ink a good deal darker than its paper (DIBCO's pages span most of
the gray range). On a faint page (multispectral scans, pencil, washed-out ink: the darkest ink and
the paper within :data:`FAINT_SPREAD` of each other) they call everything paper and the page comes
back blank. Such a page is mapped linearly from [its 0.1 % quantile, its 99 % quantile] to [0, 1]
first (levels taken on an even grid of pixels); every other page is left as it is. Measured on
the sets the shipped binarizer never saw (Synchromedia MSI FM 42.0 -> 66.8; Bickley, PHIBD and
DIBCO 2016 unchanged): docs/folds.md.
"""

from __future__ import annotations

import math

import numpy as np

FAINT_SPREAD = 0.35
"""A page whose 99 % and 0.1 % gray quantiles lie closer than this is stretched."""
DARK_QUANTILE = 0.001
PAPER_QUANTILE = 0.99
SAMPLED_PIXELS = 2**19
"""The quantiles are taken over at most about this many pixels (an even grid over the page)."""


def contrast_spread(page: np.ndarray) -> tuple[float, float]:
    """The page's ink and paper levels: its :data:`DARK_QUANTILE` and :data:`PAPER_QUANTILE`,
    over an even grid of at most about :data:`SAMPLED_PIXELS` pixels (an A4 page at 300 dpi: every
    fourth pixel of every fourth row)."""
    step = max(1, math.ceil(math.sqrt(page.size / SAMPLED_PIXELS)))
    dark, paper = np.quantile(page[::step, ::step], [DARK_QUANTILE, PAPER_QUANTILE])
    return float(dark), float(paper)


def stretch_faint(page: np.ndarray) -> np.ndarray:
    """``page`` (float32 in [0, 1]) mapped from [ink, paper] to [0, 1] if it is faint, else as is.

    A page of one flat gray (spread 0) is left as it is: there is nothing to stretch.
    """
    if page.size == 0:
        return page
    dark, paper = contrast_spread(page)
    spread = paper - dark
    if spread >= FAINT_SPREAD or spread <= 1e-3:
        return page
    return np.clip((page - dark) / spread, 0.0, 1.0).astype(np.float32)
