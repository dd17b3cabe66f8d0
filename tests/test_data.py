"""Pairing noisy and clean pages, validation splits and patch sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write_gray

from docclean.errors import DataError, UsageError
from docclean.training.data import (
    Pair,
    PairPaths,
    PatchSampler,
    find_pairs,
    grid_patches,
    load_pairs,
    pair_dirs,
    parse_augment,
    report_problems,
    split_validation,
)


def make_tree(
    root: Path, noisy: dict[str, tuple[int, int]], clean: dict[str, tuple[int, int]]
) -> None:
    for folder, files in (("noisy", noisy), ("clean", clean)):
        for name, (h, w) in files.items():
            write_gray(root / folder / name, np.ones((h, w), np.float32))


def test_pairs_match_by_relative_name_whatever_the_suffix(tmp_path: Path) -> None:
    make_tree(
        tmp_path, {"a.jpg": (8, 8), "sub/b.png": (9, 9)}, {"a.png": (8, 8), "sub/b.png": (9, 9)}
    )
    pairs, problems = find_pairs(tmp_path / "noisy", tmp_path / "clean")
    assert problems == []
    assert [p.name for p in pairs] == ["a", "sub/b"]


def test_missing_partners_and_size_mismatches_are_named(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"a.png": (8, 8), "only_noisy.png": (8, 8), "big.png": (8, 8)},
        {"a.png": (8, 8), "only_clean.png": (8, 8), "big.png": (9, 8)},
    )
    pairs, problems = find_pairs(tmp_path / "noisy", tmp_path / "clean")
    assert any("only_noisy.png: no clean partner" in p for p in problems)
    assert any("only_clean.png: no noisy partner" in p for p in problems)
    loaded, bad = load_pairs(pairs)
    assert [p.name for p in loaded] == ["a"]
    assert len(bad) == 1 and "big.png" in bad[0] and "differs" in bad[0]
    with pytest.raises(DataError, match="only_noisy"):
        report_problems(problems + bad, skip_bad=False)
    warned: list[str] = []
    report_problems(problems + bad, skip_bad=True, warn=warned.append)
    assert len(warned) == 3


def test_data_folder_or_two_folders(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.png": (4, 4)}, {"a.png": (4, 4)})
    assert pair_dirs(tmp_path, None, None) == (tmp_path / "noisy", tmp_path / "clean")
    with pytest.raises(DataError, match="not a folder"):
        pair_dirs(None, tmp_path / "nope", tmp_path / "clean")
    with pytest.raises(DataError, match="not both"):
        pair_dirs(tmp_path, tmp_path / "noisy", None)


def paths(n: int) -> list[PairPaths]:
    return [PairPaths(f"p{i}", Path(f"n{i}"), Path(f"c{i}")) for i in range(n)]


def test_validation_by_names_takes_whole_pages() -> None:
    train, val = split_validation(paths(5), val_names=["p1", "p3.png"])
    assert [p.name for p in val] == ["p1", "p3"]
    assert [p.name for p in train] == ["p0", "p2", "p4"]
    with pytest.raises(DataError, match="p9"):
        split_validation(paths(5), val_names=["p9"])


def test_validation_fraction_is_seeded_and_disjoint() -> None:
    a = split_validation(paths(20), val_fraction=0.25, seed=3)
    b = split_validation(paths(20), val_fraction=0.25, seed=3)
    c = split_validation(paths(20), val_fraction=0.25, seed=4)
    assert a == b and a != c
    train, val = a
    assert len(val) == 5 and not {p.name for p in train} & {p.name for p in val}
    assert len(split_validation(paths(2), val_fraction=0.1)[1]) == 1  # at least one page
    with pytest.raises(DataError):
        split_validation(paths(1), val_names=["p0"])  # nothing left to train on


def test_patches_stay_aligned_and_augmented_targets_are_untouched() -> None:
    rng = np.random.default_rng(0)
    clean = rng.random((50, 70), dtype=np.float32)
    noisy = clean * 0.5  # a fixed relation that misalignment would break
    sampler = PatchSampler([Pair("a", noisy, clean)], patch_size=16, seed=1, augment=[])
    x, y = sampler.batch(12)
    assert x.shape == y.shape == (12, 16, 16, 1)
    assert np.allclose(x, y * 0.5)
    augmented = PatchSampler(
        [Pair("a", noisy, clean)], patch_size=16, seed=1, augment=["flip", "tone"]
    )
    _, y2 = augmented.batch(50)
    windows = np.lib.stride_tricks.sliding_window_view(clean, (16, 16)).reshape(-1, 16, 16)
    for patch in y2[:10, ..., 0]:  # every target is a (flipped) window of the clean page
        candidates = [patch, patch[::-1], patch[:, ::-1], patch[::-1, ::-1]]
        assert any(np.any(np.all(windows == c, axis=(1, 2))) for c in candidates)


def test_turned_patches_are_transposed_windows_and_stay_aligned() -> None:
    rng = np.random.default_rng(2)
    clean = rng.random((40, 60), dtype=np.float32)
    noisy = clean * 0.5
    sampler = PatchSampler([Pair("a", noisy, clean)], patch_size=16, seed=4, augment=["turn"])
    x, y = sampler.batch(40)
    assert np.allclose(x, y * 0.5)
    windows = np.lib.stride_tricks.sliding_window_view(clean, (16, 16)).reshape(-1, 16, 16)
    turned = [not np.any(np.all(windows == p, axis=(1, 2))) for p in y[..., 0]]
    for patch, was_turned in zip(y[..., 0], turned, strict=True):
        if was_turned:  # a window of the page, transposed
            assert np.any(np.all(windows == patch.T, axis=(1, 2)))
    assert 10 <= sum(turned) <= 30  # about half


def test_scale_augmentation_resamples_both_sides_alike() -> None:
    yy, xx = np.mgrid[0:120, 0:120].astype(np.float32)
    clean = (np.sin(xx / 3) * np.cos(yy / 5) + 1) / 2  # smooth, so resampling keeps the relation
    noisy = clean * 0.5 + 0.25
    sampler = PatchSampler([Pair("a", noisy, clean)], patch_size=24, seed=3, augment=["scale"])
    x, y = sampler.batch(40)
    assert x.shape == y.shape == (40, 24, 24, 1)
    assert np.allclose(x, y * 0.5 + 0.25, atol=1e-5)  # still aligned, target resampled too
    # zoomed patches: the stripes' period changes, so some patches are no window of the page
    windows = np.lib.stride_tricks.sliding_window_view(clean, (24, 24)).reshape(-1, 24, 24)
    exact = [np.any(np.all(np.isclose(windows, p, atol=1e-6), axis=(1, 2))) for p in y[..., 0]]
    assert sum(exact) < len(exact) / 4  # only a zoom of about 1 leaves a crop as it is


def test_augmentation_names_are_checked() -> None:
    assert parse_augment("scale, flip") == ["flip", "scale"]  # registry order
    assert parse_augment("none") == parse_augment("") == []
    with pytest.raises(UsageError, match="rotate"):
        parse_augment("flip,rotate")


def test_small_pages_are_padded_to_a_patch_and_grid_covers_pages() -> None:
    small = Pair("s", np.zeros((5, 9), np.float32), np.ones((5, 9), np.float32))
    x, y = PatchSampler([small], patch_size=16, seed=0).batch(4)
    assert x.shape == (4, 16, 16, 1) and (y == 1).all()
    big = Pair("b", np.zeros((40, 33), np.float32), np.ones((40, 33), np.float32))
    gx, gy = grid_patches([small, big], 16)
    assert gx.shape == (1 + 3 * 3, 16, 16, 1) == gy.shape
