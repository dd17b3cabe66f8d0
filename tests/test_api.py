"""The Python API: docclean.Cleaner cleans arrays and PIL images as the CLI cleans files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, write_gray
from PIL import Image
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import UsageError


@pytest.fixture(scope="module")
def cleaner(tiny_model: Path):  # type: ignore[no-untyped-def]
    import docclean

    return docclean.Cleaner(tiny_model, device="cpu")


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    rng = np.random.default_rng(3)
    return dirty(clean_page(90, 130, rng), rng)


def test_an_array_cleans_as_the_cli_cleans_its_file(
    cleaner, page: np.ndarray, tiny_model: Path, tmp_path: Path
) -> None:
    source = write_gray(tmp_path / "in" / "p.png", page)
    result = CliRunner().invoke(
        app, ["clean", str(source), "-o", str(tmp_path / "out"), "--model", str(tiny_model)]
    )
    assert result.exit_code == 0, result.output
    from_cli = np.asarray(Image.open(tmp_path / "out" / "p.png"))
    as_uint8 = np.asarray(Image.open(source))
    from_api = cleaner.clean(as_uint8)
    assert from_api.dtype == np.uint8 and from_api.shape == as_uint8.shape
    assert np.abs(from_api.astype(int) - from_cli.astype(int)).max() <= 1
    assert np.abs(from_api.astype(int) - as_uint8.astype(int)).max() > 10  # it did clean


def test_types_and_shapes_come_back_as_given(cleaner, page: np.ndarray) -> None:
    as_float = page.astype(np.float64)
    out = cleaner.clean(as_float)
    assert out.dtype == np.float64 and out.shape == page.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    rgb = np.repeat((page * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    out_rgb = cleaner.clean(rgb)
    assert out_rgb.shape == rgb.shape and out_rgb.dtype == np.uint8
    assert (out_rgb[..., 0] == out_rgb[..., 2]).all()
    assert np.array_equal(out_rgb[..., 0], cleaner.clean(rgb[..., 0]))
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    out_rgba = cleaner.clean(rgba)
    assert out_rgba.shape == rgba.shape and (out_rgba[..., 3] == 255).all()
    sixteen = (page * 65535).round().astype(np.uint16)
    out16 = cleaner.clean(sixteen)
    assert out16.dtype == np.uint16 and out16.shape == page.shape


def test_pil_images_come_back_as_pil_images_of_the_same_size_and_mode(
    cleaner, page: np.ndarray
) -> None:
    gray = Image.fromarray((page * 255).round().astype(np.uint8), mode="L")
    for image in (gray, gray.convert("RGB")):
        out = cleaner.clean(image)
        assert isinstance(out, Image.Image)
        assert out.size == image.size and out.mode == image.mode
    assert np.array_equal(np.asarray(cleaner.clean(gray)), cleaner.clean(np.asarray(gray)))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 5), np.uint8),
        np.full((8, 8), 2.0, np.float32),
        np.full((8, 8), np.nan, np.float32),
        np.zeros((8, 8, 2), np.uint8),
        np.zeros((8, 8), np.int64),
        "not an image",
    ],
    ids=["empty", "float-out-of-range", "nan", "two-channels", "int64", "str"],
)
def test_pages_it_cannot_take_raise_a_usage_error(cleaner, bad: object) -> None:
    with pytest.raises(UsageError):
        cleaner.clean(bad)


def test_importing_docclean_does_not_import_tensorflow() -> None:
    probe = "import sys, docclean; docclean.Cleaner; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
