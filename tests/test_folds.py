"""benchmarks/folds.py: which pages each fold trains and scores on, staged as symlinks (no training)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_bench, write_gray


@pytest.fixture(scope="module")
def folds() -> ModuleType:
    return load_bench("folds.py")


def _pair(root: Path, name: str, ink: float = 0.0) -> None:
    page = np.ones((24, 32), np.float32)
    page[8:16, 4:28] = ink
    write_gray(root / "imgs" / f"{name}.png", np.clip(page * 0.8 + 0.1, 0, 1))
    write_gray(root / "gt" / f"{name}.png", page)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tree shaped like ../shared/data: 2 DIBCO years, 2 extra sets, NoisyOffice."""
    root = tmp_path_factory.mktemp("data")
    for name in ("2009-H01", "2009-P01"):
        _pair(root / "dibco" / "2009", name)
    for name in ("2010-H01", "2010-H02", "2010-H03"):
        _pair(root / "dibco" / "2010", name)
    write_gray(root / "dibco" / "2010" / "imgs" / "2010-H04.png", np.ones((4, 4)))  # no gt
    _pair(root / "more-binarization" / "bickley", "bickley-H01")
    for name in ("phibd-H01", "phibd-H02"):
        _pair(root / "more-binarization" / "phibd", name)
    (root / "dibco" / "SOURCE.md").parent.mkdir(parents=True, exist_ok=True)
    (root / "dibco" / "SOURCE.md").write_text("not a year\n")
    office = root / "noisyoffice"
    rows = ["id,partition,font,noise,clean_group"]
    for i, split in enumerate(["TR", "VA", "TR", "VA", "TR"], start=2):
        rows.append(f"{i},{split},Fontfre,coffee,Fontfre_Clean_{split}")
        page = np.full((10, 12), 0.9, np.float32)
        write_gray(office / "train" / f"{i}.png", page * 0.8)
        write_gray(office / "train_cleaned" / f"{i}.png", page)
    (office / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def _names(pairs: tuple) -> list[str]:
    return sorted(p.name for p in pairs)


def test_binarization_folds_leave_one_set_out(folds: ModuleType, data: Path) -> None:
    plan = folds.plan_folds(data, "binarization")
    assert [f.name for f in plan] == ["dibco-2009", "dibco-2010", "bickley", "phibd"]
    everything = {"2009-H01", "2009-P01", "2010-H01", "2010-H02", "2010-H03", "bickley-H01",
                  "phibd-H01", "phibd-H02"}  # fmt: skip
    by_name = {f.name: f for f in plan}
    assert _names(by_name["dibco-2010"].test) == ["2010-H01", "2010-H02", "2010-H03"]  # not H04
    assert _names(by_name["bickley"].test) == ["bickley-H01"]
    for fold in plan:
        train, test = set(_names(fold.train)), set(_names(fold.test))
        assert not train & test
        assert train | test == everything
        assert {p.group for p in fold.test} == {fold.name}
    # every page is held out exactly once
    held = [p.name for f in plan for p in f.test]
    assert sorted(held) == sorted(everything)


def test_office_folds_go_both_ways(folds: ModuleType, data: Path) -> None:
    plan = folds.plan_folds(data, "office")
    assert [f.name for f in plan] == ["noisyoffice-TR-VA", "noisyoffice-VA-TR"]
    tr_va, va_tr = plan
    assert _names(tr_va.train) == ["2", "4", "6"] and _names(tr_va.test) == ["3", "5"]
    assert _names(va_tr.train) == ["3", "5"] and _names(va_tr.test) == ["2", "4", "6"]


def test_missing_data_gives_no_folds(folds: ModuleType, tmp_path: Path) -> None:
    assert folds.plan_folds(tmp_path, "binarization") == []
    assert folds.plan_folds(tmp_path, "office") == []
    with pytest.raises(ValueError, match="unknown task"):
        folds.plan_folds(tmp_path, "ocr")


def test_staging_links_each_part_and_replaces_old_links(
    folds: ModuleType, data: Path, tmp_path: Path
) -> None:
    plan = {f.name: f for f in folds.plan_folds(data, "binarization")}
    train_dir, test_dir = folds.stage(plan["phibd"], tmp_path)
    assert train_dir == tmp_path / "phibd" / "train"
    assert sorted(p.name for p in (test_dir / "noisy").iterdir()) == [
        "phibd-H01.png",
        "phibd-H02.png",
    ]
    linked = test_dir / "clean" / "phibd-H01.png"
    assert linked.is_symlink()
    assert linked.resolve() == (data / "more-binarization/phibd/gt/phibd-H01.png").resolve()
    assert len(list((train_dir / "clean").iterdir())) == 6
    # a second staging of another fold under the same name keeps no stale link
    smaller = folds.Fold("phibd", "binarization", plan["bickley"].train[:1], plan["bickley"].test)
    folds.stage(smaller, tmp_path)
    assert [p.name for p in (test_dir / "noisy").iterdir()] == ["bickley-H01.png"]
    assert len(list((train_dir / "noisy").iterdir())) == 1


def test_baselines_are_scored_per_fold_and_averaged_over_folds(
    folds: ModuleType, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--baselines-only: Otsu separates the dark bar exactly (FM 100); the mean is over folds."""
    assert folds.main(["--task", "binarization", "--baselines-only", "--data", str(data),
                       "--folds", "bickley,phibd", "--runs", str(tmp_path), "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in report["folds"]] == ["bickley", "phibd"]
    assert [f["test_pages"] for f in report["folds"]] == [1, 2]
    for fold in report["folds"]:
        assert set(fold["scores"]["bilevel"]) == {"no_cleaning", "otsu", "sauvola"}
        assert fold["scores"]["bilevel"]["otsu"]["fm"] == pytest.approx(100.0)
    assert report["mean"]["bilevel"]["otsu"]["fm"] == pytest.approx(100.0)
    assert report["mode"] == "baselines" and report["warnings"] == []
    assert (tmp_path / "scored" / "phibd" / "test" / "noisy" / "phibd-H02.png").is_symlink()


def test_pages_a_model_saw_come_from_its_card(folds: ModuleType, tmp_path: Path) -> None:
    """--model and a recipe's --init-from: the card's training and validation pages, apart."""
    model = tmp_path / "m.keras"
    model.write_bytes(b"")
    training = {"train_pages": ["2009-H01", "bickley-H01"], "validation_pages": ["phibd-H02"]}
    (tmp_path / "m.json").write_text(json.dumps({"training": training}))
    assert folds.card_pages(str(model)) == ({"2009-H01", "bickley-H01"}, {"phibd-H02"})
    (tmp_path / "m.json").write_text(json.dumps({"training": None}))
    assert folds.card_pages(str(model)) == (set(), set())
    assert folds._init_from(["--arch", "fast-unet", "--init-from", "x", "--epochs", "2"]) == "x"
    assert folds._init_from(["--init-from=y"]) == "y"
    assert folds._init_from(["--arch", "fast-unet"]) is None


def test_office_baselines_give_gray_scores_and_pooled_rmse(
    folds: ModuleType, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert folds.main(["--task", "office", "--baselines-only", "--data", str(data),
                       "--runs", str(tmp_path), "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert [f["test_pages"] for f in report["folds"]] == [2, 3]
    left_alone = report["mean"]["gray"]["no_cleaning"]
    # every page: 0.72 on a 0.9 target, stored as 8-bit grays 184 and 230
    assert left_alone["rmse"] == pytest.approx(46 / 255, abs=1e-6)
    assert left_alone["rmse_pooled"] == pytest.approx(46 / 255, abs=1e-6)
    assert "bilevel" not in report["mean"]


def test_the_folds_a_model_never_trained_on_go_into_its_card(
    folds: ModuleType, data: Path, tiny_model: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """--card: each fold the model never trained on, its figures beside the baselines'; a fold
    it was validated on says so; a fold it trained on is left out; a twin is named."""
    from docclean.models.card import read_card

    model = tmp_path / "m.keras"
    shutil.copy(tiny_model, model)
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["training"].update(train_pages=["bickley-H01"], validation_pages=["phibd-H01"])
    model.with_suffix(".json").write_text(json.dumps(card))
    args = ["--task", "binarization", "--model", str(model), "--folds", "dibco-2009,bickley,phibd",
            "--data", str(data), "--runs", str(tmp_path / "runs"), "--json"]  # fmt: skip
    assert folds.main([*args, "--card", str(model)]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {f["name"]: f for f in report["folds"]}
    assert by_name["bickley"]["seen"] == {"m": 1} and by_name["phibd"]["validated"] == {"m": 1}
    written = read_card(model).folds
    assert set(written) == {"dibco-2009", "phibd"}
    for name, fold in written.items():
        scores = by_name[name]["scores"]["bilevel"]
        assert fold.pages == by_name[name]["test_pages"]
        assert fold.model == scores["m"]
        finite = {k: pytest.approx(v, abs=1e-5) for k, v in scores["otsu"].items() if v == v}
        assert fold.scores["otsu"] == finite  # NaN (a perfect page's PSNR) left out
        assert fold.validation_model == "" and "--card" in fold.command
    assert "validation pages" in written["phibd"].data
    assert "validation" not in written["dibco-2009"].data
    assert report["mean_unseen"]["bilevel"]["m"] == by_name["dibco-2009"]["scores"]["bilevel"]["m"]

    shipped = tmp_path / "shipped.keras"  # the twin scored in the place of the model it twins
    shutil.copy(tiny_model, shipped)
    shutil.copy(tiny_model.with_suffix(".json"), shipped.with_suffix(".json"))
    assert folds.record_folds(report, shipped) == ["dibco-2009", "phibd"]
    assert {f.validation_model for f in read_card(shipped).folds.values()} == {"m"}
    assert read_card(shipped).folds_headline().endswith("(2 folds)")


def test_reuse_resumes_a_fold_whose_training_was_interrupted(
    folds: ModuleType, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--reuse: a fold with a trained model is only scored, one with a checkpoint (an interrupted
    run) is trained on with --resume, one with neither is trained from the start."""
    trained: dict[str, list[str]] = {}

    def fake_run(command: list[str], capture: bool = False) -> str:
        fold = Path(command[command.index("-o") + 1]).parent.name
        trained[fold] = command
        return ""

    monkeypatch.setattr(folds, "run", fake_run)
    monkeypatch.setattr(folds, "evaluate", lambda *_: ("m", {"bilevel": {"fm": 1.0}}))
    root = tmp_path / "r"
    (root / "bickley").mkdir(parents=True)
    (root / "bickley" / "model.keras").write_bytes(b"")  # trained
    (root / "phibd" / "model.run").mkdir(parents=True)  # interrupted
    argv = ["--task", "binarization", "--recipe", "--steps 10", "--name", "r", "--reuse",
            "--no-baselines", "--data", str(data), "--runs", str(tmp_path), "--json"]  # fmt: skip
    assert folds.main(argv) == 0
    assert "bickley" not in trained
    assert trained["phibd"][-1] == "--resume"
    assert "--resume" not in trained["dibco-2009"]
