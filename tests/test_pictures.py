"""Pictures kept: photographs on a page come back as the page has them; stains, tints and bold
type are left to the model and the other rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from docclean.evaluation import harm
from docclean.inference.marks import census
from docclean.inference.pictures import find_pictures, keep_pictures
from docclean.inference.prepare import prepare_page

PHOTO = (slice(230, 430), slice(60, 330))
"""Where the test page's photograph is (200 x 270 px, a 150-dpi page's 3.4 x 4.6 cm)."""


def _photo(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A photograph-like patch (:func:`docclean.evaluation.harm.photograph`, at 150 dpi)."""
    return harm.photograph(*shape, 150, seed)


def _page(seed: int = 0, dpi: int = 150) -> np.ndarray:
    """A page of text with a cleared box holding a photograph."""
    page = harm.render_specimen(700, 640, dpi, seed=seed, margin_in=0.05).pixels.astype(np.float32)
    rows, cols = PHOTO
    page[rows.start - 20 : rows.stop + 20, cols.start - 20 : cols.stop + 20] = 1.0
    page[PHOTO] = _photo((rows.stop - rows.start, cols.stop - cols.start), seed)
    return page


def test_a_photograph_the_model_whitened_comes_back_as_the_page_has_it() -> None:
    levelled = prepare_page(_page()).undivided
    cleaned = np.where(levelled < 0.5, 0.0, 1.0).astype(np.float32)  # posterized, as models do
    kept = keep_pictures(levelled, cleaned, census(levelled))
    np.testing.assert_array_equal(kept[PHOTO], levelled[PHOTO])
    outside = np.ones(levelled.shape, bool)
    rows, cols = PHOTO
    outside[rows.start - 3 : rows.stop + 3, cols.start - 3 : cols.stop + 3] = False
    np.testing.assert_array_equal(kept[outside], cleaned[outside])


@pytest.mark.parametrize(
    "kind", ["soft stain", "flat tint", "bold heading", "blurred photograph edge", "round blot"]
)
def test_what_is_not_a_picture_is_left_to_the_model(kind: str) -> None:
    page = harm.render_specimen(700, 640, 150, seed=1, margin_in=0.05).pixels.astype(np.float32)
    rows, cols = PHOTO
    page[rows.start - 20 : rows.stop + 20, cols.start - 20 : cols.stop + 20] = 1.0
    if kind == "soft stain":  # a coffee stain: a soft-edged blot over paper and text
        yy, xx = np.mgrid[0 : page.shape[0], 0 : page.shape[1]]
        blot = ((yy - 330) / 110.0) ** 2 + ((xx - 200) / 150.0) ** 2 < 1
        shade = ndimage.gaussian_filter(blot.astype(np.float32), 12)
        page = page * (1.0 - 0.45 * shade) * (1.0 - 0.05 * ndimage.gaussian_filter(
            np.random.default_rng(0).normal(size=page.shape), 3))  # fmt: skip
    elif kind == "flat tint":  # a shaded box: tints' to keep
        page[PHOTO] = 0.6
    elif kind == "bold heading":  # grainy black slabs as large as a 48-pt bold letter at 150 dpi
        grain = np.random.default_rng(0).uniform(0.0, 0.12, page.shape).astype(np.float32)
        for left in range(60, 290, 75):
            page[240:420, left : left + 64] = grain[240:420, left : left + 64]
    elif kind == "round blot":  # sharp-edged and mottled, but no rectangle: left to the model
        yy, xx = np.mgrid[0 : page.shape[0], 0 : page.shape[1]]
        blot = (yy - 330) ** 2 + (xx - 195) ** 2 < 100**2
        page[blot] = _photo(page.shape)[blot]
    else:  # a photograph whose edges are soft (a shadow's are): not sharp as the page's ink
        page[PHOTO] = _photo((rows.stop - rows.start, cols.stop - cols.start))
        page = np.minimum(page, 1.0)
        box = (slice(rows.start - 20, rows.stop + 20), slice(cols.start - 20, cols.stop + 20))
        page[box] = ndimage.gaussian_filter(page[box], 6)
    levelled = prepare_page(np.clip(page, 0, 1).astype(np.float32)).undivided
    assert find_pictures(levelled, census(levelled)) == []


@pytest.mark.parametrize("dpi, scanned", [(150, False), (300, True)])
def test_the_shipped_default_keeps_a_photograph(dpi: int, scanned: bool) -> None:
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    page = _page(seed=2, dpi=dpi)
    if scanned:
        page = harm.light_scan(page, dpi, seed=2)
    levelled = prepare_page(page).undivided
    cleaned = PageCleaner(load_model("office-tone-unet"), device="cpu").clean(page)
    np.testing.assert_array_equal(cleaned[PHOTO], levelled[PHOTO])  # RMSE 0.2-0.3 without


def test_the_do_no_harm_benchmark_s_photograph_is_found_whole() -> None:
    specimen = next(harm.specimens([150], kinds=("pictured_scan",)))
    page = harm.render_specimen(*specimen.pure.shape, 150, margin_in=0.75).pixels
    photo = (specimen.pure != page) & (specimen.pure < 0.99)  # not the paper cleared around it
    levelled = prepare_page(specimen.page).undivided
    (picture,) = find_pictures(levelled, census(levelled))
    box, pixels = picture
    found = np.zeros(levelled.shape, bool)
    found[box] = pixels
    rows, cols = np.nonzero(photo)
    assert found[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()
