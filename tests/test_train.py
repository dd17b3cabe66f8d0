"""Training end to end on synthetic pages: the loss falls, the card is complete, nothing overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from docclean.errors import OutputError, UsageError
from docclean.modelstore import load_model, sha256_of
from docclean.progress import Reporter
from docclean.train import TrainConfig, train


def test_training_lowers_the_loss_and_writes_a_card(tiny_model: Path) -> None:
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    history = card["training"]["history"]
    assert history["loss"][-1] < history["loss"][0]
    assert card["sha256"] == sha256_of(tiny_model)
    assert card["architecture"] == "seed-text" and card["training"]["patch_size"] == 32
    assert len(card["training"]["validation_pages"]) == 2
    assert not set(card["training"]["validation_pages"]) & set(card["training"]["train_pages"])
    val = card["validation"]
    assert val["pages"] == 2 and set(val["model"]) == {"rmse", "psnr", "ssim"}
    for key in ("docclean", "keras", "tensorflow"):
        assert card["versions"][key]
    assert load_model(tiny_model).model.count_params() == card["parameters"]


def test_existing_model_is_refused_before_training(tiny_model: Path, pair_dir: Path) -> None:
    before = sha256_of(tiny_model)
    config = TrainConfig(output=tiny_model.with_suffix(""), epochs=1)
    with pytest.raises(OutputError, match="--overwrite"):
        train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))
    assert sha256_of(tiny_model) == before


def test_patch_size_must_suit_the_architecture(tmp_path: Path, pair_dir: Path) -> None:
    config = TrainConfig(output=tmp_path / "m", patch_size=33)
    with pytest.raises(UsageError, match="multiple of 2"):
        train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))


def test_seeded_training_is_repeatable(tmp_path: Path, pair_dir: Path) -> None:
    def run(name: str) -> list[float]:
        config = TrainConfig(
            output=tmp_path / name, epochs=1, steps_per_epoch=4, patch_size=16, batch_size=4, seed=5
        )
        card = train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))
        return card["training"]["history"]["loss"]

    assert np.allclose(run("a"), run("b"), rtol=1e-4)
