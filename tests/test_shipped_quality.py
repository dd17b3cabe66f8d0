"""The shipped models against real data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA, ZOO
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.models.store import DEFAULT_BINARIZE_MODEL, DEFAULT_MODEL, card_path, shipped_models

NOISYOFFICE = SHARED_DATA / "noisyoffice"
DIBCO = SHARED_DATA / "dibco"
pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not here")


def _card(model: str) -> dict:
    return json.loads(card_path(shipped_models()[model]).read_text())


def _reported(model: str) -> dict:
    return _card(model)["reported_validation"]


def _evaluate(noisy: Path, clean: Path, model: str, *extra: str) -> dict:
    result = CliRunner().invoke(
        app, ["evaluate", "--noisy", str(noisy), "--clean", str(clean), "--model", model,
              "--json", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.skipif(not NOISYOFFICE.is_dir(), reason="no NoisyOffice data")
@pytest.mark.parametrize("shipped", [DEFAULT_MODEL, "noisyoffice-tone-unet"])
def test_office_validation_figure_in_the_card_is_reproduced(shipped: str) -> None:
    """`docclean evaluate` on NoisyOffice VA gives the RMSE an office model's card holds for that
    fold (recorded by benchmarks/folds.py through today's cleaner), and no worse than its training
    run measured (the cleaner around the model may have improved since: the shadow division)."""
    reported = _reported(shipped)
    fold = _card(shipped)["folds"]["noisyoffice-TR-VA"]
    va_list = ZOO / "noisyoffice-va.txt"
    twin = str(ZOO / f"{reported['validation_model']}.keras")
    report = _evaluate(NOISYOFFICE / "train", NOISYOFFICE / "train_cleaned",
                       twin, "--names", f"@{va_list}")  # fmt: skip
    mean = report["mean"]["gray"]
    assert len(report["pages"]) == reported["pages"] == 72
    model = mean[reported["validation_model"]]
    assert model["rmse"] == pytest.approx(fold["model"]["rmse"], abs=2e-4)
    assert model["rmse"] <= reported["model"]["rmse"] + 2e-4
    assert mean["no_cleaning"]["rmse"] == pytest.approx(reported["no_cleaning"]["rmse"], abs=1e-4)
    assert model["rmse"] < 0.25 * mean["no_cleaning"]["rmse"]


@pytest.mark.skipif(not DIBCO.is_dir(), reason="no DIBCO data")
def test_binarization_validation_figure_in_the_card_is_reproduced(tmp_path: Path) -> None:
    """On DIBCO 2016 the binarization model's validation twin scores what its card says, above Otsu."""
    reported = _reported(DEFAULT_BINARIZE_MODEL)
    for kind, folder in (("noisy", "imgs"), ("clean", "gt")):
        (tmp_path / kind).mkdir()
        for image in sorted((DIBCO / "2016" / folder).glob("*.png")):
            (tmp_path / kind / image.name).symlink_to(image)
    twin = str(ZOO / f"{reported['validation_model']}.keras")
    report = _evaluate(tmp_path / "noisy", tmp_path / "clean", twin, "--baselines")
    mean = report["mean"]["bilevel"]
    assert len(report["pages"]) == reported["pages"] == 10
    model = mean[reported["validation_model"]]
    for key in ("fm", "psnr"):
        assert model[key] == pytest.approx(reported["model"][key], abs=0.05)
    assert model["fm"] > mean["otsu"]["fm"] and model["psnr"] > mean["otsu"]["psnr"]


MSI = SHARED_DATA / "more-binarization" / "msi"


@pytest.mark.skipif(not MSI.is_dir(), reason="no Synchromedia MSI data")
def test_the_binarizer_finds_the_writing_on_faint_pages() -> None:
    """Five faint MSI pages (ink within 0.11-0.29 of the paper) that the binarizer returned blank
    (FM 0.0-0.6) before faint pages were stretched: now it finds their writing (FM 39-72). A
    sixth, msi-H24, still comes back blank (FM 0.5)."""
    pages = "msi-H09,msi-H13,msi-H16,msi-H23,msi-H25"
    report = _evaluate(MSI / "imgs", MSI / "gt", DEFAULT_BINARIZE_MODEL, "--names", pages)
    scores = [page["scores"][DEFAULT_BINARIZE_MODEL]["fm"] for page in report["pages"]]
    assert len(scores) == 5 and min(scores) > 30 and sum(scores) / 5 > 50, scores
