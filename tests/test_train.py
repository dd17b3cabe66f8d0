"""Training end to end on synthetic pages: the loss falls, the card is complete, nothing overwritten."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import ZOO

from docclean.errors import OutputError, UsageError
from docclean.models.store import load_model, sha256_of
from docclean.progress import Reporter
from docclean.training.trainer import TrainConfig, train


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
    config = TrainConfig(output=tmp_path / "m", arch="seed-text", patch_size=33)
    with pytest.raises(UsageError, match="multiple of 2"):
        train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))


def test_defaults_come_from_the_architecture(tmp_path: Path, pair_dir: Path) -> None:
    """Without --arch, tone-unet (patches of 256, stride 16); seed-text keeps its own defaults."""
    from docclean.models.architectures import get_architecture

    assert get_architecture("tone-unet").train_patch_size == 256
    assert get_architecture("seed-text").train_patch_size == 64
    config = TrainConfig(output=tmp_path / "m", patch_size=40)
    with pytest.raises(UsageError, match="multiple of 16 for tone-unet"):
        train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))


def test_seeded_training_is_repeatable(tmp_path: Path, pair_dir: Path) -> None:
    def run(name: str) -> list[float]:
        config = TrainConfig(
            output=tmp_path / name,
            arch="seed-text",
            epochs=1,
            steps_per_epoch=4,
            patch_size=16,
            batch_size=4,
            seed=5,
        )
        card = train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))
        return card["training"]["history"]["loss"]

    assert np.allclose(run("a"), run("b"), rtol=1e-4)


def quick(tmp_path: Path, name: str, **changes: object) -> TrainConfig:
    options: dict = {
        "arch": "seed-text",
        "epochs": 1,
        "steps_per_epoch": 4,
        "patch_size": 16,
        "batch_size": 4,
        "seed": 2,
    }
    return TrainConfig(output=tmp_path / name, **{**options, **changes})  # type: ignore[arg-type]


def test_fine_tuning_starts_from_the_given_model(
    tmp_path: Path, tiny_model: Path, pair_dir: Path
) -> None:
    reporter = Reporter(quiet=True)
    fresh = train(pair_dir / "noisy", pair_dir / "clean", quick(tmp_path, "fresh"), reporter)
    tuned = train(
        pair_dir / "noisy",
        pair_dir / "clean",
        quick(tmp_path, "tuned", init_from=str(tiny_model)),
        reporter,
    )
    tiny_card = json.loads(tiny_model.with_suffix(".json").read_text())
    assert tuned["training"]["init_from"] == {"name": "tiny", "sha256": tiny_card["sha256"]}
    assert tuned["architecture"] == tiny_card["architecture"]
    assert tuned["training"]["history"]["loss"][0] < fresh["training"]["history"]["loss"][0]
    with pytest.raises(UsageError, match="leave --arch out"):
        train(pair_dir / "noisy", pair_dir / "clean",
              quick(tmp_path, "x", init_from=str(tiny_model), arch="seed-deep"), reporter)  # fmt: skip


def test_a_tone_unet_grows_into_tone_unet_fine(tmp_path: Path, pair_dir: Path) -> None:
    """--arch tone-unet-fine --init-from a tone-unet: the same function at first, then trained."""
    from docclean.models.architectures import get_architecture, grow

    reporter = Reporter(quiet=True)
    pages = (pair_dir / "noisy", pair_dir / "clean")
    train(*pages, quick(tmp_path, "small", arch="tone-unet", patch_size=32), reporter)
    small = load_model(tmp_path / "small.keras")
    grown = grow(small.model, get_architecture("tone-unet-fine"))
    page = np.random.default_rng(0).random((1, 64, 64, 1)).astype(np.float32)
    assert np.array_equal(np.asarray(grown(page)), np.asarray(small.model(page)))
    assert grown.count_params() > small.model.count_params()

    fine = quick(tmp_path, "fine", arch="tone-unet-fine", patch_size=32, init_from=str(small.path))
    card = train(*pages, fine, reporter)
    assert card["architecture"] == "tone-unet-fine" and card["receptive_radius"] == 108
    assert card["training"]["init_from"] == {
        "name": "small", "sha256": small.card.sha256, "grown_from": "tone-unet"
    }  # fmt: skip
    tuned = load_model(tmp_path / "fine.keras").model
    assert tuned.count_params() == grown.count_params()
    assert not np.array_equal(np.asarray(tuned(page)), np.asarray(grown(page)))  # it trained
    with pytest.raises(UsageError, match="grow it into tone-unet-fine"):
        train(*pages, quick(tmp_path, "x", arch="fast-unet", patch_size=32,
                            init_from=str(small.path)), reporter)  # fmt: skip


def test_fine_tuning_the_mirrored_binarizer_keeps_its_decision_level(
    tmp_path: Path, pair_dir: Path
) -> None:
    """--init-from a mirrored binarizer trains its nested net and leaves its level as it was."""
    mirrored_binarizer = str(ZOO / "dibco-fast-unet-0914.keras")
    shipped = load_model(mirrored_binarizer)
    level = shipped.model.get_layer("clean").get_weights()[0]
    assert shipped.card.architecture == "fast-unet-mirrored" and level != 0.5
    pages = (pair_dir / "noisy", pair_dir / "clean")
    config = quick(tmp_path, "tuned", arch=None, patch_size=32, init_from=mirrored_binarizer)
    card = train(*pages, config, Reporter(quiet=True))
    assert card["architecture"] == "fast-unet-mirrored"
    tuned = load_model(tmp_path / "tuned.keras").model
    assert tuned.get_layer("clean").get_weights()[0] == level
    before, after = shipped.model.get_weights(), tuned.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    with pytest.raises(UsageError, match="grow it into fast-unet-mirrored"):
        train(*pages, quick(tmp_path, "x", arch="fast-unet-mirrored", patch_size=32,
                            regularizer="sparse"), Reporter(quiet=True))  # fmt: skip


def test_decision_level_auto_picks_the_best_fm_on_the_validation_pages(
    tmp_path: Path, pair_dir: Path
) -> None:
    """--decision-level auto: the views' average thresholded at each level, the best mean FM's
    level set in the model and its card; a number is set as given; auto needs bilevel validation
    pages and any level a -mirrored model."""
    from conftest import write_gray

    from docclean.training.config import DECISION_LEVELS

    for name in ("page0", "page1", "page2"):
        page = load_pairs_by_name(pair_dir, name)
        write_gray(tmp_path / "bw" / "noisy" / f"{name}.png", page.noisy)
        write_gray(
            tmp_path / "bw" / "clean" / f"{name}.png", (page.clean >= 0.5).astype(np.float32)
        )
    pages = (tmp_path / "bw" / "noisy", tmp_path / "bw" / "clean")
    start = str(ZOO / "dibco-fast-unet-0914.keras")
    small = dict(arch=None, patch_size=32, init_from=start, loss="bce", steps=2, eval_every=1)
    card = train(*pages, quick(tmp_path, "auto", decision_level="auto", val_names=["page2"],
                               **small), Reporter(quiet=True))  # fmt: skip
    chosen = card["training"]["decision_level"]
    by_level = {float(k): v for k, v in chosen["fm_by_level"].items()}
    assert list(by_level) == list(DECISION_LEVELS) and chosen["before"] == pytest.approx(0.65)
    assert chosen["level"] == max(by_level, key=lambda lv: by_level[lv])
    assert card["validation"]["model"]["fm"] == pytest.approx(by_level[chosen["level"]], abs=0.01)
    saved = load_model(tmp_path / "auto.keras").model.get_layer("clean").get_weights()[0]
    assert saved == pytest.approx(chosen["level"])

    train(*pages, quick(tmp_path, "given", decision_level="0.7", val_fraction=0.0, **small),
          Reporter(quiet=True))  # fmt: skip
    assert load_model(tmp_path / "given.keras").model.get_layer("clean").get_weights()[0] == (
        pytest.approx(0.7)
    )
    with pytest.raises(UsageError, match="needs black-and-white validation pages"):
        train(*pages, quick(tmp_path, "x", decision_level="auto", val_fraction=0.0, **small),
              Reporter(quiet=True))  # fmt: skip
    with pytest.raises(UsageError, match="needs a -mirrored binarizer"):
        train(*pages, quick(tmp_path, "y", decision_level="0.6"), Reporter(quiet=True))


def test_the_mirrored_binarizer_unwraps_into_its_base_net(tmp_path: Path, pair_dir: Path) -> None:
    """--arch fast-unet --init-from a mirrored binarizer: its net alone (half the work), then
    trained; the net computes what the nested net did, one view, before its level is moved."""
    from docclean.models.architectures import get_architecture, nested_base, unwrap

    mirrored_binarizer = str(ZOO / "dibco-fast-unet-0914.keras")
    shipped = load_model(mirrored_binarizer)
    plain = unwrap(shipped.model, get_architecture("fast-unet"))
    base = nested_base(shipped.model)
    assert base is not None and plain.count_params() == base.count_params()
    page = np.random.default_rng(0).random((1, 64, 64, 1)).astype(np.float32)
    assert np.allclose(np.asarray(plain(page)), np.asarray(base(page)), atol=1e-6)
    with pytest.raises(ValueError, match="does not unwrap"):
        unwrap(plain, get_architecture("fast-unet"))

    pages = (pair_dir / "noisy", pair_dir / "clean")
    config = quick(tmp_path, "one", arch="fast-unet", patch_size=32, init_from=mirrored_binarizer)
    card = train(*pages, config, Reporter(quiet=True))
    assert card["architecture"] == "fast-unet"
    assert card["training"]["init_from"] == {
        "name": shipped.name, "sha256": shipped.card.sha256, "grown_from": "fast-unet-mirrored"
    }  # fmt: skip
    tuned = load_model(tmp_path / "one.keras").model
    assert not np.allclose(np.asarray(tuned(page)), np.asarray(plain(page)))  # it trained


@pytest.mark.parametrize("loss", ["bce", "l1", "mse+ssim", "mse+edge", "mse+ink"])
def test_every_loss_trains(tmp_path: Path, pair_dir: Path, loss: str) -> None:
    card = train(
        pair_dir / "noisy",
        pair_dir / "clean",
        quick(tmp_path, "m", loss=loss, patch_size=24),
        Reporter(quiet=True),
    )
    assert card["training"]["loss"] == loss
    assert np.isfinite(card["training"]["history"]["loss"]).all()


def test_ink_loss_charges_erasing_ink_more_than_darkening_paper() -> None:
    """``mse+ink``: a target ink pixel drawn lighter costs 1 + INK_ERASE_WEIGHT times its square
    error; the same error on paper, or ink drawn darker, costs plain MSE."""
    from docclean.training import losses

    loss = losses.get_loss("mse+ink")
    target = np.array([[0.0, 1.0], [0.2, 1.0]], np.float32).reshape(1, 2, 2, 1)
    erased = target.copy()
    erased[0, 0, 0, 0] = 0.4  # ink lightened by 0.4
    darkened = target.copy()
    darkened[0, 0, 1, 0] = 0.6  # paper darkened by 0.4
    deeper = target.copy()
    deeper[0, 1, 0, 0] = 0.0  # ink drawn 0.2 darker
    plain = 0.16 / 4
    assert float(loss(target, darkened)) == pytest.approx(plain)
    assert float(loss(target, erased)) == pytest.approx(plain * (1 + losses.INK_ERASE_WEIGHT))
    assert float(loss(target, deeper)) == pytest.approx(0.04 / 4)


def test_unknown_loss_is_refused(tmp_path: Path, pair_dir: Path) -> None:
    with pytest.raises(UsageError, match="mse\\+ssim"):
        train(
            pair_dir / "noisy",
            pair_dir / "clean",
            quick(tmp_path, "m", loss="huber"),
            Reporter(quiet=True),
        )


def test_synthetic_pairs_are_mixed_in(tmp_path: Path, pair_dir: Path) -> None:
    card = train(
        pair_dir / "noisy",
        pair_dir / "clean",
        quick(tmp_path, "m", synthetic=2),
        Reporter(quiet=True),
    )
    assert card["training"]["synthetic_pairs"] == 2
    assert not [n for n in card["training"]["train_pages"] if n.startswith("synthetic")]
    assert len(card["training"]["train_pages"]) + len(card["training"]["validation_pages"]) == 8


def _mean_code(model_path: Path, pages: np.ndarray, layer: str) -> float:
    import keras

    model = load_model(model_path).model
    encoder = keras.Model(model.input, model.get_layer(layer).output)
    return float(np.mean(np.abs(encoder(pages))))


@pytest.mark.parametrize("kind", ["sparse", "contractive"])
def test_regularizers_shape_the_bottleneck_and_leave_no_trace(
    tmp_path: Path, pair_dir: Path, kind: str
) -> None:
    reporter = Reporter(quiet=True)
    plain = train(pair_dir / "noisy", pair_dir / "clean",
                  quick(tmp_path, "plain", steps_per_epoch=12), reporter)  # fmt: skip
    penalized = train(
        pair_dir / "noisy",
        pair_dir / "clean",
        quick(tmp_path, kind, steps_per_epoch=12, regularizer=kind, regularizer_weight=1.0),
        reporter,
    )
    assert penalized["training"]["regularizer"] == {"kind": kind, "weight": 1.0}
    assert penalized["parameters"] == plain["parameters"]  # the saved model is the plain one
    assert [layer.name for layer in load_model(tmp_path / f"{kind}.keras").model.layers] == [
        layer.name for layer in load_model(tmp_path / "plain.keras").model.layers
    ]
    pages = np.random.default_rng(0).random((2, 32, 32, 1)).astype(np.float32)
    if kind == "sparse":  # an L1 penalty this strong leaves a much quieter code
        assert _mean_code(tmp_path / kind, pages, "mid_conv") < 0.5 * _mean_code(
            tmp_path / "plain", pages, "mid_conv"
        )


def test_penalty_values() -> None:
    from docclean.models.regularizers import BottleneckPenalty

    output = np.zeros((1, 4, 4, 1), np.float32)
    code = np.full((1, 2, 2, 3), -2.0, np.float32)
    sparse = BottleneckPenalty("sparse", 0.5)
    assert np.array_equal(np.asarray(sparse([output, code])), output)
    assert float(sparse.losses[0]) == pytest.approx(0.5 * 2.0)
    contractive = BottleneckPenalty("contractive", 0.5, sigma=0.1)
    contractive([output, code, code + 0.01])  # (0.01 / 0.1)^2 = 0.01 per unit
    assert float(contractive.losses[0]) == pytest.approx(0.5 * 0.01, rel=1e-4)
    contractive([output, code, code])
    assert float(contractive.losses[-1]) == 0.0


def test_unknown_regularizer_is_refused(tmp_path: Path, pair_dir: Path) -> None:
    with pytest.raises(UsageError, match="contractive"):
        train(pair_dir / "noisy", pair_dir / "clean",
              quick(tmp_path, "m", regularizer="dropout"), Reporter(quiet=True))  # fmt: skip


def test_synthetic_kinds_can_be_left_out(tmp_path: Path, pair_dir: Path, monkeypatch) -> None:
    import docclean.synth.generator as synth

    seen: list[list[str]] = []
    real = synth.synthetic_pairs

    def spy(n, rng, clean_pages=None, kinds=None, size=synth.RENDER_SIZE, mix=True, dpi=None,  # type: ignore[no-untyped-def]
            historical=False, good_share=None, chances=None, tones=0.0, notes=0.0):  # fmt: skip
        seen.append(list(kinds))
        return real(n, rng, clean_pages, kinds, (64, 64), mix, dpi, historical, good_share, chances,
                    tones, notes)  # fmt: skip

    monkeypatch.setattr(synth, "synthetic_pairs", spy)
    card = train(pair_dir / "noisy", pair_dir / "clean",
                 quick(tmp_path, "m", synthetic=2, synthetic_exclude=["blur", "fold"]),
                 Reporter(quiet=True))  # fmt: skip
    assert card["training"]["synthetic_excluded_kinds"] == ["blur", "fold"]
    assert seen and not {"blur", "fold"} & set(seen[0]) and "stain" in seen[0]
    with pytest.raises(UsageError, match="unknown degradation"):
        train(pair_dir / "noisy", pair_dir / "clean",
              quick(tmp_path, "x", synthetic=2, synthetic_exclude=["smudge"]), Reporter(quiet=True))  # fmt: skip
    assert card["training"]["never_seen_kinds"] == ["fold", "blur"]  # registry order

    # fine-tuned, a model has seen what its starting model saw: blur, not fold, is seen now
    tuned = train(pair_dir / "noisy", pair_dir / "clean",
                  quick(tmp_path, "tuned", synthetic=2, synthetic_exclude=["fold", "jpeg"],
                        init_from=str(tmp_path / "m.keras")),
                  Reporter(quiet=True))  # fmt: skip
    assert tuned["training"]["synthetic_excluded_kinds"] == ["fold", "jpeg"]
    assert tuned["training"]["never_seen_kinds"] == ["fold"]
    # and without synthetic pairs of its own, still every kind the starting model saw
    plain = train(pair_dir / "noisy", pair_dir / "clean",
                  quick(tmp_path, "plain", init_from=str(tmp_path / "m.keras")),
                  Reporter(quiet=True))  # fmt: skip
    assert plain["training"]["never_seen_kinds"] == ["fold", "blur"]


def test_cosine_schedule_decays_to_zero_and_plateau_holds(tmp_path: Path, pair_dir: Path) -> None:
    reporter = Reporter(quiet=True)
    runs = {
        schedule: train(
            pair_dir / "noisy",
            pair_dir / "clean",
            quick(tmp_path, schedule, epochs=3, schedule=schedule, learning_rate=2e-3),
            reporter,
        )["training"]
        for schedule in ("cosine", "plateau")
    }
    cosine = runs["cosine"]["history"]["learning_rate"]
    assert cosine[0] < 2e-3 and cosine == sorted(cosine, reverse=True) and cosine[-1] < 1e-6
    assert runs["plateau"]["history"]["learning_rate"][0] == pytest.approx(2e-3)
    assert runs["cosine"]["optimizer"] == (
        "adam lr=0.002, 1 warm-up steps, cosine decay to 0 over 12 steps"
    )
    assert runs["plateau"]["optimizer"] == "adam lr=0.002, schedule plateau"
    with pytest.raises(UsageError, match="plateau, cosine"):
        train(
            pair_dir / "noisy", pair_dir / "clean", quick(tmp_path, "x", schedule="step"), reporter
        )


def test_synthetic_pages_at_a_resolution_share_and_undamaged(
    tmp_path: Path, pair_dir: Path, monkeypatch
) -> None:
    """--synthetic-size/--synthetic-dpi reach the renderer; undamaged pages pair with themselves;
    --synthetic-share draws that share of the patches from them; the card records all four."""
    import docclean.synth.generator as synth
    from docclean.training.data import MixedSampler, Pair

    seen: dict = {}
    real = synth.synthetic_pairs

    def spy(n, rng, clean_pages=None, kinds=None, size=synth.RENDER_SIZE, mix=True, dpi=None,  # type: ignore[no-untyped-def]
            historical=False, good_share=None, chances=None, tones=0.0, notes=0.0):  # fmt: skip
        seen.update(size=size, dpi=str(dpi), good_share=good_share, chances=chances, tones=tones,
                    notes=notes)  # fmt: skip
        return real(n, rng, clean_pages, kinds, size, mix, dpi, historical, good_share, chances,
                    tones, notes)  # fmt: skip

    monkeypatch.setattr(synth, "synthetic_pairs", spy)
    config = quick(tmp_path, "m", synthetic=1, synthetic_undamaged=1, synthetic_share=0.5,
                   synthetic_size="96x64", synthetic_dpi="150-300",
                   synthetic_good_share=0.25, synthetic_chance="jpeg=0.9,blur=0",
                   synthetic_tones=0.5, synthetic_notes=0.25)  # fmt: skip
    card = train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))
    chances = {"jpeg": 0.9, "blur": 0.0}
    assert seen == {"size": (64, 96), "dpi": "150-300", "good_share": 0.25, "chances": chances,
                    "tones": 0.5, "notes": 0.25}  # fmt: skip
    t = card["training"]
    assert (t["synthetic_size"], t["synthetic_dpi"], t["synthetic_share"]) == (
        "96x64",
        "150-300",
        0.5,
    )
    assert t["synthetic_pairs"] == 1 and t["synthetic_undamaged_pages"] == 1
    assert t["synthetic_good_share"] == 0.25 and t["synthetic_chances"] == chances
    assert t["synthetic_tones"] == 0.5 and t["synthetic_notes"] == 0.25
    assert "--synthetic-chance jpeg=0.9,blur=0" in t["commands"][-1]
    assert "--synthetic-tones 0.5" in t["commands"][-1]
    assert "--synthetic-notes 0.25" in t["commands"][-1]
    with pytest.raises(UsageError, match="--synthetic-tones needs"):
        quick(tmp_path, "y", synthetic=1, synthetic_tones=0.5).validate()
    with pytest.raises(UsageError, match="--synthetic-tones must"):
        quick(tmp_path, "y", synthetic=1, synthetic_dpi="300", synthetic_tones=2.0).validate()
    with pytest.raises(UsageError, match="--synthetic-notes needs"):
        quick(tmp_path, "y", synthetic=1, synthetic_notes=0.5).validate()
    with pytest.raises(UsageError, match="--synthetic-notes must"):
        quick(tmp_path, "y", synthetic=1, synthetic_dpi="300", synthetic_notes=-0.1).validate()
    with pytest.raises(UsageError, match="--synthetic-chance needs"):
        quick(tmp_path, "y", synthetic_chance="jpeg=0.5").validate()
    with pytest.raises(UsageError, match="bad synthetic chance"):
        quick(tmp_path, "y", synthetic=1, synthetic_chance="jpeg=2").validate()
    with pytest.raises(UsageError, match="--synthetic-good-share"):
        quick(tmp_path, "y", synthetic=1, synthetic_good_share=1.5).validate()
    with pytest.raises(UsageError, match="--synthetic-share"):
        train(pair_dir / "noisy", pair_dir / "clean", quick(tmp_path, "x", synthetic_share=0.5),
              Reporter(quiet=True))  # fmt: skip

    # the share: real pages all 0, synthetic all 1; 40 % of 4,000 patches synthetic
    zeros, ones = np.zeros((20, 20), np.float32), np.ones((20, 20), np.float32)
    sampler = MixedSampler([Pair("r", zeros, zeros)], [Pair("s", ones, ones)], 0.4, 8, 0, [])
    share = np.mean([sampler.batch_at(k, 40)[1].mean() for k in range(100)])
    assert share == pytest.approx(0.4, abs=0.02)
    np.testing.assert_array_equal(sampler.batch_at(7, 40)[0], sampler.batch_at(7, 40)[0])


def test_black_and_white_targets_score_fm_and_get_binarization_pairs(
    tmp_path: Path, pair_dir: Path, monkeypatch
) -> None:
    """Bilevel targets: the run keeps the weights of best FM, and its synthetic pairs (damaged and
    undamaged) have black-and-white targets too."""
    from conftest import write_gray

    import docclean.synth.generator as synth
    from docclean.evaluation.metrics import is_bilevel
    from docclean.training import trainer

    for name in ("page0", "page1", "page2"):
        page = load_pairs_by_name(pair_dir, name)
        write_gray(tmp_path / "bw" / "noisy" / f"{name}.png", page.noisy)
        write_gray(
            tmp_path / "bw" / "clean" / f"{name}.png", (page.clean >= 0.5).astype(np.float32)
        )
    made: list = []
    real = trainer._synthetic_pairs

    def spy(config, reporter, historical):  # type: ignore[no-untyped-def]
        made.extend(real(config, reporter, historical))
        return made

    monkeypatch.setattr(trainer, "_synthetic_pairs", spy)
    config = quick(tmp_path, "m", loss="bce", synthetic=1, synthetic_undamaged=1,
                   synthetic_size="64x64", steps=4, eval_every=2, val_names=["page2"])  # fmt: skip
    card = train(tmp_path / "bw" / "noisy", tmp_path / "bw" / "clean", config, Reporter(quiet=True))
    assert card["output_kind"] == "bilevel" and "val_fm" in card["training"]["history"]
    assert card["training"]["kept_because"].startswith("best validation FM")
    assert len(made) == 2 and all(is_bilevel(p.clean) for p in made)
    assert synth.DEGRADATIONS  # the registry the historical pairs draw from


def load_pairs_by_name(pair_dir: Path, name: str):  # type: ignore[no-untyped-def]
    from docclean.training.data import find_pairs, load_pairs

    pairs, _ = load_pairs([p for p in find_pairs(pair_dir / "noisy", pair_dir / "clean")[0]
                           if p.name == name])  # fmt: skip
    return pairs[0]


def test_validation_names_can_be_prefixes() -> None:
    """--val '2016*' holds out every page whose name starts with 2016 (a year of DIBCO, say)."""
    from docclean.errors import DataError
    from docclean.training.data import PairPaths, split_validation

    names = ["2014-a", "2016-a", "2016-b", "2016x"]
    pairs = [PairPaths(n, Path(n), Path(n)) for n in names]
    train_, val = split_validation(pairs, val_names=["2016-*", "2014-a"])
    assert [p.name for p in val] == ["2014-a", "2016-a", "2016-b"]
    assert [p.name for p in train_] == ["2016x"]
    with pytest.raises(DataError, match="2017\\*"):
        split_validation(pairs, val_names=["2017*"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-o", "m", "--noisy", "DATA/noisy"], 2, "--clean DIR"),
        (["DATA", "-o", "m", "--noisy", "DATA/noisy"], 2, "not both"),
        (["DATA", "-o", "m", "--val-fraction", "2"], 2, "--val-fraction"),
        (["DATA", "-o", "/proc/nope/m"], 5, "/proc/nope"),
        (["DATA", "-o", "m", "--steps", "0"], 2, "--steps"),
        (["DATA", "-o", "m", "--ema", "1"], 2, "--ema"),
        (["DATA", "-o", "m", "--decision-level", "1.5"], 2, "--decision-level must be auto or"),
        (["DATA", "-o", "m", "--decision-level", "high"], 2, "--decision-level must be auto or"),
        (["DATA", "-o", "m", "--synthetic-share", "0.5"], 2, "--synthetic"),
    ],
)
def test_bad_train_options_fail_before_training(
    tmp_path: Path, pair_dir: Path, args: list[str], code: int, message: str
) -> None:
    """Usage errors exit 2 and an output that cannot be written exits 5, before any training
    (TensorFlow is not even loaded by then, so these are quick)."""
    from typer.testing import CliRunner

    from docclean.cli.main import app

    os.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", *[a.replace("DATA", str(pair_dir)) for a in args]])
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "m.keras").exists()
