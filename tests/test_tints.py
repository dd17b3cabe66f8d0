"""Tinted ink kept after the model: what comes back and what is left to the model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from docclean.inference import tints

TINT = 0.45


def _page_with_text(rng: np.random.Generator) -> np.ndarray:
    """White paper with a line of black 'letters' (bars 3 px wide): the page's own sharp edges."""
    page = np.ones((220, 300), np.float32)
    for x in range(20, 280, 12):
        page[170:195, x : x + 3] = 0.0
    return page


def _blur(page: np.ndarray, sigma: float = 0.6) -> np.ndarray:
    return np.clip(ndimage.gaussian_filter(page, sigma), 0, 1).astype(np.float32)


def _heading(page: np.ndarray, value: float = TINT) -> np.ndarray:
    """Three thick bars (strokes 14 px wide) in a flat tint."""
    out = page.copy()
    for x in (30, 80, 130):
        out[30:110, x : x + 14] = value
    out[60:74, 30:144] = value  # a crossbar joining them: one component
    return out


def _hollowed(levelled: np.ndarray, tinted: np.ndarray) -> np.ndarray:
    """What the model does to a tinted heading: its inside whitened, a dark outline left."""
    cleaned = levelled.copy()
    inside = ndimage.binary_erosion(tinted, iterations=2)
    cleaned[ndimage.binary_dilation(tinted, iterations=2)] = 1.0  # the soft rim whitened
    cleaned[tinted] = 0.1
    cleaned[inside] = 1.0
    return cleaned


def test_a_hollowed_tinted_heading_comes_back_as_the_page_has_it() -> None:
    page = _blur(_heading(_page_with_text(np.random.default_rng(0))))
    tinted = (page > 0.3) & (page < 0.6) & ndimage.binary_erosion(page < 0.65, iterations=1)
    cleaned = _hollowed(page, tinted)
    kept = tints.keep_tints(page, cleaned)
    heading = _heading(np.ones_like(page)) < 1.0
    assert np.abs(kept[heading] - page[heading]).max() == pytest.approx(0.0)
    rim = ndimage.binary_dilation(heading, iterations=2) & ~heading  # its soft edge too
    assert np.array_equal(kept[rim], page[rim]) and not np.array_equal(cleaned[rim], page[rim])
    ink = heading & (page < 0.5)
    assert ink.sum() > 3000 and float((kept[ink] >= 0.5).mean()) == 0.0  # no heading ink lost
    assert float((cleaned[ink] >= 0.5).mean()) > 0.5  # which the model had lost
    text = np.zeros_like(heading)
    text[165:200, :] = True
    assert np.array_equal(kept[text], cleaned[text])  # the black text is the model's


def test_a_tinted_heading_with_dust_on_it_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """1 % of the heading's pixels black or white specks (salt-and-pepper, dust): left out of its
    spread, they do not make it mottled."""
    page = _blur(_heading(_page_with_text(np.random.default_rng(0))))
    heading = _heading(np.ones_like(page)) < 1.0
    inside = ndimage.binary_erosion(heading, iterations=3)
    rng = np.random.default_rng(1)
    specks = inside & (rng.random(page.shape) < 0.01)
    page[specks] = rng.choice(np.array([0.0, 1.0], np.float32), int(specks.sum()))
    tinted = (page > 0.3) & (page < 0.6) & ndimage.binary_erosion(page < 0.65, iterations=1)
    cleaned = _hollowed(page, tinted)
    ink = heading & (page < 0.5) & ~specks
    assert float((cleaned[ink] >= 0.5).mean()) > 0.5
    assert float((tints.keep_tints(page, cleaned)[ink] >= 0.5).mean()) == 0.0
    monkeypatch.setattr(tints, "SPECK_SHARE", 0.0)  # every speck counted: mottled, not kept
    assert float((tints.keep_tints(page, cleaned)[ink] >= 0.5).mean()) > 0.5


def test_a_tinted_heading_on_a_noisy_page_comes_back() -> None:
    """Noise of sigma 0.03 over the whole page (paper at 0.92, so that it is not clipped): the
    tint is as grainy as the paper around it, and flat by that measure (on a quiet page such a
    spread is a stain's: the mottled case below)."""
    clean = 0.92 * _blur(_heading(_page_with_text(np.random.default_rng(0))))
    noise = np.random.default_rng(1).normal(0.0, 0.03, clean.shape).astype(np.float32)
    page = np.clip(clean + noise, 0, 1)
    heading = _heading(np.ones_like(page)) < 1.0
    tinted = (clean > 0.3) & (clean < 0.6) & ndimage.binary_erosion(clean < 0.6, iterations=1)
    cleaned = _hollowed(page, tinted)
    ink = heading & (clean < 0.5)
    assert float((cleaned[ink] >= 0.5).mean()) > 0.5
    kept = tints.keep_tints(page, cleaned)
    assert np.array_equal(kept[heading], page[heading])  # back as the page has it, grain and all
    assert float((kept[ink] >= 0.5).mean()) <= float((page[ink] >= 0.5).mean())


