"""Small marks kept after the model on clean pages: what comes back and what is left to the model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from docclean.inference import marks
from docclean.inference.regions import surround


def _line_of_text(page: np.ndarray, row: int) -> None:
    """'Letters' (bars 3 px wide, 10 px tall) each followed by a full stop (2 x 2 px) 1 px after."""
    for x in range(10, page.shape[1] - 10, 9):
        page[row : row + 10, x : x + 3] = 0.0
        page[row + 8 : row + 10, x + 4 : x + 6] = 0.0


def _clean_page() -> np.ndarray:
    page = np.ones((120, 200), np.float32)
    for row in (10, 40, 70):
        _line_of_text(page, row)
    return np.clip(ndimage.gaussian_filter(page, 0.4), 0, 1).astype(np.float32)


def _full_stops(page: np.ndarray) -> np.ndarray:
    """The 2 x 2 full stops' pixels of :func:`_clean_page` (and their soft edge)."""
    stops = np.zeros(page.shape, bool)
    for row in (10, 40, 70):
        for x in range(10, page.shape[1] - 10, 9):
            stops[row + 8 : row + 10, x + 4 : x + 6] = True
    return stops


def _erase(page: np.ndarray, where: np.ndarray) -> np.ndarray:
    """What a model that takes full stops for specks does: paper over them and their rim."""
    cleaned = page.copy()
    cleaned[where] = 1.0
    return cleaned


def test_full_stops_a_model_erased_on_a_clean_page_come_back() -> None:
    page = _clean_page()
    stops = _full_stops(page)
    rim = ndimage.binary_dilation(stops, iterations=1)
    cleaned = _erase(page, rim)  # with their soft edge
    kept = marks.mend_marks(page, cleaned)
    assert float((cleaned[stops] < 0.5).mean()) == 0.0  # every full stop lost ...
    assert np.array_equal(kept[rim], page[rim])  # ... and back as the page has them
    assert not np.array_equal(cleaned[rim & ~stops], page[rim & ~stops])
    letters = (page < 0.5) & ~ndimage.binary_dilation(stops, iterations=1)
    assert np.array_equal(kept[letters], cleaned[letters])


def test_a_page_the_model_left_alone_is_returned_as_it_is() -> None:
    page = _clean_page()
    assert marks.mend_marks(page, page) is page


def _speckle(page: np.ndarray, count: int = 80, value: float = 0.0, seed: int = 0) -> np.ndarray:
    """``page`` with up to ``count`` one-pixel specks of ``value`` on the paper, clear of ink."""
    out = page.copy()
    rng = np.random.default_rng(seed)
    for y, x in zip(rng.integers(0, 120, count), rng.integers(0, 200, count), strict=True):
        if not (out[max(y - 4, 0) : y + 5, max(x - 4, 0) : x + 5] < 0.9).any():
            out[y, x] = value
    return out


def _lone_specks(page: np.ndarray) -> int:
    import cv2

    dark = (page < 0.5).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    return int(marks.lone_specks(dark, stats).sum())


def test_on_a_speckled_page_the_specks_the_model_left_are_dropped() -> None:
    page = _speckle(_clean_page())
    specks = (page < 0.5) & (_clean_page() > 0.5)
    assert specks.sum() > 40
    stops = _full_stops(page)
    cleaned = _erase(page, stops)  # the model erased the full stops and left the specks
    halo = ndimage.binary_dilation(specks) & ~specks & (page > 0.9)
    cleaned[halo] = 0.8  # with a soft edge
    mended = marks.mend_marks(page, cleaned)
    assert float((mended[specks | halo] >= 0.99).mean()) == 1.0  # the specks are paper now ...
    assert np.array_equal(mended[stops], cleaned[stops])  # ... and no mark comes back
    letters = (page < 0.5) & ~specks
    assert np.array_equal(mended[letters], cleaned[letters])


def test_specks_larger_than_two_px_or_beside_ink_are_left_to_the_model() -> None:
    page = _speckle(_clean_page())
    page[100:102, 30:32] = 0.0  # a 4-px speck: where small print's full stops lie
    page[15:16, 7:8] = 0.0  # a speck 2 px from the first letter
    kept = np.zeros(page.shape, bool)
    kept[100:102, 30:32] = kept[15:16, 7:8] = True
    mended = marks.mend_marks(page, page.copy())
    assert np.array_equal(mended[kept], page[kept])
    assert float((mended[(page < 0.5) & (_clean_page() > 0.5) & ~kept] >= 0.99).mean()) == 1.0


