"""The inference copy of a model: PatchTranspose computes what Conv2DTranspose does, faster."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.inference.cleaner import PageCleaner
from docclean.inference.graph import all_layers, inference_model, is_patch_transpose
from docclean.models.layers import PatchTranspose
from docclean.models.store import load_model


def transposed(
    filters: int, patch: int, channels: int, activation: str | None, seed: int
) -> keras.layers.Layer:
    layer = keras.layers.Conv2DTranspose(filters, patch, strides=patch, activation=activation)
    layer.build((None, None, None, channels))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in layer.weights])
    return layer


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from([2, 4]),
    st.integers(1, 5),
    st.integers(1, 9),
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from([None, "relu"]),
    st.integers(0, 100),
)
def test_patch_transpose_computes_the_transposed_convolution(
    patch: int, filters: int, channels: int, rows: int, cols: int, activation: str | None, seed: int
) -> None:
    plain = transposed(filters, patch, channels, activation, seed)
    faster = PatchTranspose(filters, patch, activation=activation)
    faster.build((None, None, None, channels))
    faster.set_weights(plain.get_weights())
    x = np.random.default_rng(seed + 1).normal(0, 1, (2, rows, cols, channels)).astype("float32")
    expected = np.asarray(plain(x))
    got = np.asarray(faster(x))
    assert got.shape == expected.shape == (2, rows * patch, cols * patch, filters)
    assert np.abs(got - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def test_patch_transpose_config_round_trips() -> None:
    layer = PatchTranspose(3, 4, activation="relu", name="p")
    again = PatchTranspose.from_config(layer.get_config())
    assert (again.filters, again.patch, again.name) == (3, 4, "p")
    assert again.activation is keras.activations.relu


@pytest.mark.parametrize(
    ("kernel", "strides", "padding", "swapped"),
    [
        (4, 4, "valid", True),
        (2, 2, "valid", True),
        (3, 2, "valid", False),
        (4, 2, "same", False),
        (2, 2, "same", False),  # the same layout, but left alone: only what the models use
    ],
)
def test_only_transposes_that_lay_out_one_patch_per_pixel_are_swapped(
    kernel: int, strides: int, padding: str, swapped: bool
) -> None:
    layer = keras.layers.Conv2DTranspose(2, kernel, strides=strides, padding=padding)
    layer.build((None, None, None, 3))
    assert is_patch_transpose(layer) is swapped


@pytest.mark.parametrize("name", ["office-tone-unet", "noisyoffice-tone-unet", "dibco-fast-unet"])
def test_shipped_models_run_the_same_in_their_inference_copy(name: str) -> None:
    model = load_model(name).model
    fast = inference_model(model)
    before = [type(layer).__name__ for layer in all_layers(model)]
    assert not any(is_patch_transpose(layer) for layer in all_layers(fast))
    assert any(isinstance(layer, PatchTranspose) for layer in all_layers(fast))
    assert [type(layer).__name__ for layer in all_layers(model)] == before  # left as it was
    assert len(fast.weights) == len(model.weights)
    rng = np.random.default_rng(3)
    pages = rng.random((2, 96, 160, 1)).astype("float32")
    pages[:, 20:60:8, 16:140] = 0.1  # strokes on noisy paper
    exact = np.asarray(model(pages, training=False))
    assert np.abs(np.asarray(fast(pages, training=False)) - exact).max() <= 1e-5


def test_the_page_cleaner_runs_the_inference_copy() -> None:
    cleaner = PageCleaner(load_model("office-tone-unet"), tile_size=256, batch_size=1)
    assert not any(is_patch_transpose(layer) for layer in all_layers(cleaner._model))
    assert any(isinstance(layer, PatchTranspose) for layer in all_layers(cleaner._model))


def test_the_inference_copy_follows_the_weights_of_a_model_in_training() -> None:
    model = load_model("office-tone-unet").model
    fast = inference_model(model)
    pages = np.random.default_rng(5).random((1, 64, 64, 1)).astype("float32")
    before = np.asarray(fast(pages, training=False))
    gain = model.get_layer("gain")
    gain.kernel.assign(np.asarray(gain.kernel) * 0.5)  # what an optimizer step does
    exact = np.asarray(model(pages, training=False))
    assert np.abs(exact - before).max() > 0.01
    assert np.abs(np.asarray(fast(pages, training=False)) - exact).max() <= 1e-5
    assert {id(v) for v in fast.weights} == {id(v) for v in model.weights}
