"""Salt-and-pepper cleared before the model: what goes, what stays, and on which pages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docclean.inference import impulses, marks

PAPER = 0.92


def _paper(height: int = 40, width: int = 40) -> np.ndarray:
    return np.full((height, width), PAPER, np.float32)


def test_a_dot_and_a_two_by_two_cluster_on_paper_become_paper() -> None:
    page = _paper()
    page[10, 10] = 0.05
    page[20:22, 25:27] = 0.1
    assert np.array_equal(impulses.replace_impulses(page), _paper())


def test_salt_on_a_stroke_takes_the_stroke_s_value() -> None:
    page = _paper()
    page[10:20, 10:20] = 0.1
    page[14, 15] = 0.95
    page[15:17, 12:14] = 1.0
    out = impulses.replace_impulses(page)
    assert np.all(out[11:19, 11:19] == np.float32(0.1))


def test_a_dot_the_filter_must_not_touch_and_gray_it_must_not_see() -> None:
    page = _paper()
    page[10:13, 10:13] = 0.1  # a 3 x 3 full stop loses its corners only
    page[30, 30] = PAPER - 0.45  # a speck paler than the contrast stays
    out = impulses.replace_impulses(page)
    assert np.array_equal(out[11, 10:13], page[11, 10:13])
    assert np.array_equal(out[10:13, 11], page[10:13, 11])
    assert out[30, 30] == page[30, 30]


@settings(max_examples=60, deadline=None)
@given(
    direction=st.sampled_from([(0, 1), (1, 0), (1, 1), (1, -1)]),
    length=st.integers(3, 20),
    start=st.tuples(st.integers(2, 18), st.integers(22, 30)),
)
def test_a_one_pixel_line_loses_at_most_its_two_ends(
    direction: tuple[int, int], length: int, start: tuple[int, int]
) -> None:
    page = _paper(50, 60)
    points = [(start[0] + i * direction[0], start[1] + i * direction[1]) for i in range(length)]
    for y, x in points:
        page[y, x] = 0.05
    out = impulses.replace_impulses(page)
    assert all(out[y, x] == np.float32(0.05) for y, x in points[1:-1])
    assert np.all(out[page == PAPER] == PAPER)


@settings(max_examples=60, deadline=None)
@given(
    top=st.integers(1, 20),
    left=st.integers(1, 20),
    height=st.integers(3, 15),
    width=st.integers(3, 15),
)
def test_a_filled_block_loses_at_most_its_four_corners(
    top: int, left: int, height: int, width: int
) -> None:
    page = _paper()
    page[top : top + height, left : left + width] = 0.1
    out = impulses.replace_impulses(page)
    changed = np.argwhere(out != page)
    corners = {(top, left), (top, left + width - 1)}
    corners |= {(top + height - 1, left), (top + height - 1, left + width - 1)}
    assert {tuple(int(v) for v in point) for point in changed} <= corners


def _lettered_page(letter_height: int, seed: int = 0, specks: int = 400) -> np.ndarray:
    """Four rows of 'letters' (bars 3 px wide, ``letter_height`` tall, at most 40) on paper, with ``specks``
    one-pixel black specks scattered over it."""
    page = np.full((200, 300), PAPER, np.float32)
    for row in (10, 55, 100, 145):
        for x in range(10, 290, 9):
            page[row : row + letter_height, x : x + 3] = 0.1
    rng = np.random.default_rng(seed)
    page[rng.integers(0, 200, specks), rng.integers(0, 300, specks)] = 0.0
    return page


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """For each pixel, how many of its 8 neighbours are in ``mask``."""
    from scipy import ndimage

    kernel = np.ones((3, 3), int)
    kernel[1, 1] = 0
    return ndimage.convolve(mask.astype(int), kernel, mode="constant")


def _lone_specks(page: np.ndarray) -> int:
    census = marks.census(page)
    return int(marks.lone_specks(census.dark.astype(np.uint8), census.stats).sum())


def test_a_speckled_page_with_tall_type_is_cleared_before_the_model() -> None:
    page = _lettered_page(impulses.MIN_TEXT_HEIGHT + 4)
    census = marks.census(page)
    assert census.kind == "speckled"
    assert impulses.text_height(census) == impulses.MIN_TEXT_HEIGHT + 4
    cleared = impulses.clear_impulses(page, census)
    letters = _lettered_page(impulses.MIN_TEXT_HEIGHT + 4, specks=0) < 0.5
    assert (page[~letters] < 0.5).sum() > 300
    assert (cleared[~letters] < 0.5).sum() <= 10  # specks gone, those beside letters too
    corners = letters & (_neighbours(letters) == 3)  # each bar's four (sharp) corners
    assert (cleared[letters & ~corners] < 0.5).mean() > 0.995


@pytest.mark.parametrize(
    ("letter_height", "specks", "kind"),
    [
        (impulses.MIN_TEXT_HEIGHT + 4, 0, "clean"),
        (impulses.MIN_LONE_TEXT_HEIGHT - 2, 400, "speckled"),  # a full stop may be one pixel
    ],
)
def test_other_pages_go_to_the_model_as_they_are(
    letter_height: int, specks: int, kind: str
) -> None:
    page = _lettered_page(letter_height, specks=specks)
    census = marks.census(page)
    assert census.kind == kind
    assert impulses.clear_impulses(page, census) is page


def test_a_speckled_page_set_small_loses_its_lone_pixels_only() -> None:
    page = _lettered_page(impulses.MIN_TEXT_HEIGHT - 4)
    letters = _lettered_page(impulses.MIN_TEXT_HEIGHT - 4, specks=0)
    dots = [(y, x) for y in (40, 85, 130) for x in range(14, 290, 27)]
    for y, x in dots:  # the dots of i's, 2 x 2, 2 px above a letter
        page[y : y + 2, x : x + 2] = 0.05
        letters[y : y + 2, x : x + 2] = 0.05
    census = marks.census(page)
    assert census.kind == "speckled"
    cleared = impulses.clear_impulses(page, census)
    lone = np.abs(page - letters) > 0.5  # the one-pixel specks
    lone &= _neighbours(np.abs(page - letters) > 0.5) == 0
    lone &= _neighbours(letters < 0.5) == 0
    assert lone.sum() > 200
    assert np.all(cleared[lone] == PAPER)
    assert np.array_equal(cleared[letters < 0.5], page[letters < 0.5])  # corners and dots too


def test_a_pixel_is_lone_only_when_all_its_neighbours_differ() -> None:
    page = _paper()
    page[5, 5] = 0.05  # a lone speck
    page[20:22, 20:22] = 0.05  # a 2 x 2 dot
    page[10:15, 30:35] = 0.1
    page[12, 32] = 0.9  # salt in a block
    page[30, 10] = PAPER - 0.3  # a speck too pale
    out = impulses.replace_lone_pixels(page)
    assert out[5, 5] == PAPER and out[12, 32] == np.float32(0.1)
    assert np.array_equal(out[15:, :], page[15:, :])
    assert np.array_equal(out[10:15, 30:35] == np.float32(0.1), np.ones((5, 5), bool))


def test_the_height_of_type_leaves_specks_and_dots_out() -> None:
    page = _lettered_page(12, specks=2000)
    page[160:195, 104:106] = 0.1  # a tall rule among 124 letters, 2000 specks
    assert impulses.text_height(marks.census(page)) == 12


def test_the_default_cleaner_gives_its_model_the_cleared_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docclean.inference import cleaner
    from docclean.models.store import load_model

    page = _lettered_page(impulses.MIN_TEXT_HEIGHT + 4)
    seen: list[np.ndarray] = []
    monkeypatch.setattr(
        cleaner, "run_tiled", lambda levelled, *_: seen.append(levelled) or levelled
    )
    cleaner.PageCleaner(load_model("office-tone-unet"), device="cpu").clean(page)
    assert _lone_specks(page) > 50
    assert _lone_specks(seen[0]) == 0


def test_a_page_without_impulses_is_returned_as_it_is() -> None:
    page = _paper()
    page[10:20, 10:30] = 0.1
    page[12, 12] = 0.3  # darker, but by less than the contrast
    assert impulses.replace_lone_pixels(page) is page
    pale = _paper()
    pale[10:20, 10:30] = PAPER - 0.4  # a pale block: its corners differ by less than the contrast
    pale[25, 25] = PAPER - 0.45
    assert impulses.replace_impulses(pale) is pale