def test_on_a_speckled_page_erased_marks_larger_than_a_speck_come_back() -> None:
    page = _speckle(_clean_page())
    mark, speck, shaded = (np.zeros(page.shape, bool) for _ in range(3))
    mark[100:102, 60:63] = True  # a 6-px comma on the paper
    speck[104:106, 100:102] = True  # a 4-px speck: as large as salt-and-pepper's clusters
    page[96:112, 140:160] = 0.7  # a dark shade (a stain), and a 6-px mark in it
    shaded[103:105, 148:151] = True
    page[mark | speck | shaded] = 0.0
    assert marks.census(page).kind == "speckled"
    cleaned = _erase(page, ndimage.binary_dilation(mark | speck | shaded))
    mended = marks.mend_marks(page, cleaned)
    assert np.array_equal(mended[mark], page[mark])  # back as the page has it
    assert float(mended[speck].min()) == 1.0  # the speck stays erased,
    assert float(mended[shaded].min()) == 1.0  # and so does a mark on shaded paper
    elsewhere = ~ndimage.binary_dilation(mark)
    assert (mended[elsewhere] >= cleaned[elsewhere]).all()  # nothing else drawn darker


def test_pale_fragments_of_blurred_print_are_no_specks_to_drop() -> None:
    """Blurred small print breaks into lone fragments at the 0.5 line (cores 0.35-0.49); they
    make a page neither clean nor speckled, and nothing on it changes."""
    page = _speckle(_clean_page(), value=0.45)
    assert _lone_specks(page) > 40
    cleaned = _erase(page, _full_stops(page))
    assert marks.mend_marks(page, cleaned) is cleaned


def test_a_clean_page_with_a_few_specks_is_still_clean() -> None:
    page = _clean_page()
    page[100:101, 20:21] = 0.0  # three dust specks on the margin
    page[110:111, 120:121] = 0.0
    page[115:116, 180:182] = 0.0
    assert _lone_specks(page) == 3
    stops = _full_stops(page)
    mended = marks.mend_marks(page, _erase(page, stops))
    assert np.array_equal(mended[stops], page[stops])


def test_full_stops_beside_letters_are_not_counted_as_specks() -> None:
    page = np.ones((60, 400), np.float32)
    for x in range(10, 390, 9):  # 42 full stops, each 1 px from its letter
        page[20:30, x : x + 3] = 0.0
        page[28:30, x + 4 : x + 6] = 0.0
    assert _lone_specks(page) == 0
    apart = np.ones((60, 400), np.float32)
    apart[10:12, 10:390:9] = 0.0  # the same dots alone: 43 specks of 2 px
    assert _lone_specks(apart) == 43


def _punctuation_page(dots_on_lines: bool) -> np.ndarray:
    """Three lines of 'letters' (bars 3 px wide, 10 px tall, 27 px apart) with 40 lone 2 x 2 dots,
    two after each letter: on the lines, as a line of 150-dpi punctuation (". . , , ; ;") has
    them, or as far along but between the lines, where dust and salt-and-pepper fall too."""
    page = np.ones((120, 400), np.float32)
    dots = 0
    for row, gap in ((10, 27), (40, 57), (70, 92)):
        for x in range(10, 380, 27):
            page[row : row + 10, x : x + 3] = 0.0
            for dx in (9, 18):
                if dots < 40:
                    top = row + 8 if dots_on_lines else gap
                    page[top : top + 2, x + dx : x + dx + 2] = 0.0
                    dots += 1
    return page


def test_punctuation_on_its_lines_leaves_a_page_clean() -> None:
    """Lone dots make 40 of the page's 82 components: on the lines of text they are punctuation
    and the page is clean (the marks the model erased come back); the same dots between the lines
    are specks, and the page is not."""
    on_lines, between = _punctuation_page(True), _punctuation_page(False)
    assert _lone_specks(on_lines) == _lone_specks(between) == 40
    assert marks.census(on_lines).kind == "clean"
    assert marks.census(between).kind != "clean"
    dots = (on_lines < 0.5) & (between >= 0.5)  # the letters are dark on both pages
    mended = marks.mend_marks(on_lines, _erase(on_lines, ndimage.binary_dilation(dots)))
    assert np.array_equal(mended[dots], on_lines[dots])


