"""Faint pages: stretched to the full gray range before a binarization model, left alone otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import docclean
from docclean.evaluation.harm import render_specimen
from docclean.inference import cleaner as cleaner_module
from docclean.inference.faint import (
    FAINT_SPREAD,
    STRETCHED_SPREAD,
    contrast_spread,
    stretch_faint,
)

pages = arrays(np.float32, (24, 32), elements=st.floats(0, 1, width=32))


@settings(max_examples=200, deadline=None)
@given(pages)
def test_stretch_keeps_order_and_range_and_leaves_contrasty_pages_alone(page: np.ndarray) -> None:
    out = stretch_faint(page)
    dark, paper = contrast_spread(page)
    if paper - dark >= FAINT_SPREAD or paper - dark <= 1e-3:
        assert out is page
        return
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    order = np.argsort(page, axis=None, kind="stable")
    assert np.all(np.diff(out.ravel()[order]) >= 0)  # darker stays darker
    assert np.all(out[page >= paper] >= page[page >= paper] - 1e-6)  # paper no darker
    assert np.all(out[page <= dark] <= max(paper - STRETCHED_SPREAD, 0.0) + 1e-5)  # ink far below


def test_a_flat_page_is_left_alone() -> None:
    flat = np.full((16, 16), 0.7, np.float32)
    assert stretch_faint(flat) is flat


def _faint_text(ink: float, paper: float) -> tuple[np.ndarray, np.ndarray]:
    pure = render_specimen(600, 800, 300).pixels
    return (paper - (paper - ink) * (1 - pure)).astype(np.float32), pure < 0.5


def test_the_binarizer_keeps_faint_ink() -> None:
    """Ink at 0.55 on paper at 0.75: without the stretch the binarizer drops a third of it."""
    page, ink = _faint_text(0.55, 0.75)
    black = docclean.Cleaner(binarize=True).clean(page) < 0.5
    assert (black & ink).sum() / ink.sum() > 0.98
    assert (black & ~ink).sum() / ink.sum() < 0.05


@pytest.mark.parametrize("grain", [0.005, 0.02, 0.04])
def test_a_blank_page_of_noisy_paper_stays_blank(grain: float) -> None:
    """Faint by its spread (0.03-0.22), but the stretch leaves no speck of its grain: a full
    stretch to [0, 1] drew 0.06-0.08 % of such a page black."""
    paper = 0.9 + np.random.default_rng(0).normal(0, grain, (600, 600))
    page = np.clip(paper, 0, 1).astype(np.float32)
    dark, light = contrast_spread(page)
    assert light - dark < FAINT_SPREAD
    assert (docclean.Cleaner(binarize=True).clean(page) < 0.5).sum() == 0


def test_a_grayscale_model_gets_faint_pages_as_they_are(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(page: np.ndarray) -> np.ndarray:
        raise AssertionError("a grayscale model's page was stretched")

    monkeypatch.setattr(cleaner_module, "stretch_faint", refuse)
    page, _ = _faint_text(0.55, 0.75)
    assert docclean.Cleaner(tiny_model).clean(page).shape == page.shape
