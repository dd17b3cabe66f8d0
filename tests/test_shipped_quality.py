"""The shipped models against real data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED_DATA

from docclean.modelstore import card_path, shipped_models

NOISYOFFICE = SHARED_DATA / "noisyoffice"
pytestmark = pytest.mark.skipif(not NOISYOFFICE.is_dir(), reason="../shared/data is not here")


def test_validation_figure_in_the_card_is_reproduced() -> None:
    """`docclean evaluate` on NoisyOffice VA gives the RMSE the shipped card reports."""
    from typer.testing import CliRunner

    from docclean.cli import app

    card = json.loads(card_path(shipped_models()["office-seed-text"]).read_text())
    reported = card["reported_validation"]
    va_list = shipped_models()["office-seed-text"].parent / "noisyoffice-va.txt"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--noisy", str(NOISYOFFICE / "train"), "--clean", str(NOISYOFFICE / "train_cleaned"),
         "--names", f"@{va_list}", "--model", reported["validation_model"], "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    mean = json.loads(result.stdout)["mean"]["gray"]
    assert len(json.loads(result.stdout)["pages"]) == reported["pages"] == 72
    assert mean[reported["validation_model"]]["rmse"] == pytest.approx(
        reported["model"]["rmse"], abs=2e-4
    )
    assert mean["no_cleaning"]["rmse"] == pytest.approx(reported["no_cleaning"]["rmse"], abs=1e-4)
    assert mean[reported["validation_model"]]["rmse"] < 0.25 * mean["no_cleaning"]["rmse"]
