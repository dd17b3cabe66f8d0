"""Blurred pages sharpened before the model: how blur is measured, and which pages are sharpened."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from docclean.inference import marks, sharpen


def _blocks(height: int = 200, width: int = 240, seed: int = 0) -> np.ndarray:
    """Paper with dark 'letters': bars and blocks of 3-9 px at random places."""
    page = np.ones((height, width), np.float32)
    rng = np.random.default_rng(seed)
    for _ in range(height * width // 400):
        y, x = rng.integers(5, height - 15), rng.integers(5, width - 15)
        page[y : y + rng.integers(3, 10), x : x + rng.integers(3, 10)] = 0.0
    return page


def _blurred(page: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(page, sigma, mode="nearest").astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.5, 1.1), more=st.floats(0.1, 0.5), seed=st.integers(0, 1000))
def test_the_blur_of_a_page_is_measured(sigma: float, more: float, seed: int) -> None:
    page = _blocks(seed=seed)
    measured = sharpen.edge_blur(_blurred(page, sigma))
    assert sigma - 0.16 < measured < sigma  # a little low: the window cuts the edge's tails
    assert sharpen.edge_blur(_blurred(page, sigma + more)) > measured


def test_sharp_pages_and_blank_ones_measure_little() -> None:
    assert sharpen.edge_blur(_blocks()) < 0.3
    assert sharpen.edge_blur(np.ones((100, 100), np.float32)) == 0.0


def test_a_tall_page_is_measured_on_bands_as_on_the_whole() -> None:
    tall = _blurred(_blocks(height=3000, width=300), 0.9)
    assert tall.shape[0] > sharpen.STRIPS * sharpen.STRIP_ROWS
    whole = sharpen.edge_blur(tall[: sharpen.STRIPS * sharpen.STRIP_ROWS])
    assert abs(sharpen.edge_blur(tall) - whole) < 0.05


def test_a_blurred_page_is_sharpened() -> None:
    page = _blurred(_blocks(), 1.0)
    census = marks.census(page)
    assert census.kind != "speckled"
    sharpened = sharpen.sharpen_blurred(page, census)
    assert sharpen.edge_blur(sharpened) < sharpen.edge_blur(page) - 0.1
    sharp = _blocks()
    assert np.abs(sharpened - sharp).mean() < 0.85 * np.abs(page - sharp).mean()
    assert sharpened.dtype == np.float32 and 0.0 <= sharpened.min() <= sharpened.max() <= 1.0


@pytest.mark.parametrize("sigma", [0.0, 0.6])  # 0.6 measures 0.52: NoisyOffice 0.35-0.46
def test_a_page_as_sharp_as_a_scan_is_left_as_it_is(sigma: float) -> None:
    page = _blurred(_blocks(), sigma) if sigma else _blocks()
    assert sharpen.sharpen_blurred(page, marks.census(page)) is page


def test_a_blurred_speckled_page_is_not_sharpened() -> None:
    page = _blurred(_blocks(), 1.0)
    rng = np.random.default_rng(1)
    for y, x in zip(rng.integers(0, 200, 600), rng.integers(0, 240, 600), strict=True):
        if page[max(y - 4, 0) : y + 5, max(x - 4, 0) : x + 5].min() > 0.9:
            page[y, x] = 0.0
    census = marks.census(page)
    assert census.kind == "speckled"
    assert sharpen.sharpen_blurred(page, census) is page


def test_the_default_cleaner_gives_its_model_a_blurred_page_sharpened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docclean.inference import cleaner
    from docclean.models.store import load_model

    page = _blurred(_blocks(), 1.0)
    seen: list[np.ndarray] = []
    monkeypatch.setattr(
        cleaner, "run_tiled", lambda levelled, *_: seen.append(levelled) or levelled
    )
    cleaner.PageCleaner(load_model("office-tone-unet"), device="cpu").clean(page)
    assert sharpen.edge_blur(seen[0]) < sharpen.edge_blur(page) - 0.1
