"""docclean's own Keras layers: what Despeckle fills and leaves, Mirror, Recentre, older files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from docclean.inference.tiling import whole_page_canvas
from docclean.models.layers import Despeckle, Mirror, Recentre
from docclean.models.store import load_model, sha256_of
from docclean.synth.generator import salt_and_pepper


def despeckle(page: np.ndarray) -> np.ndarray:
    return np.asarray(Despeckle()(page[np.newaxis, ..., np.newaxis]))[0, ..., 0]


def paper(h: int = 24, w: int = 24, seed: int = 0) -> np.ndarray:
    """Light paper with a little grain, well within Despeckle's spread."""
    return (0.85 + 0.05 * np.random.default_rng(seed).random((h, w))).astype(np.float32)


def test_a_lone_dark_pixel_takes_its_darkest_neighbours_value() -> None:
    page = paper()
    page[10, 7] = 0.0
    out = despeckle(page)
    assert out[10, 7] == page[9:12, 6:9][page[9:12, 6:9] > 0.5].min()
    page[10, 7] = out[10, 7]
    assert np.array_equal(out, page)  # and nothing else changed


@pytest.mark.parametrize(
    "mark",
    [
        (slice(10, 12), slice(7, 9)),  # a 2x2 dot: the full stop of small print
        (slice(10, 11), slice(3, 20)),  # a 1 px rule
        (slice(5, 19), slice(12, 13)),  # a 1 px stroke
        (slice(10, 11), slice(7, 8)),  # a faint lone pixel: too little contrast to be a speck
    ],
)
def test_marks_that_are_not_lone_specks_are_kept(mark: tuple[slice, slice]) -> None:
    page = paper()
    page[mark] = 0.6 if page[mark].size == 1 else 0.0
    assert np.array_equal(despeckle(page), page)


def test_light_pixels_in_ink_are_kept() -> None:
    ink = np.full((9, 9), 0.1, np.float32)  # the 1 px counter of a small "e", or salt in ink
    ink[4, 4] = 0.95
    assert np.array_equal(despeckle(ink), ink)


def test_a_speck_beside_text_is_kept() -> None:
    page = paper()
    page[:, :8] = 0.05  # a stroke's edge among its neighbours: they are not all light
    page[10, 8] = 0.0
    assert np.array_equal(despeckle(page), page)


def test_salt_and_pepper_pepper_on_blank_paper_is_filled() -> None:
    rng = np.random.default_rng(2)
    page = np.ones((256, 256), np.float32)
    noisy = salt_and_pepper(page, rng)
    lone = (noisy == 0.0) & (np.abs(page - noisy) > 0.9)
    out = despeckle(noisy)
    assert lone.sum() > 20
    assert (out[lone] > 0.9).mean() > 0.95
    assert np.abs(out - page).sum() < 0.5 * np.abs(noisy - page).sum()


def test_layer_config_round_trips() -> None:
    layer = Despeckle(spread=0.1, contrast=0.5, name="d")
    again = Despeckle.from_config(layer.get_config())
    assert (again.spread, again.contrast, again.name) == (0.1, 0.5, "d")


@pytest.mark.parametrize(
    ("axis", "expected"), [("columns", [[2, 1], [4, 3]]), ("rows", [[3, 4], [1, 2]])]
)
def test_mirror_flips_one_axis_and_round_trips(axis: str, expected: list[list[int]]) -> None:
    page = np.array([[1, 2], [3, 4]], np.float32)[np.newaxis, ..., np.newaxis]
    layer = Mirror.from_config(Mirror(axis, name="m").get_config())
    assert layer.axis == axis
    assert np.array_equal(np.asarray(layer(page))[0, ..., 0], expected)
    with pytest.raises(ValueError, match="axis"):
        Mirror("depth")


def test_recentre_moves_its_level_to_one_half_and_keeps_order_and_ends() -> None:
    x = np.linspace(0, 1, 201, dtype=np.float32)[np.newaxis, :, np.newaxis, np.newaxis]
    layer = Recentre()
    assert np.allclose(np.asarray(layer(x)), x, atol=1e-6)  # built at 0.5: the identity
    layer.set_weights([np.float32(0.65)])
    y = np.asarray(layer(x)).ravel()
    assert np.all(np.diff(y) > 0) and y[0] == 0.0 and y[-1] == 1.0
    assert np.array_equal(y >= 0.5, x.ravel() >= 0.65 - 1e-6)
    assert (
        abs(float(np.asarray(layer(np.full((1, 1, 1, 1), 0.65, np.float32))).item()) - 0.5) < 1e-6
    )


def test_a_model_saved_before_despeckle_still_loads_and_runs_without_it(tmp_path: Path) -> None:
    import keras

    from docclean.inference.cleaner import PageCleaner
    from docclean.models.architectures import _clean, _curve_logits, _fast_unet_body
    from docclean.models.layers import Logit

    inputs = keras.Input(shape=(None, None, 1), name="noisy")  # tone-unet as first shipped
    logits = Logit(name="logit")(inputs)
    body = _fast_unet_body(inputs)
    older = keras.Model(inputs, _clean(_curve_logits(body, logits, 2.5, 0.0)))
    older.save(tmp_path / "old.keras")
    card = {"architecture": "tone-unet", "receptive_radius": 95, "stride": 16}
    card["sha256"] = sha256_of(tmp_path / "old.keras")
    (tmp_path / "old.json").write_text(json.dumps(card))
    loaded = load_model(tmp_path / "old.keras")
    assert "despeckle" not in [layer.name for layer in loaded.model.layers]
    page = paper(40, 50)
    page[20, 20] = 0.0  # a speck it leaves to its U-Net, as it always did
    cleaner = PageCleaner(loaded, tile_size=256)
    m = cleaner.config.margin
    canvas = whole_page_canvas(page, m, 16)[np.newaxis, ..., np.newaxis]
    expected = np.asarray(older(canvas))[0, m : m + 40, m : m + 50, 0]
    assert np.abs(cleaner.clean(page) - expected).max() < 1e-5
