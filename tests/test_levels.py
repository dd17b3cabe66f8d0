"""Paper and ink levels: a paper-ink model takes every page at full contrast."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from docclean.errors import UsageError
from docclean.evaluation.harm import light_scan, render_specimen
from docclean.inference.cleaner import PageCleaner
from docclean.inference.levels import (
    INK_QUANTILE,
    MIN_PAPER,
    MIN_SPREAD,
    PAPER_QUANTILE,
    grain,
    ink_level,
    normalize_levels,
    sampled_quantiles,
)
from docclean.models.card import CardError, ModelCard
from docclean.models.store import load_model
from docclean.progress import Reporter
from docclean.training.trainer import TrainConfig, train

pages = arrays(np.float32, (24, 32), elements=st.floats(0, 1, width=32))


@settings(max_examples=200, deadline=None)
@given(pages)
def test_levels_keep_order_and_range_and_bound_the_gain(page: np.ndarray) -> None:
    out = normalize_levels(page)
    ink, (paper,) = ink_level(page), sampled_quantiles(page, [PAPER_QUANTILE])
    if paper < MIN_PAPER:
        assert out is page
        return
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    order = np.argsort(page, axis=None, kind="stable")
    assert np.all(np.diff(out.ravel()[order]) >= 0)  # darker stays darker
    assert np.all(out[page >= paper] == 1.0)  # the paper level and above: white
    if paper - ink >= MIN_SPREAD:
        assert np.all(out[page <= ink] <= 1e-5)  # the darkest ink: black
    inside = (out > 0) & (out < 1)  # not clipped: the map's slope there is the gain
    if inside.any() and np.ptp(page[inside]) >= 0.01:
        low, high = np.argmin(np.where(inside, page, 2)), np.argmax(np.where(inside, page, -1))
        rise = out.flat[high] - out.flat[low]
        assert rise <= (page.flat[high] - page.flat[low]) / MIN_SPREAD + 1e-4


def test_a_page_at_full_contrast_is_unchanged() -> None:
    pure = render_specimen(300, 400, 300).pixels
    assert normalize_levels(pure) is pure


def test_a_light_scan_comes_back_near_its_pure_page() -> None:
    """Paper 0.92-0.96 and ink 0.10-0.20: mapped to 1 and 0, so the lightest edges of the strokes
    cross back under the 0.5 line (leaving the scan alone loses a few % of the ink)."""
    pure = render_specimen(600, 800, 150).pixels
    scan = light_scan(pure, 150, seed=1)
    ink = pure < 0.5
    lost_before = np.mean(scan[ink] >= 0.5)
    leveled = normalize_levels(scan)
    assert lost_before > 0.02
    assert np.mean(leveled[ink] >= 0.5) < 0.5 * lost_before
    assert np.median(leveled[~ink]) > 0.97 and np.median(leveled[pure == 0]) < 0.05


def test_black_pepper_does_not_set_the_ink_level() -> None:
    """0.4 % of a light scan's pixels black (and 0.2 % white): the ink level is read from the
    strokes, so the scan's ink still comes back black and its gray ink darker than mid-gray."""
    pure = render_specimen(600, 800, 300).pixels
    scan = light_scan(pure, 300, seed=1)
    peppered = scan.copy()
    speck = np.random.default_rng(2).random(scan.shape)
    peppered[speck < 0.004] = 0.0
    peppered[speck > 0.998] = 1.0
    assert sampled_quantiles(peppered, [INK_QUANTILE]) == [0.0]  # the pepper's own quantile
    assert ink_level(peppered) == pytest.approx(ink_level(scan), abs=0.01)
    assert ink_level(scan) == pytest.approx(sampled_quantiles(scan, [INK_QUANTILE])[0], abs=1e-3)
    strokes = (pure == 0) & (speck >= 0.004) & (speck <= 0.998)
    assert np.median(normalize_levels(peppered)[strokes]) < 0.05


@pytest.mark.parametrize("sigma", [0.0, 0.004, 0.02, 0.06])
def test_grain_reads_the_noise_on_the_paper_not_the_letters_or_the_shading(sigma: float) -> None:
    page = render_specimen(600, 800, 300).pixels
    page = page * np.linspace(0.85, 1.0, page.shape[1], dtype=np.float32)  # light falling off
    noise = np.random.default_rng(3).normal(0.0, sigma, page.shape).astype(np.float32)
    assert grain(page + noise) == pytest.approx(sigma, abs=0.1 * sigma + 1e-4)


def test_dark_pages_and_blank_paper_are_not_blown_up() -> None:
    rng = np.random.default_rng(0)
    night = np.clip(0.3 + rng.normal(0, 0.05, (200, 200)), 0, 1).astype(np.float32)
    assert normalize_levels(night) is night  # paper darker than MIN_PAPER: a photo, left alone
    blank = np.clip(0.9 + rng.normal(0, 0.01, (200, 200)), 0, 1).astype(np.float32)
    out = normalize_levels(blank)
    assert out.std() <= blank.std() / MIN_SPREAD + 1e-4  # its grain grows at most 1/0.6 times
    assert out.min() > 0.85


def test_the_card_names_how_a_model_takes_its_pages(tiny_model: Path) -> None:
    card = load_model(tiny_model).card
    assert card.input_levels == "as-scanned" and "input_levels" not in card.to_dict()
    leveled = replace(card, input_levels="paper-ink")
    assert ModelCard.from_dict(leveled.to_dict()).input_levels == "paper-ink"
    with pytest.raises(CardError, match="input_levels"):
        ModelCard.from_dict({**card.to_dict(), "input_levels": "stretched"})


def test_a_paper_ink_model_cleans_the_page_at_full_contrast(tiny_model: Path) -> None:
    loaded = load_model(tiny_model)
    leveled = replace(loaded, card=replace(loaded.card, input_levels="paper-ink"))
    scan = light_scan(render_specimen(200, 240, 300).pixels, 300, seed=2)
    as_scanned = PageCleaner(loaded, tile_size=256, batch_size=1)
    at_full = PageCleaner(leveled, tile_size=256, batch_size=1)
    np.testing.assert_array_equal(at_full.clean(scan), as_scanned.clean(normalize_levels(scan)))
    assert not np.array_equal(at_full.clean(scan), as_scanned.clean(scan))


def test_training_at_full_contrast_is_written_in_the_card_and_inherited(
    tmp_path: Path, pair_dir: Path
) -> None:
    pages = (pair_dir / "noisy", pair_dir / "clean")
    small = dict(arch="seed-text", epochs=1, steps_per_epoch=2, patch_size=16, batch_size=4)
    card = train(*pages, TrainConfig(output=tmp_path / "a", input_levels="paper-ink", **small),
                 Reporter(quiet=True))  # fmt: skip
    assert card["input_levels"] == "paper-ink"
    assert load_model(tmp_path / "a.keras").card.input_levels == "paper-ink"
    small["arch"] = None
    tuned = train(*pages, TrainConfig(output=tmp_path / "b", init_from=str(tmp_path / "a.keras"),
                                      **small), Reporter(quiet=True))  # fmt: skip
    assert tuned["input_levels"] == "paper-ink"  # a fine-tune takes pages as its start did
    with pytest.raises(UsageError, match="--input-levels must be one of"):
        TrainConfig(output=tmp_path / "c", input_levels="stretched").validate()
