"""The accelerator recipe end to end, on the CPU and with TensorFlow: pack, train, card, load.

``bench/pack_pages.py`` packs page pairs, ``bench/train_long.py`` trains on them with any Keras
backend and ``bench/card_from_run.py`` turns the run into a docclean model whose card's validation
figure is measured by docclean itself. The shipped models' last stage went through these three.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import BENCH, clean_page, dirty, run_bench, write_gray

from docclean.evaluation.metrics import rmse
from docclean.inference.cleaner import PageCleaner
from docclean.models.store import load_model
from docclean.training.data import find_pairs, load_pairs


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(5)
    for k in range(4):
        page = clean_page(96, 128, rng)
        write_gray(root / "noisy" / f"p{k}.png", dirty(page, rng))
        write_gray(root / "clean" / f"p{k}.png", page)
    return root / "noisy", root / "clean"


@pytest.fixture(scope="module")
def packed(pair_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pairs packed by bench/pack_pages.py, as train_long.py reads them."""
    path = tmp_path_factory.mktemp("packed") / "pages.npz"
    run_bench("pack_pages.py", "pairs", str(pair_dirs[0]), str(pair_dirs[1]), str(path))
    return path


def test_packed_pages_are_the_pages_docclean_reads(pair_dirs: tuple[Path, Path], packed: Path):
    arrays = np.load(packed)
    pairs, _ = load_pairs(find_pairs(*pair_dirs)[0])
    assert sorted(arrays.files) == sorted(
        f"{side}/{p.name}" for p in pairs for side in ("noisy", "clean")
    )
    for pair in pairs:
        assert np.abs(arrays[f"noisy/{pair.name}"] / 255 - pair.noisy).max() <= 0.5 / 255 + 1e-6
        assert np.abs(arrays[f"clean/{pair.name}"] / 255 - pair.clean).max() <= 0.5 / 255 + 1e-6


def test_a_long_run_becomes_a_docclean_model_with_a_measured_card(
    pair_dirs: tuple[Path, Path], packed: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run.keras"
    log = run_bench(
        "train_long.py", "--data", str(packed), "--val", "p3", "--arch", "tone-unet",
        "--steps", "30", "--eval-every", "10", "--batch", "4", "--patch", "64",
        "--lr", "3e-3", "--warmup", "5", "--out", str(run),
    )  # fmt: skip
    rows = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert [r["step"] for r in rows] == [10, 20, 30]
    summary = json.loads(run.with_suffix(".json").read_text())
    assert summary["steps"] == 30
    assert summary["train_pages"] == ["p0", "p1", "p2"] and summary["validation_pages"] == ["p3"]
    best = min(rows, key=lambda r: r["rmse"])
    assert summary["best"]["step"] == best["step"]
    assert (tmp_path / "run-last.keras").exists()

    output = tmp_path / "model"
    run_bench(
        "card_from_run.py", str(run), str(output), "--noisy", str(pair_dirs[0]),
        "--clean", str(pair_dirs[1]), "--description", "test run",
    )  # fmt: skip
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["architecture"] == "tone-unet" and card["output_kind"] == "grayscale"
    assert card["training"]["steps_run"] == 30
    assert card["training"]["kept_step"] == best["step"]
    assert card["training"]["validation_pages"] == ["p3"]
    # the card's figure is docclean's own whole-page score, the run's best checkpoint's figure
    assert card["validation"]["model"]["rmse"] == pytest.approx(best["rmse"], abs=2e-4)

    loaded = load_model(str(output.with_suffix(".keras")))
    pairs, _ = load_pairs([p for p in find_pairs(*pair_dirs)[0] if p.name == "p3"])
    cleaned = PageCleaner(loaded).clean(pairs[0].noisy)
    assert rmse(cleaned, pairs[0].clean) == pytest.approx(
        card["validation"]["model"]["rmse"], abs=1e-5
    )
    assert rmse(cleaned, pairs[0].clean) < rmse(pairs[0].noisy, pairs[0].clean)


def test_a_long_run_grows_a_tone_unet_into_tone_unet_fine_then_lin(
    pair_dirs: tuple[Path, Path], packed: Path, tmp_path: Path
) -> None:
    """--arch tone-unet-fine --init a tone-unet, at learning rate 0, computes what it started from."""
    from docclean.models.architectures import get_architecture
    from docclean.models.store import save_model

    start = tmp_path / "start.keras"
    save_model(get_architecture("tone-unet").build(), start, {"architecture": "tone-unet"})
    run = tmp_path / "grown.keras"
    run_bench(
        "train_long.py", "--data", str(packed), "--arch", "tone-unet-fine", "--init", str(start),
        "--steps", "2", "--batch", "2", "--patch", "64", "--lr", "0", "--out", str(run),
    )  # fmt: skip
    output = tmp_path / "model"
    run_bench(
        "card_from_run.py", str(run), str(output), "--noisy", str(pair_dirs[0]),
        "--clean", str(pair_dirs[1]),
    )  # fmt: skip
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["architecture"] == "tone-unet-fine" and card["receptive_radius"] == 108
    assert card["training"]["init_from"]["grown_from"] == "tone-unet"
    pairs, _ = load_pairs(find_pairs(*pair_dirs)[0][:1])
    grown = PageCleaner(load_model(str(output.with_suffix(".keras")))).clean(pairs[0].noisy)
    before = PageCleaner(load_model(str(start))).clean(pairs[0].noisy)
    assert np.abs(grown - before).max() < 1e-6

    # a run's own output (which carries its loss) starts the next run, grown once more
    again = tmp_path / "lin.keras"
    run_bench(
        "train_long.py", "--data", str(packed), "--arch", "tone-unet-lin", "--init", str(run),
        "--steps", "2", "--batch", "2", "--patch", "64", "--lr", "0", "--out", str(again),
    )  # fmt: skip
    run_bench(
        "card_from_run.py", str(again), str(tmp_path / "lin"), "--noisy", str(pair_dirs[0]),
        "--clean", str(pair_dirs[1]),
    )  # fmt: skip
    card = json.loads((tmp_path / "lin.json").read_text())
    assert card["architecture"] == "tone-unet-lin"
    assert card["training"]["init_from"]["grown_from"] == "tone-unet-fine"
    assert "--arch tone-unet-fine" in card["training"]["init_from"]["name"]  # the run it came from
    lin = PageCleaner(load_model(str(tmp_path / "lin.keras"))).clean(pairs[0].noisy)
    assert np.abs(lin - grown).max() < 1e-6


def test_the_synthetic_pool_can_hold_undamaged_pages(tmp_path: Path) -> None:
    """--synthetic-undamaged adds rendered pages paired with themselves to the damaged ones."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_long", BENCH / "train_long.py")
    assert spec and spec.loader
    train_long = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_long)
    rng = np.random.default_rng(3)
    pages = np.stack([(clean_page(96, 128, rng) * 255).round().astype(np.uint8) for _ in range(3)])
    path = tmp_path / "rendered.npz"
    np.savez(path, pages=pages)

    pool = train_long.synthetic_pool(path, 4, seed=0, exclude=[], undamaged=2)
    assert len(pool) == 6
    for pair in pool[:4]:  # damaged: every kind changes some pixels
        assert np.abs(pair.noisy - pair.clean).max() > 0.05
    for pair, source in zip(pool[4:], (pages[2], pages[1]), strict=True):
        assert pair.name.startswith("undamaged-")
        np.testing.assert_array_equal(pair.noisy, pair.clean)
        np.testing.assert_allclose(pair.clean, source / 255, atol=1e-6)