def _crossed_by_a_shadow_edge(page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What dividing out a shadow whose edge runs across the heading leaves: a light band over it
    (the divided page), and the page before the division, darker on the shadow's side."""
    rows, cols = np.mgrid[: page.shape[0], : page.shape[1]]
    across = cols - 0.5 * rows - 60.0  # the shadow's edge, slanting across the heading
    band = 0.15 * np.exp(-((across / 8.0) ** 2))
    divided = np.where(page < 0.65, np.clip(page + band, 0, 1), page).astype(np.float32)
    lift = 1.0 + 1.0 / (1.0 + np.exp(across / 4.0))  # 2 in the shadow, 1 out of it
    return divided, (divided / lift).astype(np.float32)


def test_a_tinted_heading_a_shadow_edge_crosses_comes_back_evened_out() -> None:
    """The band the division leaves over the heading makes it uneven (its spread 0.04, above
    MAX_SPREAD): kept as one tone, evened out, where the division lifted one side twice as much."""
    page = _blur(_heading(_page_with_text(np.random.default_rng(6))))
    divided, undivided = _crossed_by_a_shadow_edge(page)
    heading = _heading(np.ones_like(page)) < 1.0
    inside = ndimage.binary_erosion(heading, iterations=3)
    assert float(np.std(divided[inside])) > 1.5 * tints.MAX_SPREAD
    cleaned = _hollowed(divided, heading)
    kept = tints.keep_tints(divided, cleaned, undivided)
    assert abs(float(np.median(kept[inside])) - TINT) < 0.01  # evened out to the tint
    assert np.abs(kept[inside] - TINT).max() < 0.04 and np.std(kept[inside]) < 0.01
    ink = heading & (page < 0.5)
    assert float((kept[ink] >= 0.5).mean()) < 0.01 and float((cleaned[ink] >= 0.5).mean()) > 0.5
    text = np.zeros_like(heading)
    text[165:200, :] = True
    assert np.array_equal(kept[text], cleaned[text])


@pytest.mark.parametrize("undivided", ["none given", "lifted evenly, like a stain's ridge"])
def test_an_uneven_tint_no_shadow_edge_crosses_is_left_to_the_model(undivided: str) -> None:
    page = _blur(_heading(_page_with_text(np.random.default_rng(6))))
    divided, _ = _crossed_by_a_shadow_edge(page)
    cleaned = _hollowed(divided, _heading(np.ones_like(page)) < 1.0)
    before = None if undivided == "none given" else (divided / 1.3).astype(np.float32)
    assert np.array_equal(tints.keep_tints(divided, cleaned, before), cleaned), undivided


def test_a_page_the_model_left_alone_is_returned_as_it_is() -> None:
    page = _blur(_heading(_page_with_text(np.random.default_rng(1))))
    cleaned = page.copy()
    assert tints.keep_tints(page, cleaned) is cleaned


def test_a_blackened_tinted_heading_keeps_its_tint() -> None:
    page = _blur(_heading(_page_with_text(np.random.default_rng(1))))
    cleaned = np.where(page < 0.5, 0.0, 1.0).astype(np.float32)  # heading drawn black
    kept = tints.keep_tints(page, cleaned)
    heading = _heading(np.ones_like(page)) < 1.0
    assert np.array_equal(kept[heading], page[heading])
    assert np.array_equal(kept[180:190, :], cleaned[180:190, :])  # black text as the model drew it


def _table(shade: float) -> np.ndarray:
    """Paper with a ruled table whose header row is shaded, black text in every row."""
    page = np.ones((220, 300), np.float32)
    page[30:60, 20:280] = shade
    for y in (30, 60, 90, 120):
        page[y : y + 2, 20:280] = 0.0
    for x in range(30, 270, 12):
        page[38:52, x : x + 3] = 0.0  # header text
        page[68:82, x : x + 3] = 0.0
        page[170:195, x : x + 3] = 0.0  # the page's own sharp edges
    return page


def test_a_whitened_shaded_row_comes_back_with_its_text() -> None:
    page = _blur(_table(0.85))
    cleaned = np.where(page < 0.5, 0.0, 1.0).astype(np.float32)  # the model's clean page
    kept = tints.keep_tints(page, cleaned)
    row = np.zeros_like(page, bool)
    row[32:60, 20:280] = True
    shade = row & (np.abs(page - 0.85) < 0.01)
    assert shade.sum() > 4000 and float(np.abs(kept[shade] - 0.85).max()) < 0.01
    assert float(cleaned[shade].min()) == 1.0  # which the model had whitened
    text = row & (page < 0.5)
    assert np.array_equal(kept[text], cleaned[text])  # the text as the model drew it
    assert np.array_equal(kept[95:200], cleaned[95:200])  # the rest is the model's


@pytest.mark.parametrize(
    ("what", "make"),
    [
        (
            "grainy, like the darker side of a fold",
            lambda t, rng: t + (t == 0.85) * rng.normal(0, 0.05, t.shape),
        ),
    ],
)
def test_light_gray_regions_that_are_not_shades_are_left_to_the_model(what, make) -> None:
    rng = np.random.default_rng(6)
    page = _blur(np.clip(make(_table(0.85), rng), 0, 1).astype(np.float32))
    cleaned = np.where(page < 0.5, 0.0, 1.0).astype(np.float32)
    assert np.array_equal(tints.keep_tints(page, cleaned), cleaned), what


def test_a_light_gray_facet_that_is_no_rectangle_stays_removed() -> None:
    """Crumpled paper's facets are flat and sharp-edged too, but not rectangles."""
    page = _page_with_text(np.random.default_rng(7))
    rows, cols = np.mgrid[0:220, 0:300]
    facet = (rows > 20) & (cols > 30) & (rows + cols < 200)  # a triangle
    page[facet] = 0.85
    page = _blur(page)
    cleaned = np.where(page < 0.5, 0.0, 1.0).astype(np.float32)
    assert np.array_equal(tints.keep_tints(page, cleaned), cleaned)


def test_a_stain_the_model_removed_stays_removed() -> None:
    """A flat light-gray blotch with a soft edge (sigma 3 px against the text's 0.6)."""
    page = _page_with_text(np.random.default_rng(5))
    blotch = np.zeros_like(page)
    blotch[20:150, 30:200] = 1.0
    stained = _blur(page * (1.0 - 0.15 * ndimage.gaussian_filter(blotch, 3.0)))
    cleaned = _blur(page)
    assert np.array_equal(tints.keep_tints(stained, cleaned), cleaned)


def test_a_shadow_with_a_penumbra_the_model_removed_stays_removed() -> None:
    """A flat, tint-dark shadow on paper: only its edges, softer than the page's own (a
    penumbra of sigma 2.5 px against the text's 0.6), tell it from tinted ink."""
    page = _blur(_page_with_text(np.random.default_rng(2)))
    block = np.zeros_like(page)
    block[20:140, 40:130] = 1.0
    shaded = (page * (1.0 - 0.55 * ndimage.gaussian_filter(block, 2.5))).astype(np.float32)
    assert float(shaded[40:120, 60:110].max()) < 0.5  # as dark as the tinted heading
    cleaned = page.copy()  # the model took the shadow out
    assert np.array_equal(tints.keep_tints(shaded, cleaned), cleaned)


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("mottled, like a stain", lambda h, rng: h + (h < 1) * rng.normal(0, 0.06, h.shape)),
        ("on a gray surround, like text under a shadow", lambda h, rng: np.minimum(h, 0.7)),
        ("black, which the model keeps anyway", lambda h, rng: np.where(h < 1, 0.1, h)),
    ],
)
def test_dark_regions_that_are_not_tinted_ink_are_left_to_the_model(what, make) -> None:
    rng = np.random.default_rng(3)
    base = _page_with_text(rng)
    heading = _heading(base)
    page = _blur(np.clip(make(heading, rng), 0, 1).astype(np.float32))
    region = _heading(np.ones_like(base)) < 1.0
    cleaned = page.copy()
    cleaned[region] = 1.0  # the model erased it
    assert np.array_equal(tints.keep_tints(page, cleaned), cleaned), what


def test_a_region_thicker_than_any_heading_stroke_is_left_to_the_model() -> None:
    page = _page_with_text(np.random.default_rng(4))
    page = np.pad(page, ((0, 0), (0, 200)), constant_values=1.0)
    block = np.zeros_like(page, bool)
    block[10:190, 20:200] = True  # a half-width of 90 px
    page[block] = TINT
    page = _blur(page)
    cleaned = page.copy()
    cleaned[block] = 1.0
    assert tints.MAX_HALF_WIDTH < 90
    assert np.array_equal(tints.keep_tints(page, cleaned), cleaned)
