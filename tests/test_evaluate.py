"""Baselines, the evaluate report (JSON layout scripts rely on), CSV, OCR and contact sheets."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, write_gray
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.evaluation import baselines as baselines
from docclean.evaluation import metrics
from docclean.evaluation.report import CSV_COLUMNS, EvalOptions, evaluate_pairs
from docclean.progress import Reporter

runner = CliRunner()


def test_median_background_removes_a_stain() -> None:
    page = clean_page(200, 300, np.random.default_rng(0))
    yy, xx = np.mgrid[0:200, 0:300]
    stain = 0.5 * np.exp(-((yy - 100) ** 2 + (xx - 150) ** 2) / (2 * 60.0**2))
    noisy = (page * (1 - stain)).astype(np.float32)  # a stain darkens paper and ink alike
    cleaned = baselines.median_background(noisy)
    assert metrics.rmse(cleaned, page) < 0.5 * metrics.rmse(noisy, page)


@pytest.mark.parametrize("name", ["otsu", "sauvola"])
def test_thresholds_give_bilevel_pages(name: str) -> None:
    rng = np.random.default_rng(1)
    noisy = dirty(clean_page(60, 80, rng), rng)
    out = baselines.BASELINES[name](noisy)
    assert out.shape == noisy.shape and metrics.is_bilevel(out)
    assert metrics.is_bilevel(baselines.BASELINES[name](np.full((3, 3), 0.5, np.float32)))


@pytest.mark.skipif(not baselines.unpaper_available(), reason="unpaper is not installed")
def test_unpaper_keeps_the_page_geometry() -> None:
    rng = np.random.default_rng(2)
    noisy = dirty(clean_page(90, 130, rng), rng)
    out = baselines.unpaper(noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32


def bilevel_pairs(root: Path) -> Path:
    rng = np.random.default_rng(3)
    for i in range(3):
        page = np.where(clean_page(64, 96, rng) < 0.5, 0.0, 1.0).astype(np.float32)
        write_gray(root / "gt" / f"h{i}.png", page)
        write_gray(root / "imgs" / f"h{i}.png", dirty(page, rng))
    return root


def test_report_layout_with_baselines_and_binary_targets(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = bilevel_pairs(tmp_path)
    monkeypatch.setattr(baselines.shutil, "which", lambda name: None)  # as if unpaper were missing
    result = runner.invoke(
        app,
        ["evaluate", "--noisy", str(root / "imgs"), "--clean", str(root / "gt"),
         "--model", str(tiny_model), "--baselines", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"schema", "methods", "models", "pages", "mean", "failed", "notes"}
    assert report["methods"] == ["no_cleaning", "tiny", "median_background", "otsu", "sauvola"]
    assert any("unpaper is not installed" in n for n in report["notes"])
    assert "unpaper is not installed" in result.stderr
    page = report["pages"][0]
    assert page["target"] == "bilevel" and set(page) == {
        "name",
        "width",
        "height",
        "target",
        "scores",
        "seconds",
    }
    assert set(page["scores"]["otsu"]) == {"fm", "pfm", "psnr", "drd"}
    assert list(report["mean"]) == ["bilevel"]
    mean = report["mean"]["bilevel"]
    assert mean["sauvola"]["fm"] > mean["no_cleaning"]["fm"] - 50  # a sane, finite figure
    assert report["models"]["tiny"]["sha256"]


def test_csv_and_contact_sheet(tmp_path: Path, tiny_model: Path, pair_dir: Path) -> None:
    sheet = tmp_path / "sheet.png"
    result = runner.invoke(
        app,
        ["evaluate", "--noisy", str(pair_dir / "noisy"), "--clean", str(pair_dir / "clean"),
         "--model", str(tiny_model), "--baselines", "--csv", "-", "--contact-sheet", str(sheet),
         "--sheet-pages", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    methods = {r["method"] for r in rows}
    assert {"no_cleaning", "tiny", "median_background", "otsu", "sauvola"} <= methods
    assert len(rows) == 8 * len(methods) and rows[0]["rmse"] and not rows[0]["fm"]
    with Image.open(sheet) as image:
        assert image.width == 4 * 420 + 5 * 8 and image.height > 3 * 60


def test_table_on_the_terminal(pair_dir: Path, tiny_model: Path) -> None:
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--noisy",
            str(pair_dir / "noisy"),
            "--clean",
            str(pair_dir / "clean"),
            "--model",
            str(tiny_model),
        ],
    )
    assert result.exit_code == 0
    assert "RMSE per page" in result.stdout and "mean over 8 page(s)" in result.stdout


def text_page(text: str) -> np.ndarray:
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((20, 30), text, fill=0, font=ImageFont.load_default(size=40))
    return np.asarray(image, dtype=np.float32) / 255


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_ocr_character_error_rate_against_a_text_file(tmp_path: Path) -> None:
    from docclean.training.data import PairPaths

    page = text_page("Clean pages read better")
    write_gray(tmp_path / "clean" / "p.png", page)
    (tmp_path / "clean" / "p.txt").write_text("Clean pages read better\n")
    noisy = np.clip(page + np.random.default_rng(0).normal(0, 0.45, page.shape), 0, 1)
    write_gray(tmp_path / "noisy" / "p.png", noisy)
    pair = PairPaths("p", tmp_path / "noisy" / "p.png", tmp_path / "clean" / "p.png")
    options = EvalOptions(baselines=False, ocr=True)
    report = evaluate_pairs([pair], [], Reporter(quiet=True), options)
    scores = report["pages"][0]["scores"]["no_cleaning"]
    assert 0.0 < scores["cer"] <= 1.0
    clean_pair = PairPaths("p", tmp_path / "clean" / "p.png", tmp_path / "clean" / "p.png")
    report = evaluate_pairs([clean_pair], [], Reporter(quiet=True), options)
    assert report["pages"][0]["scores"]["no_cleaning"]["cer"] == 0.0


def test_missing_tesseract_is_a_note_not_a_crash(
    pair_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docclean.evaluation import ocr as ocr
    from docclean.training.data import find_pairs

    monkeypatch.setattr(ocr.shutil, "which", lambda name: None)
    pairs, _ = find_pairs(pair_dir / "noisy", pair_dir / "clean")
    report = evaluate_pairs(pairs[:1], [], Reporter(quiet=True), EvalOptions(ocr=True))
    assert any("tesseract is not installed" in n for n in report["notes"])
    assert "cer" not in report["pages"][0]["scores"]["no_cleaning"]
