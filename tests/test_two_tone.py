"""Two-tone pages get a binarizer's thinner level, and never lose a mark to it."""

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


def test_two_tone_output_thins_strokes_but_keeps_every_mark() -> None:
    """On a two-tone page the stroke rims (raw output between the thin and the model's level) turn
    to paper, a hairline or a dot lying wholly in that band stays."""
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