@pytest.mark.parametrize(
    ("what", "value", "surround"),
    [
        ("a light smudge (core above MAX_CORE)", 0.45, 1.0),
        ("a mark on a light shade (paper below PAPER)", 0.0, 0.9),
        ("a mark under a shadow (gray around it)", 0.0, 0.7),
    ],
)
def test_marks_that_are_not_ink_on_paper_are_left_to_the_model(
    what: str, value: float, surround: float
) -> None:
    page = _clean_page()
    page[95:115, 60:140] = surround
    page[104:107, 98:102] = value
    spot = np.zeros(page.shape, bool)
    spot[104:107, 98:102] = True
    cleaned = _erase(page, spot)
    assert np.array_equal(marks.mend_marks(page, cleaned)[spot], cleaned[spot]), what


def test_a_drop_larger_than_any_mark_the_model_removed_stays_removed() -> None:
    page = _clean_page()
    page[100:107, 40:47] = 0.2  # 49 px: a coffee drop, not a full stop
    blot = page < 0.5
    blot[:90] = False
    cleaned = _erase(page, blot)
    assert np.array_equal(marks.mend_marks(page, cleaned)[blot], cleaned[blot])


def test_a_mark_the_model_kept_more_than_half_of_is_not_touched() -> None:
    page = _clean_page()
    stops = _full_stops(page)
    thinned = stops & (np.indices(page.shape)[1] % 9 == 4 + 10 % 9)  # one column of each stop
    cleaned = _erase(page, thinned)
    assert marks.mend_marks(page, cleaned) is cleaned


def test_a_crease_on_a_crumpled_page_stays_removed() -> None:
    """A crease's dark line is sharp and on paper too, but shading runs along it: the ring around
    it is partly gray (a wrinkled NoisyOffice page had one restored before MAX_GRAY_SHARE)."""
    page = _clean_page()
    page[104:106, 85:100] = 0.05  # the crease's dark fold
    page[106:112, 81:104] = 0.7  # its shading along one side
    crease = np.zeros(page.shape, bool)
    crease[104:106, 85:100] = True
    _, ring = surround(crease)
    assert float(np.median(page[ring])) >= marks.PAPER  # mostly paper around ...
    cleaned = _erase(page, crease)
    assert np.array_equal(marks.mend_marks(page, cleaned)[crease], cleaned[crease])


def test_the_default_cleaner_puts_back_what_its_model_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docclean.inference import cleaner
    from docclean.models.store import load_model

    page = _clean_page()
    stops = _full_stops(page)
    monkeypatch.setattr(cleaner, "run_tiled", lambda levelled, *_: _erase(levelled, stops))
    result = cleaner.PageCleaner(load_model("office-tone-unet"), device="cpu").clean(page)
    assert float((result[stops] < 0.5).mean()) == 1.0


def _block_with_holes(page: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``page`` with a bold black block (rows 92-110, columns 150-190) holding a 1-px pinhole, a
    2 x 2 counter and a 1-px notch open to the paper diagonally; the three masks."""
    out = page.copy()
    out[92:110, 150:190] = 0.0
    pinhole, counter, notch = (np.zeros(page.shape, bool) for _ in range(3))
    pinhole[100, 160] = True
    counter[99:101, 170:172] = True
    notch[93, 151] = True  # touching the paper at a corner, through the block's cut corner
    out[pinhole | counter | notch] = 1.0
    out[92, 150] = 1.0
    return out, pinhole, counter, notch


def test_on_a_speckled_page_pinholes_in_strokes_are_filled() -> None:
    page, pinhole, counter, notch = _block_with_holes(_speckle(_clean_page()))
    mended = marks.mend_marks(page, page.copy())
    assert float(mended[pinhole][0]) == 0.0  # salt on a stroke: filled
    assert float(mended[counter].min()) == 1.0  # a counter of 4 px stays open
    assert float(mended[notch][0]) == 1.0  # so does a notch open to the paper


def test_on_a_clean_page_pinholes_are_left_to_the_model() -> None:
    page, pinhole, _, _ = _block_with_holes(_clean_page())
    cleaned = page.copy()
    mended = marks.mend_marks(page, cleaned)
    assert mended is cleaned and float(mended[pinhole][0]) == 1.0
