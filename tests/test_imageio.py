"""Tests for docclean.io.images: decoding modes, DPI, multi-page TIFF, bad inputs, atomic writes."""

from __future__ import annotations

import os
import struct
import time
import zlib
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile, TiffImagePlugin

from docclean.errors import InputError, OutputError
from docclean.io import images as imageio
from docclean.io.images import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    PageImage,
    count_pages,
    is_image_path,
    read_image,
    read_pages,
    to_float_gray,
    to_uint8,
    write_pages,
)

RNG = np.random.default_rng(1234)


def _gray(h: int = 24, w: int = 32) -> np.ndarray:
    return RNG.integers(0, 256, (h, w), dtype=np.uint8)


def _exact(values: np.ndarray, full_scale: int = 255) -> np.ndarray:
    return values.astype(np.float32) / np.float32(full_scale)


def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float64) / 255
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _no_parts(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".part")]


# --- suffixes ---------------------------------------------------------------------------


def test_image_suffixes_and_is_image_path() -> None:
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".pdf"} == IMAGE_SUFFIXES
    assert is_image_path(Path("scans/report.PDF"))
    assert is_image_path(Path("scan.PNG"))
    assert is_image_path(Path("a/b/page.Tiff"))
    assert not is_image_path(Path("notes.txt"))
    assert not is_image_path(Path("png"))
    assert MAX_PIXELS == 20000 * 20000


# --- round trips by format and mode -------------------------------------------------------


def test_gray_png_round_trip(tmp_path: Path) -> None:
    data = _gray()
    path = tmp_path / "gray.png"
    Image.fromarray(data).save(path)
    page = read_image(path)
    assert isinstance(page, PageImage)
    assert page.index == 0
    assert page.pixels.dtype == np.float32
    assert page.pixels.shape == data.shape
    np.testing.assert_array_equal(page.pixels, _exact(data))
    assert page.dpi is None


def test_png_16bit_keeps_precision(tmp_path: Path) -> None:
    data = np.array([[0, 1000, 1001, 65535], [257, 12345, 40000, 65534]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(data).save(path)
    pixels = read_image(path).pixels
    np.testing.assert_array_equal(pixels, _exact(data, 65535))
    assert pixels[0, 1] == np.float32(1000) / np.float32(65535)
    assert pixels[0, 1] != pixels[0, 2]  # 8-bit truncation would merge these


def test_rgb_jpeg_round_trip(tmp_path: Path) -> None:
    rgb = np.zeros((32, 48, 3), dtype=np.uint8)
    rgb[:, :16] = (200, 30, 30)
    rgb[:, 16:32] = (20, 180, 60)
    rgb[:, 32:] = (250, 250, 240)
    path = tmp_path / "colour.jpg"
    Image.fromarray(rgb).save(path, quality=95)
    pixels = read_image(path).pixels
    assert pixels.shape == (32, 48)
    # compare block centres (JPEG rings at edges)
    for col in (8, 24, 40):
        assert abs(float(pixels[16, col]) - _luma(rgb)[16, col]) < 0.03


def test_rgba_transparent_pixels_become_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # black everywhere
    rgba[:2, :, 3] = 255  # top half opaque black
    rgba[2:, :, 3] = 0  # bottom half fully transparent
    rgba[3, 3, 3] = 128  # half transparent black
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    pixels = read_image(path).pixels
    np.testing.assert_allclose(pixels[:2], 0.0, atol=1e-6)
    np.testing.assert_allclose(pixels[2, :], 1.0, atol=1e-6)
    assert abs(float(pixels[3, 3]) - (1 - 128 / 255)) < 1e-6


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (6, 2))
    image.putpalette([0, 0, 0, 255, 0, 0, 40, 40, 40] + [0] * (256 * 3 - 9))
    image.putdata([0, 1, 2, 0, 1, 2, 2, 2, 2, 0, 0, 1])
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    pixels = read_image(path).pixels
    assert pixels[0, 0] == pytest.approx(1.0, abs=1e-6)  # transparent index -> paper
    assert pixels[0, 1] == pytest.approx(0.299, abs=1e-5)  # pure red
    assert pixels[0, 2] == pytest.approx(40 / 255, abs=1e-5)


def test_palette_png_without_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 255, 255] + [0] * (254 * 3))
    image.putdata([0, 1])
    path = tmp_path / "palette_opaque.png"
    image.save(path)
    np.testing.assert_allclose(read_image(path).pixels, [[0.0, 1.0]], atol=1e-6)


