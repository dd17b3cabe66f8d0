"""Regions: components labelled without cv2's statistics agree with cv2's, masks read as bool, a
masked gaussian averages its mask only."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.inference.regions import components, flat_indices, masked, masked_gaussian


@st.composite
def masks(draw: st.DrawFn) -> np.ndarray:
    height = draw(st.integers(1, 40))
    width = draw(st.integers(1, 40))
    density = draw(st.floats(0.0, 1.0))
    seed = draw(st.integers(0, 2**32 - 1))
    return (np.random.default_rng(seed).random((height, width)) < density).astype(np.uint8)


@settings(max_examples=300, deadline=None)
@given(masks(), st.integers(0, 2**32 - 1))
def test_components_match_cv2_labels_areas_and_the_boxes_asked_for(
    mask: np.ndarray, seed: int
) -> None:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = components(mask)
    assert found.count == count
    np.testing.assert_array_equal(found.labels, labels)
    np.testing.assert_array_equal(found.area[1:], stats[1:, cv2.CC_STAT_AREA])
    assert found.area[0] >= 1
    np.testing.assert_array_equal(found.where, np.flatnonzero(mask))
    np.testing.assert_array_equal(found.own, labels.ravel()[found.where])
    chosen = np.random.default_rng(seed).random(count) < 0.5
    chosen[0] = False  # the background's box is never asked for
    boxes = found.boxes(chosen)
    np.testing.assert_array_equal(boxes[chosen], stats[chosen, :4])
    assert not boxes[~chosen].any()


def test_a_uint8_mask_reads_as_bool() -> None:
    mask = np.zeros((5, 7), np.uint8)
    mask[1, 2] = mask[4, 6] = 1
    values = np.arange(35.0).reshape(5, 7)
    assert flat_indices(mask).tolist() == [9, 34]
    assert flat_indices(mask.astype(bool)).tolist() == [9, 34]
    (taken,) = masked(mask, values)
    assert taken.tolist() == [9.0, 34.0]


def test_masked_gaussian_averages_the_masked_pixels_only() -> None:
    values = np.full((40, 60), 0.2, np.float32)
    values[:, 30:] = 0.9  # unmasked: must not leak into the average
    where = np.zeros(values.shape, bool)
    where[10:30, 5:25] = True
    smooth = masked_gaussian(values, where, 2.0, np.nan)
    assert np.allclose(smooth[where], 0.2, atol=1e-6)
    assert np.allclose(smooth[8:32, 3:27], 0.2, atol=1e-6)  # carried out to the pixels near
    assert np.isnan(smooth[:, 45:]).all()  # far from every masked pixel
