"""benchmarks/shadow_photos.py: its photos carry a hard shadow, its score forgives a global
contrast only, and the default cleans a small photo better than leaving it or Sauvola."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_bench, run_bench

from docclean.evaluation import harm


@pytest.fixture(scope="module")
def photos() -> ModuleType:
    return load_bench("shadow_photos.py")


def test_the_score_forgives_a_global_contrast_and_nothing_else(photos: ModuleType) -> None:
    pure = harm.render_specimen(200, 160, 150, seed=0, margin_in=0.05).pixels.astype(np.float32)
    assert photos.affine_rmse(0.2 + 0.6 * pure, pure) < 1e-6  # gain and offset: no error
    flipped = photos.affine_rmse(1.0 - pure, pure)  # an inverted page is fitted by a gain of -1
    assert flipped < 1e-6
    striped = np.clip(pure + 0.3 * (np.arange(pure.shape[1]) % 2), 0, 1)  # a local change stays
    everywhere = photos.affine_rmse(striped, pure)
    assert everywhere > 0.05
    assert photos.affine_rmse(striped, pure, np.ones(pure.shape, bool)) == everywhere
    paper = pure == 1.0  # the stripes cannot lighten white paper: the error there is the fit's
    assert photos.affine_rmse(striped, pure, paper) < 0.5 * everywhere


def test_a_photo_has_a_hard_shadow_darker_than_the_light(photos: ModuleType) -> None:
    pure = harm.render_specimen(500, 400, 150, seed=1, margin_in=0.05).pixels
    for seed in range(4):
        photo, shade = photos.photograph(pure, np.random.default_rng(seed))
        assert photo.shape == pure.shape and photo.dtype == np.float32
        in_shadow, in_light = shade < 0.9, shade > 0.99
        assert 0.005 < in_shadow.mean() < 0.6 and in_light.mean() > 0.3
        assert shade.min() >= 1.0 - 0.65 - 1e-6  # 35-65 % darker at most
        paper = pure > 0.5
        assert np.median(photo[in_shadow & paper]) < 0.9 * np.median(photo[in_light & paper])


def test_the_default_cleans_a_shadowed_photo_better_than_leaving_it_or_sauvola(
    tmp_path: Path,
) -> None:
    report = tmp_path / "shadows.json"
    stdout = run_bench(
        "shadow_photos.py", "--dpi", "150", "--pages", "1", "--size", "600x480",
        "--json", str(report),
    )  # fmt: skip
    assert "| office-tone-unet | 1 |" in stdout
    figures = json.loads(report.read_text())
    model = figures["office-tone-unet"]
    assert model["rmse"] < 0.6 * figures["sauvola"]["rmse"] < figures["no_cleaning"]["rmse"]
    assert model["rmse_shadow"] < 0.25 * figures["no_cleaning"]["rmse_shadow"]


def test_rule_pixels_lost_are_those_a_broken_rule_misses(photos: ModuleType) -> None:
    pure = np.ones((120, 100), np.float32)
    pure[10:110, 50] = 0.0  # a rule down, 100 px
    pure[60, 5:95] = 0.0  # one across, 90 px
    pure[20:30, 20:23] = 0.0  # a letter's stem: no rule
    assert photos.rules_lost(pure, pure) == (0, 190)
    broken = 0.3 + 0.5 * pure  # another contrast, forgiven
    broken[30:40, 50] = 0.8  # a gap of 10 px in the rule down
    broken[60, 10:14] = 0.8  # one of 4 px in the one across
    broken[80:85, 49] = 0.3  # shifted by a pixel: kept
    broken[80:85, 50] = 0.8
    assert photos.rules_lost(broken, pure) == (14, 190)