def test_bmp_round_trip(tmp_path: Path) -> None:
    data = _gray(17, 23)
    path = tmp_path / "scan.bmp"
    Image.fromarray(data).save(path)
    np.testing.assert_array_equal(read_image(path).pixels, _exact(data))


def test_webp_lossless_round_trip(tmp_path: Path) -> None:
    data = _gray(16, 20)
    path = tmp_path / "scan.webp"
    Image.fromarray(data).convert("RGB").save(path, lossless=True)
    np.testing.assert_allclose(read_image(path).pixels, _exact(data), atol=1e-6)


def test_cmyk_tiff(tmp_path: Path) -> None:
    cmyk = np.zeros((2, 3, 4), dtype=np.uint8)
    cmyk[0, 0] = (0, 0, 0, 0)  # white paper
    cmyk[0, 1] = (0, 0, 0, 255)  # black
    cmyk[0, 2] = (0, 0, 0, 128)  # grey
    cmyk[1, :] = (255, 0, 0, 0)  # cyan
    path = tmp_path / "cmyk.tif"
    Image.frombytes("CMYK", (3, 2), cmyk.tobytes()).save(path)
    pixels = read_image(path).pixels
    assert pixels[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert pixels[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert pixels[0, 2] == pytest.approx(127 / 255, abs=1.5 / 255)
    assert pixels[1, 0] == pytest.approx(0.587 + 0.114, abs=1e-5)  # cyan = (0, 255, 255)


def test_mode_1_tiff(tmp_path: Path) -> None:
    bits = (np.indices((9, 13)).sum(axis=0) % 2).astype(bool)
    path = tmp_path / "bilevel.tif"
    Image.fromarray(bits).save(path, compression="group4")
    with Image.open(path) as image:
        assert image.mode == "1"
    np.testing.assert_array_equal(read_image(path).pixels, bits.astype(np.float32))


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    data = np.arange(200, dtype=np.uint8).reshape(10, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.png"
    Image.fromarray(data).save(path, exif=exif, dpi=(100, 200))
    page = read_image(path)
    np.testing.assert_array_equal(page.pixels, _exact(np.rot90(data, k=-1)))
    assert page.dpi == (200.0, 100.0)  # axes swap with the rotation


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.frombytes("I;16B", (2, 1), struct.pack(">HH", 1000, 65535)), [1000 / 65535, 1.0]),
        (Image.fromarray(np.array([[0, 65535]], dtype=np.int32)), [0.0, 1.0]),
        (Image.fromarray(np.array([[0, 2**31 - 1]], dtype=np.int32)), [0.0, 1.0]),
        (Image.fromarray(np.array([[-0.5, 0.25, 2.0]], dtype=np.float32)), [0.0, 0.25, 1.0]),
        (Image.fromarray(np.array([[[0, 0], [0, 255], [255, 128]]], dtype=np.uint8)), None),
        (Image.new("YCbCr", (1, 1), (128, 128, 128)), [128 / 255]),
        (Image.new("PA", (1, 1), (0, 0)), [1.0]),
    ],
    ids=["I;16B", "I-16bit-range", "I-32bit", "F", "LA", "YCbCr", "PA-transparent"],
)
def test_to_float_gray_modes(image: Image.Image, expected: list[float] | None) -> None:
    pixels = to_float_gray(image)
    assert pixels.dtype == np.float32
    assert pixels.shape == (image.height, image.width)
    assert float(pixels.min()) >= 0.0
    assert float(pixels.max()) <= 1.0
    if expected is None:  # LA: transparent -> 1, opaque black -> 0, (255, 128) -> white
        np.testing.assert_allclose(pixels, [[1.0, 0.0, 1.0]], atol=1e-6)
    else:
        np.testing.assert_allclose(pixels, [expected], atol=1e-6)


