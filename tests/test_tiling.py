"""Tiling geometry: tiles cover the page once, and stitched output equals whole-page inference."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.errors import UsageError
from docclean.inference.tiling import (
    TileConfig,
    default_margin,
    reflect_indices,
    run_tiled,
    tile_origins,
    whole_page_canvas,
)


def fake_model(canvas: np.ndarray, stride: int) -> np.ndarray:
    """A stand-in CNN: a zero-padded 3x3 box filter plus a stride-aligned block mean.

    Like a conv net with pooling, its output depends on the zero padding at the canvas edge and on
    where the stride grid falls. Its receptive radius is ``max(1, stride - 1)``.
    """
    padded = np.pad(canvas, 1)
    h, w = canvas.shape
    box = sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9.0
    blocks = canvas.reshape(h // stride, stride, w // stride, stride).mean(axis=(1, 3))
    return (box + np.repeat(np.repeat(blocks, stride, 0), stride, 1)).astype(np.float32)


def whole_page(page: np.ndarray, margin: int, stride: int) -> np.ndarray:
    canvas = whole_page_canvas(page, margin, stride)
    h, w = page.shape
    return fake_model(canvas, stride)[margin : margin + h, margin : margin + w]


def batch_model(stride: int):
    def predict(batch: np.ndarray) -> np.ndarray:
        return np.stack([fake_model(tile, stride) for tile in batch])

    return predict


@st.composite
def geometries(draw: st.DrawFn) -> tuple[np.ndarray, TileConfig, int]:
    stride = draw(st.sampled_from([1, 2, 4]))
    radius = max(1, stride - 1)
    margin = default_margin(radius, stride) + stride * draw(st.integers(0, 3))
    core_height, core_width = (stride * draw(st.integers(1, 6)) for _ in "hw")
    config = TileConfig(
        tile_size=core_height + 2 * margin,
        margin=margin,
        batch_size=draw(st.integers(1, 5)),
        tile_width=draw(st.sampled_from([None, core_width + 2 * margin])),  # square or not
    )
    h, w = draw(st.integers(1, 70)), draw(st.integers(1, 70))
    seed = draw(st.integers(0, 2**16))
    page = np.random.default_rng(seed).random((h, w), dtype=np.float32)
    return page, config, stride


@settings(max_examples=300, deadline=None)
@given(geometries())
def test_tiled_output_equals_whole_page_inference(case: tuple[np.ndarray, TileConfig, int]) -> None:
    page, config, stride = case
    tiled = run_tiled(page, batch_model(stride), config)
    assert tiled.shape == page.shape
    assert np.abs(tiled - whole_page(page, config.margin, stride)).max() <= 1e-5


def test_a_margin_below_the_receptive_field_shows_seams() -> None:
    page = np.random.default_rng(0).random((40, 40), dtype=np.float32)
    config = TileConfig(tile_size=8, margin=0, batch_size=4)  # radius 1 needs margin >= 1
    tiled = run_tiled(page, batch_model(1), config)
    assert np.abs(tiled - whole_page(page, 0, 1)).max() > 0.01


def test_misaligned_tiles_change_a_strided_model() -> None:
    page = np.random.default_rng(1).random((40, 40), dtype=np.float32)
    config = TileConfig(tile_size=11, margin=3, batch_size=4)  # core 5 is off the stride-2 grid
    tiled = run_tiled(page, lambda b: np.stack([fake_model(t[:10, :10], 2) for t in b]), config)
    assert np.abs(tiled[5:] - whole_page(page, 3, 2)[5:]).max() > 0.01


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(1, 12), st.integers(1, 12))
def test_tile_cores_cover_every_pixel_exactly_once(
    h: int, w: int, core_height: int, core_width: int
) -> None:
    config = TileConfig(tile_size=core_height + 4, margin=2, tile_width=core_width + 4)
    hits = np.zeros((h, w), int)
    for y, x in tile_origins(h, w, config):
        hits[y : y + core_height, x : x + core_width] += 1
    assert (hits == 1).all()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(0, 80), st.integers(0, 80))
def test_reflection_matches_numpy_symmetric_padding(size: int, before: int, after: int) -> None:
    data = np.arange(size)
    expected = np.pad(data, (before, after), mode="symmetric")
    assert (data[reflect_indices(-before, size + before + after, size)] == expected).all()


def test_batches_have_one_fixed_shape() -> None:
    shapes: set[tuple[int, ...]] = set()

    def predict(batch: np.ndarray) -> np.ndarray:
        shapes.add(batch.shape)
        return batch

    page = np.random.default_rng(2).random((123, 77), dtype=np.float32)
    out = run_tiled(page, predict, TileConfig(tile_size=32, margin=4, batch_size=3))
    assert shapes == {(3, 32, 32)}
    assert np.array_equal(out, page)  # identity model: stitching is exact
    shapes.clear()
    out = run_tiled(page, predict, TileConfig(32, margin=4, batch_size=3, tile_width=48))
    assert shapes == {(3, 32, 48)}
    assert np.array_equal(out, page)  # identity model: stitching is exact


def test_memory_is_the_page_plus_one_batch() -> None:
    page = np.random.default_rng(3).random((1500, 1300), dtype=np.float32)
    config = TileConfig(tile_size=128, margin=8, batch_size=4)
    tracemalloc.start()
    run_tiled(page, lambda batch: batch.copy(), config)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    batch_bytes = config.batch_size * config.tile_size**2 * 4
    assert peak < page.nbytes + 4 * batch_bytes + 1_000_000  # output page, batch and its copies


@pytest.mark.parametrize(
    ("config", "radius", "stride", "message"),
    [
        (TileConfig(64, 2), 5, 2, "receptive radius"),
        (TileConfig(63, 6), 5, 2, "multiples"),
        (TileConfig(64, 6, tile_width=63), 5, 2, "64x63 and margin 6 must be multiples"),
        (TileConfig(24, 12), 5, 2, "no room"),
        (TileConfig(64, 12, tile_width=24), 5, 2, "no room"),
        (TileConfig(64, 6, batch_size=0), 5, 2, "batch size"),
    ],
)
def test_invalid_geometry_is_refused(
    config: TileConfig, radius: int, stride: int, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        config.validate(radius, stride)


def test_empty_page_is_refused() -> None:
    with pytest.raises(UsageError):
        run_tiled(np.zeros((0, 5), np.float32), lambda b: b, TileConfig(16, 2))
