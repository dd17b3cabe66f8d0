"""The OCRmyPDF plugin: `ocrmypdf --plugin docclean.ocrmypdf` OCRs cleaned pages."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("ocrmypdf", reason="OCRmyPDF is not installed (pip install '.[ocrmypdf]')")

from docclean import ocrmypdf as plugin

LINES = [
    "The quarterly report was filed on Monday, 14 March.",
    "Payment of 2,480 dollars is due within thirty days.",
    "Please sign and return the enclosed form by post.",
    "Questions about this invoice go to the office clerk.",
    "Keep a copy of every page for your own records.",
]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where installed, else Pillow's own scalable font."""
    try:
        return ImageFont.truetype(str(FONT), size)
    except OSError:
        return ImageFont.load_default(size=size)


def scanned_page(ring: float, fill: float, seed: int, dpi: int = 150) -> np.ndarray:
    """A NoisyOffice-like strip of a letter at ``dpi``: 11 pt text on gray paper that darkens to
    the right, two coffee rings (``ring`` deep at the rim, ``fill`` inside) and sensor noise."""
    width, height = int(8.5 * dpi), int(2.6 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = _font(round(11 / 72 * dpi))
    for i, line in enumerate(LINES):
        draw.text((int(0.6 * dpi), int(0.3 * dpi) + i * int(0.42 * dpi)), line, font=font, fill=0)
    ink = np.asarray(image, np.float32) / 255
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = 0.72 + 0.08 * xx / width
    stain = np.zeros_like(ink)
    for cx, cy, r in [
        (0.3 * width, 0.5 * height, 0.3 * height),
        (0.55 * width, 0.45 * height, 0.4 * height),
    ]:
        distance = np.hypot(xx - cx, yy - cy)
        stain += ring * np.exp(-(((distance - r) / 6) ** 2)) + fill * (distance < r)
    tone = paper * (1 - np.clip(stain, 0, 0.6))
    page = np.minimum(tone, 0.15 + (tone - 0.15) * ink)
    page += np.random.default_rng(seed).normal(0, 0.05, page.shape).astype(np.float32)
    return (np.clip(page, 0, 1) * 255).round().astype(np.uint8)


def _options(**values: object) -> SimpleNamespace:
    base: dict[str, object] = {
        "docclean": False,
        "docclean_visible": False,
        "docclean_model": None,
        "plugins": [],
    }
    return SimpleNamespace(**{**base, **values})


def test_importing_the_plugin_loads_no_tensorflow() -> None:
    code = (
        "import sys, docclean.ocrmypdf\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_plugin_cleans_only_when_asked() -> None:
    """Loaded by the entry point alone, the plugin leaves ocrmypdf as it was; --plugin or one of
    its options turns it on. Its options are added once even when both load it."""
    assert not plugin._enabled(_options())
    assert not plugin._enabled(_options(plugins=["some.other_plugin"]))
    assert plugin._enabled(_options(plugins=["docclean.ocrmypdf"]))
    assert plugin._enabled(_options(plugins=[plugin.__file__]))
    assert plugin._enabled(_options(docclean=True))
    assert plugin._enabled(_options(docclean_model="noisyoffice-tone-unet"))
    parser = argparse.ArgumentParser()
    plugin.add_options(parser)
    plugin.EntryPoint.add_options(parser)  # a second time: no conflicting option strings
    parsed = parser.parse_args(["--docclean-model", "m.keras", "--docclean-visible"])
    assert parsed.docclean_model == "m.keras" and parsed.docclean_visible and not parsed.docclean
    page = SimpleNamespace(options=_options())
    image = Image.new("L", (20, 10), 200)
    assert plugin.filter_ocr_image(page, image) is None  # OCRmyPDF's own filter runs instead


def test_filter_ocr_image_downsamples_as_ocrmypdf_then_cleans(tiny_model: Path) -> None:
    """With --tesseract-downsample-large-images, the image is first shrunk as OCRmyPDF's own
    filter would (here to 120 px a side) with its DPI scaled to match, then cleaned to gray."""
    page_pixels = scanned_page(0.25, 0.15, seed=2)[:240, :360]
    image = Image.fromarray(page_pixels).convert("RGB")
    image.info["dpi"] = (150, 150)
    tesseract = SimpleNamespace(downsample_large_images=True, downsample_above=120)
    options = _options(docclean_model=str(tiny_model), tesseract=tesseract)
    out = plugin.filter_ocr_image(SimpleNamespace(options=options), image)
    assert out is not None and out.mode == "L"
    assert out.size == (120, 80)
    assert out.info["dpi"] == (50, 50)
    alone = plugin._clean(
        image.resize((120, 80), Image.Resampling.BICUBIC), str(tiny_model), color=False
    )
    assert np.abs(np.asarray(out, int) - np.asarray(alone, int)).max() <= 1
    assert plugin._cleaner(str(tiny_model)) is plugin._cleaner(str(tiny_model))  # loaded once


def test_filter_page_image_writes_a_cleaned_colour_page(tiny_model: Path, tmp_path: Path) -> None:
    """--docclean-visible: the visible page is cleaned into a new PNG beside it, colour kept,
    same size and DPI; without the option the hook leaves the page alone."""
    rgb = np.stack([scanned_page(0.25, 0.15, seed=3)[:200, :300]] * 3, axis=2)
    rgb[150:170, 40:200] = (200, 30, 30)  # a red bar
    source = tmp_path / "page.png"
    Image.fromarray(rgb).save(source, dpi=(150, 150))
    options = _options(docclean_model=str(tiny_model))
    assert plugin.filter_page_image(SimpleNamespace(options=options), source) is None
    options.docclean_visible = True
    out = plugin.filter_page_image(SimpleNamespace(options=options), source)
    assert out is not None and out != source and out.parent == source.parent
    with Image.open(out) as cleaned:
        assert cleaned.mode == "RGB" and cleaned.size == (300, 200)
        assert round(cleaned.info["dpi"][0]) == 150
        bar = np.asarray(cleaned)[155:165, 60:180].astype(int)
    assert np.median(bar[..., 0] - bar[..., 2]) > 60  # still red
    assert np.array_equal(np.asarray(Image.open(source)), rgb)  # the input is untouched


def _ocrmypdf(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocrmypdf", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed"
)


@needs_tesseract
def test_visible_without_a_rasterized_page_is_refused(tmp_path: Path) -> None:
    Image.new("L", (300, 200), 255).save(tmp_path / "p.png", dpi=(150, 150))
    import img2pdf

    (tmp_path / "in.pdf").write_bytes(img2pdf.convert(str(tmp_path / "p.png")))
    result = _ocrmypdf(
        "--plugin", "docclean.ocrmypdf", "--docclean-visible", "--output-type", "pdf",
        str(tmp_path / "in.pdf"), str(tmp_path / "out.pdf"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "--docclean-visible" in result.stderr and "--force-ocr" in result.stderr
    assert not (tmp_path / "out.pdf").exists()


def _text(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in doc)
    finally:
        doc.close()


def _cer(text: str, reference: str) -> float:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(text, reference) / len(reference)


@pytest.mark.slow
@needs_tesseract
def test_ocrmypdf_with_the_plugin_makes_half_the_errors(tmp_path: Path) -> None:
    """The real ocrmypdf on a two-page dirty scan at 150 dpi (coffee rings, gray paper, noise),
    with and without the plugin and the shipped default model: the text layer's character error
    rate against the rendered text is at most half as high with the plugin. The plugin run also
    cleans the visible pages (--docclean-visible, with --force-ocr): their paper turns white."""
    import img2pdf

    pages = [scanned_page(0.2, 0.12, seed=1), scanned_page(0.25, 0.15, seed=1)]
    names = []
    for i, pixels in enumerate(pages):
        names.append(str(tmp_path / f"p{i}.png"))
        Image.fromarray(pixels).save(names[-1], dpi=(150, 150))
    source = tmp_path / "dirty.pdf"
    source.write_bytes(img2pdf.convert(names))
    reference = " ".join([" ".join(line.split()) for line in LINES] * len(pages))
    common = ["-l", "eng", "--output-type", "pdf", "--optimize", "0", "--force-ocr", "--jobs", "1"]

    plain = _ocrmypdf(*common, str(source), str(tmp_path / "plain.pdf"))
    if plain.returncode == 3:  # a missing dependency (e.g. the English data for tesseract)
        pytest.skip(f"ocrmypdf cannot run here: {plain.stderr.strip().splitlines()[-1]}")
    assert plain.returncode == 0, plain.stderr[-3000:]
    cleaned = _ocrmypdf(
        *common, "--plugin", "docclean.ocrmypdf", "--docclean-visible",
        str(source), str(tmp_path / "cleaned.pdf"),
    )  # fmt: skip
    assert cleaned.returncode == 0, cleaned.stderr[-3000:]

    cer_plain = _cer(_text(tmp_path / "plain.pdf"), reference)
    cer_cleaned = _cer(_text(tmp_path / "cleaned.pdf"), reference)
    print(f"character error rate: plain ocrmypdf {cer_plain:.3f}, with docclean {cer_cleaned:.3f}")
    assert cer_plain > 0.05  # the pages are dirty enough to matter
    assert cer_cleaned <= cer_plain / 2

    import pypdfium2 as pdfium

    for name, paper in (("plain.pdf", (0.6, 0.85)), ("cleaned.pdf", (0.93, 1.0))):
        doc = pdfium.PdfDocument(str(tmp_path / name))
        try:
            shown = np.asarray(doc[1].render(scale=150 / 72, grayscale=True).to_pil().convert("L"))
        finally:
            doc.close()
        median = float(np.median(shown)) / 255
        assert paper[0] <= median <= paper[1], (name, median)