def test_rgb_luma_matches_pillow() -> None:
    rgb = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    ours = to_float_gray(image)
    pillow = np.asarray(image.convert("L")).astype(np.float32) / 255
    assert float(np.abs(ours - pillow).max()) <= 0.5 / 255 + 1e-6


# --- DPI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "tiff"])
@pytest.mark.parametrize("dpi", [(300.0, 300.0), (200.0, 300.0), (72.5, 96.25)])
def test_dpi_round_trip(tmp_path: Path, fmt: str, dpi: tuple[float, float]) -> None:
    data = _gray(8, 8)
    path = tmp_path / f"out.{fmt}"
    write_pages(path, [data], dpi, fmt)
    page = read_image(path)
    assert page.dpi is not None
    if fmt == "tiff" or dpi[0] == int(dpi[0]):
        assert page.dpi == dpi
    else:  # PNG stores whole dots per metre: only ~0.03 dpi resolution
        assert page.dpi == pytest.approx(dpi, abs=0.03)
    np.testing.assert_array_equal(page.pixels, _exact(data))


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_no_dpi_reads_none(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    write_pages(path, [_gray(4, 4)], None, fmt)
    assert read_image(path).dpi is None


def test_jpeg_dpi_and_zero_dpi(tmp_path: Path) -> None:
    rgb = np.full((8, 8, 3), 200, dtype=np.uint8)
    path = tmp_path / "a.jpg"
    Image.fromarray(rgb).save(path, dpi=(150, 150))
    assert read_image(path).dpi == (150.0, 150.0)
    image = Image.fromarray(_gray(4, 4))
    image.info["dpi"] = (0, 0)
    assert imageio._dpi(image) is None
    image.info["dpi"] = (float("nan"), 300)
    assert imageio._dpi(image) is None
    image.info["dpi"] = (299.9994, 150.004)
    assert imageio._dpi(image) == (300.0, 150.0)
    image.info["dpi"] = (72.456, 72.0)
    assert imageio._dpi(image) == (72.46, 72.0)


# --- multi-page TIFF -------------------------------------------------------------------------


def _three_pages() -> list[np.ndarray]:
    return [_gray(30, 20), _gray(12, 40), np.full((25, 25), 7, dtype=np.uint8)]


def test_multipage_tiff_read_in_order(tmp_path: Path) -> None:
    pages = _three_pages()
    path = tmp_path / "doc.tif"
    first, *rest = (Image.fromarray(p) for p in pages)
    first.save(path, save_all=True, append_images=rest, dpi=(300, 300))
    assert count_pages(path) == 3
    read = list(read_pages(path))
    assert [p.index for p in read] == [0, 1, 2]
    for got, want in zip(read, pages, strict=True):
        np.testing.assert_array_equal(got.pixels, _exact(want))
        assert got.dpi == (300.0, 300.0)
    first_only = read_image(path)
    assert first_only.index == 0
    np.testing.assert_array_equal(first_only.pixels, _exact(pages[0]))


def test_multipage_tiff_write_and_read_back(tmp_path: Path) -> None:
    pages = _three_pages()
    floats = [_exact(p) for p in pages]
    path = tmp_path / "out" / "doc.tiff"
    write_pages(path, floats, (200.0, 300.0), "tiff")
    with Image.open(path) as image:
        assert isinstance(image, TiffImagePlugin.TiffImageFile)
        assert image.n_frames == 3
        assert image.mode == "L"
        assert image.info["compression"] == "tiff_adobe_deflate"
    read = list(read_pages(path))
    assert len(read) == 3
    for index, (got, want) in enumerate(zip(read, floats, strict=True)):
        assert got.index == index
        assert got.pixels.shape == want.shape
        np.testing.assert_array_equal(got.pixels, want)
        assert got.dpi == (200.0, 300.0)


def test_count_pages_single(tmp_path: Path) -> None:
    path = tmp_path / "one.png"
    Image.fromarray(_gray(3, 3)).save(path)
    assert count_pages(path) == 1
    assert len(list(read_pages(path))) == 1


def test_read_pages_is_lazy_but_probes_eagerly(tmp_path: Path) -> None:
    path = tmp_path / "doc.tif"
    write_pages(path, _three_pages(), None, "tiff")
    pages = read_pages(path)
    assert not isinstance(pages, list)
    assert next(pages).index == 0
    with pytest.raises(InputError, match="file not found"):
        read_pages(tmp_path / "gone.tif")  # raises at the call, not at first next()


# --- bad inputs ------------------------------------------------------------------------------


def _png_bytes(data: np.ndarray) -> bytes:
    buffer = BytesIO()
    Image.fromarray(data).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    buffer = BytesIO()
    Image.fromarray(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny valid PNG whose IHDR claims ``width`` x ``height`` (CRC fixed up)."""
    data = bytearray(_png_bytes(np.zeros((8, 8), dtype=np.uint8)))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


BAD_INPUTS: dict[str, tuple[str, bytes | None, str]] = {
    "missing": ("missing.png", None, "file not found"),
    "empty": ("empty.png", b"", "empty file (0 bytes)"),
    "random": ("noise.png", bytes(RNG.integers(0, 256, 512, dtype=np.uint8)), "not a readable"),
    "text": ("letter.jpg", b"Dear reader,\nthis is not a JPEG.\n" * 20, "not a readable"),
    "truncated_png": ("cut.png", b"", "truncated or corrupt"),
    "truncated_jpeg": ("cut.jpg", b"", "truncated or corrupt"),
    "huge": ("bomb.png", b"", "claims 100000x100000 pixels"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_raise_input_error(tmp_path: Path, case: str) -> None:
    name, content, cause = BAD_INPUTS[case]
    if case == "truncated_png":
        full = _png_bytes(_gray(120, 120))
        content = full[: len(full) // 2]
    elif case == "truncated_jpeg":
        full = _jpeg_bytes()
        content = full[: len(full) // 2]
    elif case == "huge":
        content = _huge_png()
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for reader in (read_image, lambda p: list(read_pages(p))):
        with pytest.raises(InputError) as info:
            reader(path)
        assert name in str(info.value)
        assert cause in info.value.cause
        assert info.value.path == path
        assert "Traceback" not in str(info.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    if case in {"missing", "empty", "random", "text", "huge"}:
        with pytest.raises(InputError, match=cause.split("(")[0].strip()):
            count_pages(path)


def test_huge_header_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_huge_png())
    limit_before = Image.MAX_IMAGE_PIXELS
    start = time.perf_counter()
    with pytest.raises(InputError, match="more than the limit"):
        read_image(path)
    assert time.perf_counter() - start < 1.0
    assert limit_before == Image.MAX_IMAGE_PIXELS  # our override is restored


@pytest.mark.filterwarnings("error")
def test_limit_is_exactly_max_pixels(tmp_path: Path) -> None:
    at_limit = tmp_path / "big.png"
    at_limit.write_bytes(_huge_png(20_000, 20_000))
    assert count_pages(at_limit) == 1  # header only: no Pillow bomb warning or error
    over = tmp_path / "over.png"
    over.write_bytes(_huge_png(20_001, 20_000))
    with pytest.raises(InputError, match="claims 20001x20000 pixels"):
        count_pages(over)


def test_directory_is_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(InputError, match="is a directory"):
        read_image(folder)


def test_corrupt_later_page_names_the_page(tmp_path: Path) -> None:
    path = tmp_path / "doc.tif"
    pages = _three_pages()
    first, *rest = (Image.fromarray(p) for p in pages)
    first.save(path, save_all=True, append_images=rest, compression="tiff_adobe_deflate")
    with Image.open(path) as image:
        assert isinstance(image, TiffImagePlugin.TiffImageFile)
        image.seek(2)
        offset, length = image.tag_v2[273][0], image.tag_v2[279][0]
    data = bytearray(path.read_bytes())
    data[offset : offset + length] = b"\xff" * length
    path.write_bytes(bytes(data))
    iterator = read_pages(path)
    assert next(iterator).index == 0
    assert next(iterator).index == 1
    with pytest.raises(InputError, match=r"page 3 of 3 is corrupt") as info:
        next(iterator)
    assert "doc.tif" in str(info.value)


# --- writing ---------------------------------------------------------------------------------


def test_write_png_leaves_no_part_files(tmp_path: Path) -> None:
    path = tmp_path / "clean.png"
    write_pages(path, [_exact(_gray(5, 6))], (300.0, 300.0), "png")
    assert path.is_file()
    assert _no_parts(tmp_path)
    with Image.open(path) as image:
        assert image.mode == "L"
        assert image.format == "PNG"


def test_write_png_two_pages_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.png"
    with pytest.raises(OutputError, match="one page"):
        write_pages(path, [_gray(2, 2), _gray(2, 2)], None, "png")
    assert not path.exists()
    assert _no_parts(tmp_path)


@pytest.mark.parametrize(
    ("pages", "fmt", "match"),
    [
        ([], "tiff", "no pages"),
        ([np.zeros((2, 2), np.uint8)], "gif", "unknown format"),
        ([np.zeros((2, 2, 4), np.float32)], "png", "shape"),
        ([np.zeros((2, 2), np.int64)], "png", "dtype"),
    ],
)
def test_write_bad_arguments(tmp_path: Path, pages: list[np.ndarray], fmt: str, match: str) -> None:
    with pytest.raises(OutputError, match=match):
        write_pages(tmp_path / "x.out", pages, None, fmt)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_existing_target(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    write_pages(path, [np.zeros((4, 4), np.float32)], None, "png")
    write_pages(path, [np.ones((6, 3), np.float32)], None, "png")
    pixels = read_image(path).pixels
    assert pixels.shape == (6, 3)
    assert float(pixels.min()) == 1.0
    assert _no_parts(tmp_path)


def test_write_creates_parents_and_honours_umask(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "page.png"
    old = os.umask(0o027)
    try:
        write_pages(path, [np.zeros((2, 2), np.float32)], None, "png")
    finally:
        os.umask(old)
    assert path.is_file()
    assert path.stat().st_mode & 0o777 == 0o640


def test_write_into_read_only_dir(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied") as info:
            write_pages(folder / "page.png", [np.zeros((2, 2), np.float32)], None, "png")
        assert "page.png" in str(info.value)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_write_parent_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="blocker"):
        write_pages(blocker / "page.png", [np.zeros((2, 2), np.float32)], None, "png")


def test_failed_replace_removes_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "page.tiff"
    path.write_bytes(b"old")

    def refuse(src: str, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.os, "replace", refuse)
    with pytest.raises(OutputError, match="permission denied") as info:
        write_pages(path, [np.zeros((2, 2), np.float32)], None, "tiff")
    assert "page.tiff" in str(info.value)
    assert path.read_bytes() == b"old"  # target untouched
    assert _no_parts(tmp_path)


# --- to_uint8 --------------------------------------------------------------------------------


def test_to_uint8_rounding_and_clipping() -> None:
    values = np.array([-0.1, 0.0, 0.5, 1.0, 1.2, 1 / 255, 0.499 / 255, np.nan], np.float32)
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 128, 255, 255, 1, 0, 0])
    assert to_uint8(values).dtype == np.uint8


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 40), st.integers(1, 40)),
        elements=st.integers(0, 255),
    )
)
def test_png_write_read_is_exact(
    tmp_path_factory: pytest.TempPathFactory, data: np.ndarray
) -> None:
    path = tmp_path_factory.mktemp("prop") / "page.png"
    write_pages(path, [data], None, "png")
    pixels = read_image(path).pixels
    np.testing.assert_array_equal(pixels, _exact(data))
    np.testing.assert_array_equal(to_uint8(pixels), data)


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("BMP", ".bmp"), ("WEBP", ".webp")],
)
def test_sniff_suffix_recognises_image_data(fmt: str, suffix: str) -> None:
    buffer = BytesIO()
    Image.new("L", (4, 4), 200).save(buffer, format=fmt)
    assert imageio.sniff_suffix(buffer.getvalue()) == suffix


def test_sniff_suffix_knows_pdf_and_refuses_text() -> None:
    assert imageio.sniff_suffix(b"%PDF-1.7\n...") == ".pdf"
    assert imageio.sniff_suffix(b"scans/a.png\nscans/b.png\n") is None
    assert imageio.sniff_suffix(b"") is None


# --- odd modes, long names, outputs that appear meanwhile ----------------------------------

_RAMP = np.linspace(0, 1, 64, dtype=np.float32)[None].repeat(4, 0)


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("float-0-1.tif", Image.fromarray(_RAMP)),
        ("float-0-255.tif", Image.fromarray(_RAMP * 255)),
        ("int32-0-255.tif", Image.fromarray(np.round(_RAMP * 255).astype(np.int32))),
        ("int32-0-65535.tif", Image.fromarray(np.round(_RAMP * 65535).astype(np.int32))),
        ("uint16.tif", Image.fromarray(np.round(_RAMP * 65535).astype(np.uint16))),
        ("uint16.png", Image.fromarray(np.round(_RAMP * 65535).astype(np.uint16))),
        ("la.png", Image.fromarray(np.round(_RAMP * 255).astype(np.uint8)).convert("LA")),
        ("cmyk.tif", Image.fromarray(np.round(_RAMP * 255).astype(np.uint8)).convert("CMYK")),
        ("bilevel.tif", Image.fromarray(_RAMP > 0.5)),
    ],
)
def test_odd_modes_decode_by_their_real_range(
    tmp_path: Path, name: str, image: Image.Image
) -> None:
    """A 32-bit float TIFF of 0..255 data is the page, not a white sheet; 32-bit ints alike."""
    image.save(tmp_path / name)
    (page,) = read_pages(tmp_path / name)
    expected = (_RAMP > 0.5).astype(np.float32) if name.startswith("bilevel") else _RAMP
    np.testing.assert_allclose(page.pixels, expected, atol=1.5 / 255)


@pytest.mark.parametrize(
    ("values", "cause"),
    [
        (np.full((4, 6), np.nan, np.float32), "NaN or infinite"),
        (np.array([[0.5, np.inf]], np.float32), "NaN or infinite"),
        (np.full((4, 6), 1000.0, np.float32), "from 1000 to 1000, neither 0..1 nor 0..255"),
        (np.full((4, 6), -7.0, np.float32), "from -7 to -7, neither 0..1 nor 0..255"),
    ],
    ids=["nan", "inf", "constant-1000", "constant-negative"],
)
def test_damaged_float_pages_are_input_errors(
    tmp_path: Path, values: np.ndarray, cause: str
) -> None:
    path = tmp_path / "float.tif"
    Image.fromarray(values).save(path)
    with pytest.raises(InputError, match=str(path)) as info:
        list(read_pages(path))
    assert cause in str(info.value)


def test_a_249_byte_name_is_written(tmp_path: Path) -> None:
    """The temporary name beside the target must fit NAME_MAX (255) too."""
    page = _gray()
    for name in ("a" * 245 + ".png", "é" * 122 + "b.tif"):
        assert len(os.fsencode(name)) == 249
        write_pages(tmp_path / name, [page], None, name[-3:])
        np.testing.assert_array_equal(read_image(tmp_path / name).pixels, _exact(page))
    assert _no_parts(tmp_path)


def test_an_output_that_appears_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    from docclean.errors import OutputExistsError
    from docclean.io.atomic import TargetExistsError, atomic_path

    target = tmp_path / "page.png"
    with pytest.raises(TargetExistsError), atomic_path(target, overwrite=False) as tmp:
        tmp.write_bytes(b"ours")
        target.write_bytes(b"theirs")  # another process, between planning and placing
    assert target.read_bytes() == b"theirs" and _no_parts(tmp_path)
    with pytest.raises(OutputExistsError, match="appeared while it was being written"):
        write_pages(target, [_gray()], None, "png", overwrite=False)
    assert target.read_bytes() == b"theirs" and _no_parts(tmp_path)
    write_pages(target, [_gray()], None, "png")  # overwrite=True (the default) replaces
    assert target.read_bytes().startswith(b"\x89PNG")
