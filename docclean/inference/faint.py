"""Faint pages for the binarizer: raise a low-contrast page's contrast before the model.

The binarization models learnt ink a good deal darker than its paper (DIBCO's pages span most of
the gray range). On a faint page (multispectral scans, pencil, washed-out ink: the darkest ink and
the paper within :data:`FAINT_SPREAD` of each other) they call everything paper and the page comes
back blank. Such a page's contrast is raised about its paper level (its 99 % quantile, which stays
where it is) until its darkest ink (its 0.1 % quantile) lies :data:`STRETCHED_SPREAD` below the
paper; every other page is left as it is. Not to full contrast: a blank page of noisy paper would
then have its darkest grain drawn as specks. Measured on the sets the shipped binarizer never saw
(Synchromedia MSI FM 41.96 -> 64.36; Bickley, PHIBD and DIBCO 2016 unchanged): docs/folds.md.
"""

from __future__ import annotations

import numpy as np

from docclean.inference.levels import sampled_quantiles

FAINT_SPREAD = 0.35
"""A page whose 99 % and 0.1 % gray quantiles lie closer than this is stretched."""
STRETCHED_SPREAD = 0.5
"""How far below the paper a faint page's darkest ink is put (blank noisy paper stays blank up to
0.55; the binarizer finds MSI's faint writing better the further, FM 62.0 at 0.4, 64.4 at 0.5)."""
DARK_QUANTILE = 0.001
PAPER_QUANTILE = 0.99


def contrast_spread(page: np.ndarray) -> tuple[float, float]:
    """The page's ink and paper levels: its :data:`DARK_QUANTILE` and :data:`PAPER_QUANTILE`, over
    an even grid of pixels (:func:`docclean.inference.levels.sampled_quantiles`)."""
    dark, paper = sampled_quantiles(page, [DARK_QUANTILE, PAPER_QUANTILE])
    return dark, paper


def stretch_faint(page: np.ndarray) -> np.ndarray:
    """``page`` (float32 in [0, 1]) with its contrast raised about the paper level, [ink, paper]
    becoming [paper - :data:`STRETCHED_SPREAD`, paper], if it is faint; else as it is.

    A page of one flat gray (spread 0) is left as it is: there is nothing to stretch.
    """
    if page.size == 0:
        return page
    dark, paper = contrast_spread(page)
    spread = paper - dark
    if spread >= FAINT_SPREAD or spread <= 1e-3:
        return page
    gain = STRETCHED_SPREAD / spread
    return np.clip(paper - (paper - page) * gain, 0.0, 1.0).astype(np.float32)
