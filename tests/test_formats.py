"""PDF and TIFF in and out, --format, --dpi, bilevel G4 pages, and bad PDFs; all files made here."""

from __future__ import annotations

import io
import json
from pathlib import Path

import img2pdf
import numpy as np
import pypdfium2 as pdfium
import pytest
from conftest import clean_page, dirty, write_gray
from PIL import Image
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode, InputError
from docclean.io import images as imageio
from docclean.io.images import count_pages, read_image, read_pages, to_uint8, write_pages

runner = CliRunner()

# (height, width, dpi) of the pages of the test PDF: different sizes and resolutions.
PDF_PAGES = [(120, 90, 300), (100, 140, 150), (80, 60, 200)]


def _png_bytes(pixels: np.ndarray, dpi: float) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(pixels)).save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def make_pdf(path: Path, pages: list[tuple[int, int, int]], seed: int = 3) -> list[np.ndarray]:
    """A scanned-looking PDF made with img2pdf, one gray image a page; returns the uint8 pages."""
    rng = np.random.default_rng(seed)
    images = [dirty(clean_page(h, w, rng), rng) for h, w, _ in pages]
    data = img2pdf.convert(
        [_png_bytes(img, dpi) for img, (_, _, dpi) in zip(images, pages, strict=True)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return [to_uint8(img) for img in images]


def pdf_page_sizes(path: Path) -> list[tuple[float, float]]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [tuple(round(v, 2) for v in doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def expected_points(pages: list[tuple[int, int, int]]) -> list[tuple[float, float]]:
    return [(round(w * 72 / dpi, 2), round(h * 72 / dpi, 2)) for h, w, dpi in pages]


def run(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, list(args), input=input)


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# --- library: reading and writing PDFs -------------------------------------------------------


def test_pdf_pages_read_at_their_image_resolution_without_loss(tmp_path: Path) -> None:
    originals = make_pdf(tmp_path / "doc.pdf", PDF_PAGES)
    assert count_pages(tmp_path / "doc.pdf") == 3
    pages = list(read_pages(tmp_path / "doc.pdf"))
    assert [p.index for p in pages] == [0, 1, 2]
    assert [p.pixels.shape for p in pages] == [(h, w) for h, w, _ in PDF_PAGES]
    assert [p.dpi for p in pages] == [(float(d), float(d)) for _, _, d in PDF_PAGES]
    for page, original in zip(pages, originals, strict=True):
        assert np.array_equal(to_uint8(page.pixels), original)
    assert read_image(tmp_path / "doc.pdf").pixels.shape == (120, 90)


def test_pdf_page_without_image_renders_at_300_dpi(tmp_path: Path) -> None:
    doc = pdfium.PdfDocument.new()
    doc.new_page(72, 36)  # one inch by half an inch, no image
    doc.save(str(tmp_path / "blank.pdf"))
    doc.close()
    (page,) = read_pages(tmp_path / "blank.pdf")
    assert page.dpi == (300.0, 300.0) and page.pixels.shape == (150, 300)
    assert page.pixels.min() == 1.0  # white paper


def test_pdf_render_dpi_override_and_pixel_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pdf(tmp_path / "doc.pdf", PDF_PAGES[:1])  # 90x120 px at 300 dpi
    (page,) = read_pages(tmp_path / "doc.pdf", pdf_dpi=100)
    assert page.dpi == (100.0, 100.0) and page.pixels.shape == (40, 30)
    monkeypatch.setattr(imageio, "MAX_PIXELS", 2000)
    (capped,) = read_pages(tmp_path / "doc.pdf")
    assert capped.pixels.size <= 2000 and capped.dpi is not None and capped.dpi[0] < 300
    height, width = capped.pixels.shape
    assert abs(width / height - 90 / 120) < 0.05


def test_write_pdf_keeps_page_size_per_page(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pages = [rng.random((h, w)).astype(np.float32) for h, w, _ in PDF_PAGES]
    dpis = [(float(d), float(d)) for _, _, d in PDF_PAGES]
    write_pages(tmp_path / "out.pdf", pages, None, "pdf", page_dpis=dpis)
    assert pdf_page_sizes(tmp_path / "out.pdf") == expected_points(PDF_PAGES)
    back = list(read_pages(tmp_path / "out.pdf"))
    assert [p.dpi for p in back] == dpis
    for page, original in zip(back, pages, strict=True):
        assert np.array_equal(to_uint8(page.pixels), to_uint8(original))  # lossless
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def _idat(png: bytes) -> bytes:
    """A PNG file's compressed image data: its IDAT chunks' payloads joined."""
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        if png[at + 4 : at + 8] == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    return data


def _png_data(image: Image.Image, level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def test_a_pdf_takes_the_kept_pages_data_as_it_is(tmp_path: Path) -> None:
    """A multi-page PDF's pages are kept as PNG files compressed as the PDF holds them, and the
    PDF embeds each file's data without decoding and encoding it again (the files closed): a
    page an older run kept at another level goes in at that level."""
    from docclean.io.partial import PartialPages
    from docclean.io.pdf import PDF_PNG_LEVEL

    rng = np.random.default_rng(2)
    pages = [rng.random((60, 80)).astype(np.float32), rng.integers(0, 256, (50, 40, 3), np.uint8)]
    partial = PartialPages(tmp_path / "doc.pdf", {"format": "pdf"})
    assert partial.lock()
    partial.begin(0)
    for index, page in enumerate(pages):
        partial.add(index, page, (150.0, 150.0))
    files = [partial.folder / f"page{n:05d}.png" for n in (1, 2)]
    first = Image.fromarray(to_uint8(pages[0]))
    assert _idat(files[0].read_bytes()) == _idat(_png_data(first, PDF_PNG_LEVEL))
    with Image.open(files[1]) as image:  # as if an older run had kept it, at level 1
        older = _png_data(image, 1)
    files[1].write_bytes(older)
    assert _idat(older) != _idat(_png_data(Image.fromarray(pages[1]), PDF_PNG_LEVEL))

    kept = partial.pages(2)
    opened = [kept[0], kept[1]]
    write_pages(tmp_path / "doc.pdf", opened, None, "pdf", [(150.0, 150.0)] * 2)
    assert all(image.fp is None for image in opened)  # closed once embedded
    doc = pdfium.PdfDocument(str(tmp_path / "doc.pdf"))
    for index, file in enumerate(files):
        image = next(doc[index].get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,)))
        assert bytes(image.get_data(decode_simple=False)) == _idat(file.read_bytes())
    doc.close()
    gray, colour = read_pages(tmp_path / "doc.pdf", color=True)
    assert np.array_equal(to_uint8(gray.pixels), to_uint8(pages[0]))
    assert colour.rgb is not None and np.array_equal(colour.rgb, pages[1])
    partial.discard()


def test_bilevel_pages_are_g4_in_tiff_and_pdf(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pages = [rng.random((50, 64)) > 0.5, rng.random((40, 30)) > 0.3]
    write_pages(tmp_path / "g4.tif", pages, (200, 200), "tiff")
    with Image.open(tmp_path / "g4.tif") as image:
        assert image.n_frames == 2
        for index, page in enumerate(pages):
            image.seek(index)
            assert image.mode == "1" and image.info["compression"] == "group4"
            assert image.info["dpi"] == pytest.approx((200, 200))
            assert np.array_equal(np.asarray(image), page)
    write_pages(tmp_path / "g4.pdf", pages, (200, 200), "pdf")
    doc = pdfium.PdfDocument(str(tmp_path / "g4.pdf"))
    images = [next(doc[i].get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,))) for i in range(2)]
    assert [image.get_filters() for image in images] == [["CCITTFaxDecode"]] * 2
    doc.close()
    for page, original in zip(read_pages(tmp_path / "g4.pdf"), pages, strict=True):
        assert np.array_equal(page.pixels > 0.5, original)
    write_pages(tmp_path / "one.png", pages[:1], None, "png")
    with Image.open(tmp_path / "one.png") as image:
        assert image.mode == "1" and np.array_equal(np.asarray(image), pages[0])


def encrypt(source: Path, target: Path) -> None:
    """An encrypted copy made with pikepdf (installed with img2pdf; pypdfium2 cannot encrypt)."""
    pikepdf = pytest.importorskip("pikepdf", reason="pikepdf is needed to make an encrypted PDF")
    with pikepdf.open(source) as pdf:
        pdf.save(target, encryption=pikepdf.Encryption(owner="o", user="secret"))


def test_encrypted_and_corrupt_pdfs_raise_input_error(tmp_path: Path) -> None:
    make_pdf(tmp_path / "plain.pdf", PDF_PAGES[:1])
    encrypt(tmp_path / "plain.pdf", tmp_path / "locked.pdf")
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body\n")
    (tmp_path / "empty.pdf").write_bytes(b"")
    with pytest.raises(InputError, match=r"locked\.pdf: encrypted PDF"):
        list(read_pages(tmp_path / "locked.pdf"))
    with pytest.raises(InputError, match=r"corrupt\.pdf: corrupt PDF"):
        count_pages(tmp_path / "corrupt.pdf")
    with pytest.raises(InputError, match="empty file"):
        read_image(tmp_path / "empty.pdf")


# --- the clean command ------------------------------------------------------------------------


def test_pdf_round_trip_through_clean(tmp_path: Path, tiny_model: Path) -> None:
    make_pdf(tmp_path / "in" / "doc.pdf", PDF_PAGES)
    before = (tmp_path / "in" / "doc.pdf").read_bytes()
    out = tmp_path / "out"
    result = run(
        "clean", str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_model), "--json"
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert [p.name for p in out.iterdir()] == ["doc.pdf"]
    assert pdf_page_sizes(out / "doc.pdf") == expected_points(PDF_PAGES)
    pages = list(read_pages(out / "doc.pdf"))
    assert [p.pixels.shape for p in pages] == [(h, w) for h, w, _ in PDF_PAGES]
    assert [p.dpi for p in pages] == [(float(d), float(d)) for _, _, d in PDF_PAGES]
    rows = records(result.stdout)
    assert [(r["page"], r["width"], r["height"], r["dpi"]) for r in rows] == [
        (i, w, h, [float(d), float(d)]) for i, (h, w, d) in enumerate(PDF_PAGES)
    ]
    assert (tmp_path / "in" / "doc.pdf").read_bytes() == before


def test_multipage_tiff_round_trip_and_conversions(tmp_path: Path, tiny_model: Path) -> None:
    rng = np.random.default_rng(5)
    sizes = [(40, 70), (60, 50), (30, 90)]
    frames = [Image.fromarray(to_uint8(dirty(clean_page(h, w, rng), rng))) for h, w in sizes]
    src = tmp_path / "in" / "scan.tiff"
    src.parent.mkdir()
    frames[0].save(src, save_all=True, append_images=frames[1:], dpi=(200, 200))
    out = tmp_path / "out"
    model = ("--model", str(tiny_model))
    assert run("clean", str(src), "-o", str(out), *model).exit_code == 0
    pages = list(read_pages(out / "scan.tiff"))  # same kind keeps its own suffix
    assert [p.pixels.shape for p in pages] == sizes
    assert all(p.dpi == (200.0, 200.0) for p in pages)
    as_pdf = run("clean", str(src), "-o", str(out), "--format", "pdf", *model)
    assert as_pdf.exit_code == 0, as_pdf.output
    assert pdf_page_sizes(out / "scan.pdf") == expected_points([(h, w, 200) for h, w in sizes])
    as_png = run("clean", str(src), "-o", str(out), "--format", "png", *model, "--json")
    assert as_png.exit_code == ExitCode.INPUT_FAILED
    (line,) = errors(as_png)
    assert "scan.tiff" in line and "has 3 pages and PNG holds one" in line
    assert "--format same, tiff or pdf" in line
    assert not (out / "scan.png").exists()


def test_pdf_to_tiff_keeps_each_page_dpi(tmp_path: Path, tiny_model: Path) -> None:
    pdf, out = tmp_path / "doc.pdf", tmp_path / "out"
    make_pdf(pdf, PDF_PAGES)
    result = run("clean", str(pdf), "-o", str(out), "--format", "tiff", "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    pages = list(read_pages(out / "doc.tif"))
    assert [(p.pixels.shape, p.dpi) for p in pages] == [
        ((h, w), (float(d), float(d))) for h, w, d in PDF_PAGES
    ]


def test_same_format_mapping_never_reencodes_lossily(tmp_path: Path, tiny_model: Path) -> None:
    rng = np.random.default_rng(2)
    src = tmp_path / "in"
    for name in ("a.png", "b.jpg", "c.bmp", "d.webp", "e.TIF"):
        write_gray(src / name, dirty(clean_page(30, 40, rng), rng))
    out = tmp_path / "out"
    result = run("clean", str(src), "-o", str(out), "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png", "d.png", "e.TIF"]
    with Image.open(out / "b.png") as image:
        assert image.format == "PNG"
    with Image.open(out / "e.TIF") as image:
        assert image.format == "TIFF"


def test_dpi_override_and_implausible_dpi_warning(tmp_path: Path, tiny_model: Path) -> None:
    rng = np.random.default_rng(4)
    page = dirty(clean_page(30, 40, rng), rng)
    write_gray(tmp_path / "in" / "odd.png", page, dpi=10)
    write_gray(tmp_path / "in" / "fine.png", page, dpi=300)
    write_gray(tmp_path / "in" / "none.png", page)
    model = ("--model", str(tiny_model))
    warned = run("clean", str(tmp_path / "in"), "-o", str(tmp_path / "o1"), *model)
    assert warned.exit_code == 0, warned.output
    warnings = [line for line in warned.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "odd.png" in warnings[0] and "implausible" in warnings[0]
    assert read_image(tmp_path / "o1" / "odd.png").dpi == (10.0, 10.0)  # kept unless overridden
    assert read_image(tmp_path / "o1" / "none.png").dpi is None
    forced = run("clean", str(tmp_path / "in"), "-o", str(tmp_path / "o2"), *model, "--dpi", "600")
    assert forced.exit_code == 0 and "warning:" not in forced.stderr
    assert {read_image(p).dpi for p in (tmp_path / "o2").iterdir()} == {(600.0, 600.0)}


def test_pdf_rendered_at_dpi_option_keeps_its_page_size(tmp_path: Path, tiny_model: Path) -> None:
    pdf, out = tmp_path / "doc.pdf", tmp_path / "out"
    make_pdf(pdf, PDF_PAGES)
    result = run("clean", str(pdf), "-o", str(out), "--dpi", "72", "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    assert pdf_page_sizes(out / "doc.pdf") == expected_points(PDF_PAGES)
    shapes = [p.pixels.shape for p in read_pages(out / "doc.pdf", pdf_dpi=72)]
    assert shapes == [(round(h * 72 / d), round(w * 72 / d)) for h, w, d in PDF_PAGES]


def test_bad_pdfs_give_one_clear_error_line_each(tmp_path: Path, tiny_model: Path) -> None:
    src = tmp_path / "in"
    make_pdf(src / "good.pdf", PDF_PAGES[:1])
    encrypt(src / "good.pdf", src / "locked.pdf")
    (src / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage\n%%EOF\n")
    result = run("clean", str(src), "-o", str(tmp_path / "out"), "--model", str(tiny_model))
    assert result.exit_code == ExitCode.INPUT_FAILED
    lines = errors(result)
    assert len(lines) == 2, result.stderr
    assert any("locked.pdf" in line and "encrypted PDF" in line for line in lines)
    assert any("corrupt.pdf" in line and "corrupt PDF" in line for line in lines)
    assert "Traceback" not in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.pdf"]


def test_a_long_pdf_reads_every_page_in_order_from_any_start(tmp_path: Path) -> None:
    """The reader opens the PDF again every few pages (PDFium's cache): no page lost or doubled."""
    from docclean.io.pdf import REOPEN_EVERY

    count = 2 * REOPEN_EVERY + 3
    shapes = [(20 + n, 30 + (n % 5), 150) for n in range(count)]
    made = make_pdf(tmp_path / "long.pdf", shapes)
    read = [to_uint8(p.pixels) for p in read_pages(tmp_path / "long.pdf")]
    assert len(read) == count
    for page, original in zip(read, made, strict=True):
        np.testing.assert_array_equal(page, original)
    later = list(read_pages(tmp_path / "long.pdf", start=REOPEN_EVERY - 1))
    assert [p.index for p in later] == list(range(REOPEN_EVERY - 1, count))
    for page in later:
        np.testing.assert_array_equal(to_uint8(page.pixels), made[page.index])
