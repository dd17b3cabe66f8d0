"""`docclean clean --color`: paper cleaned to white as in gray, coloured ink keeps its hue."""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.inference.color import recolor

FONTS = Path("/usr/share/fonts/truetype/dejavu")
RED = (205, 30, 35)
BLUE = (30, 50, 185)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(FONTS / name), size)
    except OSError:
        return ImageFont.load_default(size)


def colour_page(seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A dirty colour page (tinted gray paper, a coffee ring, sensor noise) with black text, a red
    "PAID" stamp and a blue signature line: the page (HxWx3 uint8), its clean ink luma (float) and
    masks of the text, stamp, signature and the paper away from any ink."""
    h, w = 320, 480
    ink = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(ink)
    text = _font("DejaVuSans.ttf", 18)
    lines = ["Invoice 2291 for office supplies", "Total due: 1,240.00", "Thank you"]
    for i, line in enumerate(lines):
        draw.text((30, 30 + 40 * i), line, font=text, fill=(0, 0, 0))
    draw.rectangle((270, 170, 440, 240), outline=RED, width=5)
    draw.text((292, 180), "PAID", font=_font("DejaVuSans-Bold.ttf", 40), fill=RED)
    xs = np.arange(40, 230)
    ys = 260 + 18 * np.sin(xs / 11.0) + (xs - 40) * 0.1
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=BLUE, width=3)
    drawn = np.asarray(ink)
    masks = {
        "text": (drawn.max(axis=2) < 80),
        "stamp": np.all(np.abs(drawn.astype(int) - RED) < 40, axis=2),
        "signature": np.all(np.abs(drawn.astype(int) - BLUE) < 40, axis=2),
    }
    inked = Image.fromarray(((drawn.min(axis=2) < 250) * 255).astype(np.uint8))
    near_ink = np.asarray(inked.filter(ImageFilter.MaxFilter(9)))
    masks["paper"] = near_ink == 0
    rgb = drawn.astype(np.float32) / 255
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = np.array([0.80, 0.77, 0.70], np.float32) * (0.95 + 0.05 * xx / w)[..., None]
    r = np.hypot(xx - 200, yy - 120)
    stain = 0.35 * np.exp(-(((r - 90) / 7) ** 2)) + 0.15 * (r < 90)
    tint = 1 - stain[..., None] * np.array([0.45, 0.65, 0.95], np.float32)
    page = rgb * paper * tint + rng.normal(0, 0.03, rgb.shape)
    dirty = (np.clip(page, 0, 1) * 255).round().astype(np.uint8)
    clean_luma = (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)
    return dirty, clean_luma, masks


def _hsv(pixels: np.ndarray) -> np.ndarray:
    """N x 3 uint8 RGB as N x 3 HSV (hue in degrees, saturation and value in [0, 1])."""
    return np.array([colorsys.rgb_to_hsv(*(p / 255.0)) for p in pixels]) * [360, 1, 1]


def _hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def _check_colours(page: np.ndarray, out: np.ndarray, masks: dict[str, np.ndarray]) -> None:
    """The checks every --color output must pass: the stamp's and signature's strokes keep
    their hue and stay saturated and present, black text is neutral, paper is neutral white."""
    assert out.shape == page.shape and out.dtype == np.uint8
    for name in ("stamp", "signature"):
        strokes = masks[name]
        kept = out[strokes].astype(np.float32).mean(axis=1) < 0.8 * 255
        assert kept.mean() > 0.6, f"{name}: {kept.mean():.2f} of its strokes left"
        before = _hsv(page[strokes][kept])
        after = _hsv(out[strokes][kept])
        hue_in = float(np.median(before[:, 0]))
        hue_out = float(np.median(after[:, 0]))
        assert _hue_gap(hue_in, hue_out) <= 15, (name, hue_in, hue_out)
        assert np.median(after[:, 1]) > 0.5, (name, np.median(after[:, 1]))
    text = out[masks["text"]].astype(np.float32)
    assert np.median(text.max(axis=1) - text.min(axis=1)) <= 0.04 * 255  # neutral
    assert np.median(text.mean(axis=1)) < 0.35 * 255  # and still dark
    paper = out[masks["paper"]].astype(np.float32)
    assert paper.mean() >= 0.9 * 255, paper.mean()
    assert np.percentile(paper.max(axis=1) - paper.min(axis=1), 99) <= 0.03 * 255


def test_recolor_keeps_ink_colour_and_whitens_paper() -> None:
    """With the clean ink luma as the cleaned page (a perfect model), recolor keeps the red
    stamp red and the blue line blue while the tinted, stained paper becomes neutral white."""
    page, clean_luma, masks = colour_page()
    _check_colours(page, recolor(page, clean_luma), masks)
    gray = np.repeat(page.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    neutral = recolor(gray, clean_luma)  # a gray input gets no colour from anywhere
    assert (neutral[..., 0] == neutral[..., 1]).all() and (neutral[..., 1] == neutral[..., 2]).all()


def _read_rgb(path: Path) -> np.ndarray:
    if path.suffix == ".pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        try:
            images = [o for o in doc[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
            assert len(images) == 1
            pil = images[0].get_bitmap(render=False).to_pil()
        finally:
            doc.close()
    else:
        pil = Image.open(path)
    assert pil.mode == "RGB", f"{path.name} is {pil.mode}"
    return np.asarray(pil)


@pytest.mark.slow
def test_clean_color_writes_rgb_png_tiff_and_pdf(tmp_path: Path) -> None:
    """The shipped default model with --color on a dirty colour page as PNG, TIFF and PDF: every
    output is RGB, the stamp stays red, the signature blue, the text neutral and the paper
    white; without --color the same page comes out gray."""
    import img2pdf

    page, _, masks = colour_page()
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(page).save(src / "a.png", dpi=(150, 150))
    Image.fromarray(page).save(src / "b.tif", dpi=(150, 150), compression="tiff_adobe_deflate")
    (src / "c.pdf").write_bytes(img2pdf.convert(str(src / "a.png")))
    runner = CliRunner()
    result = runner.invoke(app, ["clean", str(src), "-o", str(tmp_path / "out"), "--color", "-q"])
    assert result.exit_code == 0, result.output
    outputs = {name: _read_rgb(tmp_path / "out" / name) for name in ("a.png", "b.tif", "c.pdf")}
    _check_colours(page, outputs["a.png"], masks)
    for name in ("b.tif", "c.pdf"):
        assert np.abs(outputs[name].astype(int) - outputs["a.png"]).max() <= 1, name

    result = runner.invoke(app, ["clean", str(src / "a.png"), "-o", str(tmp_path / "gray"), "-q"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "gray" / "a.png").mode == "L"


def test_color_and_binarize_are_refused(tmp_path: Path) -> None:
    page, _, _ = colour_page()
    Image.fromarray(page).save(tmp_path / "a.png")
    result = CliRunner().invoke(
        app,
        ["clean", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--color", "--binarize"],
    )
    assert result.exit_code == 2
    assert "--color and --binarize" in result.output
    assert not (tmp_path / "out").exists()


def test_api_color(tiny_model: Path) -> None:
    """Cleaner(color=True) and clean(..., color=True) give colour back for RGB(A) arrays and PIL
    images (same type, shape and dtype); colour is where the input was coloured, nowhere else."""
    import docclean

    page, _, masks = colour_page()
    plain = docclean.Cleaner(tiny_model, device="cpu")
    gray_out = plain.clean(page)
    assert (gray_out[..., 0] == gray_out[..., 2]).all()
    coloured = plain.clean(page, color=True)
    assert coloured.shape == page.shape and coloured.dtype == np.uint8
    chroma = coloured.max(axis=2).astype(int) - coloured.min(axis=2)
    assert np.median(chroma[masks["text"]]) <= 10 < np.median(chroma[masks["stamp"]])
    as_float = docclean.Cleaner(tiny_model, device="cpu", color=True).clean(page / 255.0)
    assert as_float.dtype == np.float64
    assert np.abs(as_float * 255 - coloured).max() <= 1 + 1e-6  # a level, in float32's rounding
    rgba = np.concatenate([page, np.full((*page.shape[:2], 1), 255, np.uint8)], axis=2)
    out_rgba = plain.clean(rgba, color=True)
    assert out_rgba.shape == rgba.shape and (out_rgba[..., 3] == 255).all()
    assert np.array_equal(out_rgba[..., :3], coloured)
    pil = plain.clean(Image.fromarray(page), color=True)
    assert pil.mode == "RGB" and np.array_equal(np.asarray(pil), coloured)
