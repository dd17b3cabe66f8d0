"""Two-tone pages get strokes as wide as the page draws them, and never lose a mark to it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.inference import two_tone
from docclean.models.layers import Recentre


def _two_tones(paper: float, ink: float, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    page = np.full((90, 120), paper, np.float32)
    page[20:30, 10:110] = ink
    page[50:70, 40:60] = ink
    rng = np.random.default_rng(seed)
    return np.clip(page + noise * rng.standard_normal(page.shape), 0, 1).astype(np.float32)


def test_separability_is_one_for_two_flat_tones_and_zero_for_a_flat_page() -> None:
    assert two_tone.separability(_two_tones(0.9, 0.2)) == pytest.approx(1.0, abs=1e-6)
    assert two_tone.separability(np.full((50, 50), 0.7, np.float32)) == 0.0
    noisy = two_tone.separability(_two_tones(0.9, 0.2, noise=0.15))
    assert 0.3 < noisy < 0.9  # noise and stains blur the two tones together


@settings(max_examples=40, deadline=None)
@given(st.floats(0.55, 1.0), st.floats(0.0, 0.45), st.floats(0.0, 0.1), st.integers(0, 2**16))
def test_separability_lies_in_0_1_and_falls_with_noise(
    paper: float, ink: float, noise: float, seed: int
) -> None:
    clean = two_tone.separability(_two_tones(paper, ink, 0.0, seed))
    noisy = two_tone.separability(_two_tones(paper, ink, noise, seed))
    assert 0.0 <= noisy <= clean + 1e-6 <= 1.0 + 1e-6


def test_page_level_keeps_the_models_level_below_the_ramp_and_thins_above() -> None:
    degraded = _two_tones(0.9, 0.2, noise=0.15)
    clean = _two_tones(0.9, 0.2)
    assert two_tone.page_level(degraded, 0.65) == 0.65
    assert two_tone.page_level(clean, 0.65) == pytest.approx(two_tone.THIN_LEVEL)
    assert two_tone.page_level(clean, 0.3) == 0.3  # never thicker than the model's own


@settings(max_examples=60, deadline=None)
@given(st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.01, 0.99))
def test_recentre_matches_the_model_layer_and_composes(
    level: float, wanted: float, x: float
) -> None:
    """recentre(x, l) is the Recentre layer's sum; moving an output recentred at ``level`` to
    ``wanted`` equals recentring the raw value at ``wanted``."""
    layer = Recentre()
    layer.build((None, 1))
    layer.level.assign(level)
    raw = np.array([[x]], np.float32)
    assert float(two_tone.recentre(raw, level)[0, 0]) == pytest.approx(
        float(np.asarray(layer(raw))[0, 0]), abs=1e-5
    )
    moved = two_tone.recentre(
        two_tone.recentre(raw, level), float(two_tone.recentre(np.float32(wanted), level))
    )
    assert float(moved[0, 0]) == pytest.approx(
        float(two_tone.recentre(raw, wanted)[0, 0]), abs=1e-4
    )


def test_two_tone_output_thins_strokes_but_keeps_every_mark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below DRAWN_FROM, on a two-tone page the stroke rims (raw output between the thin and the
    model's level) turn to paper, a hairline or a dot lying wholly in that band stays."""
    monkeypatch.setattr(two_tone, "DRAWN_FROM", 1.01)
    page = _two_tones(0.92, 0.15)
    raw = np.ones(page.shape, np.float32)
    raw[19:31, 9:111] = 0.55  # a bar's rim: ink at 0.65, paper at THIN_LEVEL
    raw[21:29, 11:109] = 0.05  # its core
    raw[80, 10:100] = 0.5  # a hairline rule the thin level would delete
    raw[5:7, 5:7] = 0.55  # a dot
    output = two_tone.recentre(raw, 0.65)
    thinned = two_tone.two_tone_output(output, page, 0.65)
    assert (thinned[19, 20] >= 0.5) and (thinned[25, 50] < 0.5)  # rim gone, core kept
    assert (thinned[80, 10:100] < 0.5).all() and (thinned[5:7, 5:7] < 0.5).all()
    assert np.array_equal(
        two_tone.two_tone_output(output, _two_tones(0.9, 0.2, 0.15), 0.65), output
    )


