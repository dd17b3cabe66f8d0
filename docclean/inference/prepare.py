"""A page made ready for a tone model (``paper-ink``, not bilevel): at full contrast
(:mod:`docclean.inference.levels`), divided by its paper if shadowed
(:mod:`docclean.inference.shadows`), its salt-and-pepper's impulses cleared
(:mod:`docclean.inference.impulses`) and sharpened if blurred (:mod:`docclean.inference.sharpen`).
The models train on pages as scanned: trained on pages prepared so, the default's twin scored
worse on NoisyOffice VA and under the photos' shadows (docs/do-no-harm.md, "Training through the
division").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from docclean.inference.impulses import clear_impulses
from docclean.inference.levels import normalize_levels
from docclean.inference.marks import Census, census
from docclean.inference.shadows import divide_shadows
from docclean.inference.sharpen import sharpen_blurred


@dataclass
class PreparedPage:
    """A page as a tone model (``paper-ink``, not bilevel) takes it, and what led there."""

    page: np.ndarray
    """At full contrast, divided by its paper if shadowed, impulses cleared, sharpened if blurred."""
    undivided: np.ndarray
    """At full contrast, not divided (the page itself when no shadow was divided out)."""
    shadow_box: tuple[int, int, int, int] | None
    """Where a shadow was divided out (:attr:`~docclean.inference.shadows.Division.box`); None
    when none was. The divided page itself is not kept: a page less held while it is cleaned."""
    census: Census
    """The census of the page at full contrast, divided, before impulses and sharpening."""

    def repaired(self, levelled: np.ndarray) -> np.ndarray:
        """``levelled`` with the impulses cleared and sharpened as the page was."""
        return sharpen_blurred(clear_impulses(levelled, self.census), self.census)


def prepare_page(page: np.ndarray) -> PreparedPage:
    """A float32 grayscale page made ready for a tone model."""
    undivided = normalize_levels(page)
    division = divide_shadows(page)
    shadow_box = None if division is None else division.box
    levelled = undivided if division is None else normalize_levels(division.page)
    del division  # the divided page is not needed again
    page_census = census(levelled)
    repaired = sharpen_blurred(clear_impulses(levelled, page_census), page_census)
    return PreparedPage(repaired, undivided, shadow_box, page_census)
