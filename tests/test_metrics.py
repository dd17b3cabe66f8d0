"""Metrics against values worked out by hand on small arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from docclean.evaluation import metrics as metrics

W, B = 1.0, 0.0  # white paper, black ink


def test_rmse_psnr_by_hand() -> None:
    out = np.array([[0.0, 1.0], [1.0, 1.0]])
    ref = np.ones((2, 2))
    assert metrics.rmse(out, ref) == pytest.approx(0.5)  # sqrt(1/4)
    assert metrics.psnr(out, ref) == pytest.approx(20 * math.log10(2))
    assert metrics.psnr(ref, ref) == math.inf


def test_ssim_is_one_for_identical_and_lower_for_noisy_pages() -> None:
    page = np.ones((32, 32))
    page[10:20, 5:25] = 0.0
    noisy = np.clip(page + np.random.default_rng(1).normal(0, 0.2, (32, 32)), 0, 1)
    assert metrics.ssim(page, page) == pytest.approx(1.0)
    assert metrics.ssim(noisy, page) < 0.6
    assert metrics.ssim(page[:5, :5], page[:5, :5]) == pytest.approx(1.0)  # small window


def page_with(text: list[tuple[int, int]], shape: tuple[int, int] = (5, 7)) -> np.ndarray:
    page = np.full(shape, W)
    for y, x in text:
        page[y, x] = B
    return page


def test_fmeasure_by_hand() -> None:
    ref = page_with([(1, 1), (1, 2), (2, 1), (2, 2)])
    out = page_with([(1, 1), (1, 2), (2, 1), (4, 6)])  # 3 hits, 1 false alarm, 1 miss
    assert metrics.fmeasure(out, ref) == pytest.approx(75.0)  # P = R = 3/4
    assert metrics.fmeasure(page_with([]), ref) == 0.0


def test_pseudo_fmeasure_by_hand_on_a_one_pixel_stroke() -> None:
    line = [(2, x) for x in range(1, 6)]  # a 1-px stroke is its own skeleton
    ref = page_with(line)
    out = page_with([*line[:4], (0, 0), (4, 0)])  # 4 of 5 stroke pixels, 2 false alarms
    precision, pseudo_recall = 4 / 6, 4 / 5
    expected = 100 * 2 * precision * pseudo_recall / (precision + pseudo_recall)
    assert metrics.pseudo_fmeasure(out, ref) == pytest.approx(expected)  # 72.73


def test_pseudo_recall_ignores_stroke_width() -> None:
    ref = np.full((9, 15), W)
    ref[3:6, 2:13] = B  # a 3-px thick bar
    out = np.full_like(ref, W)
    out[4, :] = B  # only its middle line: poor recall, full pseudo-recall
    plain = metrics.fmeasure(out, ref)
    assert plain == pytest.approx(100 * 2 * (11 / 15) * (11 / 33) / (11 / 15 + 11 / 33))  # 45.8
    assert metrics.pseudo_fmeasure(out, ref) > plain + 25


def test_drd_weight_matrix() -> None:
    w = metrics.drd_weights()
    total = 4 * 1 + 4 / math.sqrt(2) + 4 / 2 + 8 / math.sqrt(5) + 4 / math.sqrt(8)  # 13.8203
    assert w[2, 2] == 0 and w.sum() == pytest.approx(1)
    assert w[2, 3] == pytest.approx(1 / total)
    assert w[0, 0] == pytest.approx(1 / math.sqrt(8) / total)


def test_drd_by_hand() -> None:
    ref = np.full((8, 8), W)
    ref[3:5, 3:5] = B  # a 2x2 dot: the one 8x8 block is non-uniform, NUBN = 1
    out = ref.copy()
    out[3, 5] = B  # one extra black pixel right of the dot
    total = 4 * 1 + 4 / math.sqrt(2) + 4 / 2 + 8 / math.sqrt(5) + 4 / math.sqrt(8)
    black_neighbours = (
        1 / 2 + 1 + 1 / math.sqrt(5) + 1 / math.sqrt(2)
    )  # (0,-2) (0,-1) (1,-2) (1,-1)
    expected = 1 - black_neighbours / total  # weight of the white neighbours it disagrees with
    assert metrics.drd(out, ref) == pytest.approx(expected)  # 0.8079
    assert metrics.drd(ref, ref) == 0.0


def test_drd_counts_non_uniform_blocks() -> None:
    ref = np.full((16, 16), W)
    ref[2, 2] = B
    ref[10, 10] = B  # two non-uniform blocks out of four
    out = ref.copy()
    out[10, 10] = W  # a missed isolated dot: all 24 neighbours are white like the output
    assert metrics.drd(out, ref) == pytest.approx(0.0 / 2)
    out2 = ref.copy()
    out2[6, 6] = B  # an isolated false dot; neighbours all white: full cost 1, over NUBN 2
    assert metrics.drd(out2, ref) == pytest.approx(1 / 2)


def test_bilevel_scores_threshold_gray_output() -> None:
    ref = page_with([(1, 1), (2, 2)])
    gray = np.where(ref == B, 0.3, 0.8)
    scores = metrics.bilevel_scores(gray, ref)
    assert scores["fm"] == 100.0 and scores["drd"] == 0.0 and scores["psnr"] == math.inf
    assert metrics.is_bilevel(ref) and not metrics.is_bilevel(gray)


def test_character_error_rate_by_hand() -> None:
    assert metrics.character_error_rate("abed", "abcd") == pytest.approx(1 / 4)
    assert metrics.character_error_rate("the  cat\n", "the cat") == 0.0
    assert metrics.character_error_rate("", "") == 0.0
    assert metrics.character_error_rate("x", "") == 1.0