def test_model_level_reads_the_recentre_weight() -> None:
    import keras

    inputs = keras.Input((8, 8, 1))
    layer = Recentre()
    model = keras.Model(inputs, layer(inputs))
    layer.level.assign(0.8)
    assert two_tone.model_level(model) == pytest.approx(0.8)
    plain = keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))
    assert two_tone.model_level(plain) == 0.5


def _drawn_page(
    bars: list[tuple[int, int, int, int]], paper: float, ink: float, blur: float
) -> tuple[np.ndarray, np.ndarray]:
    """A page of ink bars (top, left, height, width) on paper, blurred: (page, its ink)."""
    from scipy import ndimage

    truth = np.zeros((120, 160), bool)
    for top, left, height, width in bars:
        truth[top : top + height, left : left + width] = True
    page = np.where(truth, ink, paper).astype(np.float32)
    if blur > 0:
        page = ndimage.gaussian_filter(page, blur).astype(np.float32)
    return page, truth


def _thick(truth: np.ndarray, grow: int) -> np.ndarray:
    """A binarizer's output (its level at 0.5) that draws ``truth`` ``grow`` px too wide."""
    from scipy import ndimage

    wide = ndimage.binary_dilation(truth, iterations=grow) if grow else truth
    return np.where(wide, 0.05, 0.98).astype(np.float32)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(5, 100), st.integers(5, 130), st.integers(3, 15), st.integers(3, 25)),
        min_size=1,
        max_size=5,
    ),
    st.floats(0.8, 1.0),
    st.floats(0.0, 0.35),
    st.floats(0.0, 1.0),
    st.integers(0, 3),
)
def test_drawn_ink_gives_strokes_the_width_the_page_draws(
    bars: list[tuple[int, int, int, int]], paper: float, ink: float, blur: float, grow: int
) -> None:
    """However much too wide the model draws them (0-3 px), bars come back as the page draws
    them: wrong pixels only on the bars' outlines, none of them lost."""
    from scipy import ndimage

    page, truth = _drawn_page(bars, paper, ink, blur)
    drawn = two_tone.drawn_ink(_thick(truth, grow), page)
    outline = ndimage.binary_dilation(truth) & ~ndimage.binary_erosion(truth)
    assert not (drawn != truth)[~outline].any()
    labels, count = ndimage.label(truth)
    for mark in range(1, count + 1):
        assert drawn[labels == mark].mean() > 0.5


def test_drawn_ink_keeps_faint_rules_and_dots_and_what_the_model_left_out_stays_out() -> None:
    """A light-gray hairline rule and a dot the model sees stay (at their own midpoint); a dark
    speck far from any ink the model took out stays out."""
    page, truth = _drawn_page([(20, 10, 10, 100), (50, 40, 20, 20)], 0.92, 0.15, 0.6)
    page[90, 10:150] = 0.7  # a light rule: lighter than the page's midpoint
    page[100:102, 20:22] = 0.4  # a small gray dot
    page[108:111, 140:143] = 0.2  # a speck the model calls paper
    output = _thick(truth, 2)
    output[89:92, 8:152] = 0.3  # the model sees the rule (thicker), and the dot
    output[99:103, 19:23] = 0.3
    drawn = two_tone.drawn_ink(output, page)
    assert drawn[90, 10:150].all() and not drawn[88, 10:150].any() and not drawn[92].any()
    assert drawn[100:102, 20:22].all() and not drawn[108:111, 140:143].any()
    assert np.array_equal(drawn[:80], truth[:80])


def test_two_tone_output_agrees_with_two_tone_ink_on_drawn_pages() -> None:
    page, truth = _drawn_page([(20, 10, 10, 100), (50, 40, 20, 20)], 0.92, 0.15, 0.6)
    assert two_tone.separability(page) >= two_tone.DRAWN_FROM
    output = _thick(truth, 2)
    ink = two_tone.two_tone_ink(output, page, 0.65)
    assert np.array_equal(ink, truth)
    gray = two_tone.two_tone_output(output, page, 0.65)
    assert np.array_equal(gray < 0.5, ink)
    assert np.isin(gray, np.float32([0.05, 0.98, 1.0])).all()  # the model's, or paper made solid
