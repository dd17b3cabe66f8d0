"""Long runs with `docclean train`: packs, step runs scored on whole pages, keep-best, EMA, growing,
checkpoints and --resume, divergence, the commands on the card, and the default model's recipe.

The shipped models' later stages were long step runs; these run the same recipes for a few steps
on tiny synthetic pages.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, write_gray
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode, UsageError
from docclean.evaluation.metrics import rmse
from docclean.inference.cleaner import PageCleaner
from docclean.models.store import load_model
from docclean.progress import Reporter
from docclean.training.config import TrainConfig
from docclean.training.data import find_pairs, load_pairs, read_pack
from docclean.training.trainer import train

runner = CliRunner()


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
    """The pairs packed by `docclean train --pack`."""
    path = tmp_path_factory.mktemp("packed") / "pages.npz"
    noisy, clean = pair_dirs
    result = runner.invoke(app, ["train", "--noisy", str(noisy), "--clean", str(clean), "--pack", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def steps(tmp_path: Path, name: str, **changes: object) -> TrainConfig:
    """A short step run of seed-text: 6 steps of 4 patches of 16 px, scored every 2."""
    options: dict = {"arch": "seed-text", "steps": 6, "eval_every": 2, "patch_size": 16,
                     "batch_size": 4, "learning_rate": 3e-3, "schedule": "cosine", "seed": 1}  # fmt: skip
    return TrainConfig(output=tmp_path / name, **{**options, **changes})


def test_packed_pages_are_the_pages_docclean_reads(pair_dirs: tuple[Path, Path], packed: Path):
    arrays = np.load(packed)
    pairs, _ = load_pairs(find_pairs(*pair_dirs)[0])
    assert sorted(arrays.files) == sorted(
        f"{side}/{p.name}" for p in pairs for side in ("noisy", "clean")
    )
    for pair, back in zip(pairs, read_pack(packed), strict=True):
        assert back.name == pair.name
        assert np.abs(back.noisy - pair.noisy).max() <= 0.5 / 255 + 1e-6
        assert np.abs(back.clean - pair.clean).max() <= 0.5 / 255 + 1e-6


def test_a_step_run_keeps_its_best_scored_weights_and_cards_them(
    pair_dirs: tuple[Path, Path], packed: Path, tmp_path: Path
) -> None:
    config = steps(tmp_path, "run", val_names=["p3"], steps=30, eval_every=10, batch_size=8,
                   patch_size=32)  # fmt: skip
    card = train(packed, None, config, Reporter(quiet=True))
    t = card["training"]
    assert t["history"]["step"] == [10, 20, 30] and t["steps_run"] == 30
    assert t["train_pages"] == ["p0", "p1", "p2"] and t["validation_pages"] == ["p3"]
    best = int(np.argmin(t["history"]["val_rmse"]))
    assert t["kept_step"] == t["history"]["step"][best]
    assert t["kept_because"].startswith("best validation RMSE")
    # the card's figure is the kept weights' whole-page score, as `clean` tiles the page
    assert card["validation"]["model"]["rmse"] == pytest.approx(
        t["history"]["val_rmse"][best], abs=2e-5
    )
    loaded = load_model(str(tmp_path / "run.keras"))
    pairs, _ = load_pairs([p for p in find_pairs(*pair_dirs)[0] if p.name == "p3"])
    cleaned = PageCleaner(loaded).clean(pairs[0].noisy)
    assert rmse(cleaned, pairs[0].clean) == pytest.approx(
        card["validation"]["model"]["rmse"], abs=1e-5
    )
    assert rmse(cleaned, pairs[0].clean) < rmse(pairs[0].noisy, pairs[0].clean)
    assert not (tmp_path / "run.run").exists()  # the checkpoints go when the run ends

    last = train(packed, None, steps(tmp_path, "last", val_names=["p3"], keep="last"),
                 Reporter(quiet=True))["training"]  # fmt: skip
    assert last["kept_step"] == 6 and last["kept_because"] == "the last step"
    lr = last["history"]["learning_rate"]  # cosine: warm-up of 1 step, then down to 0 at step 6
    assert lr == sorted(lr, reverse=True) and lr[-1] == 0.0


def test_ema_weights_are_what_is_scored_and_saved(packed: Path, tmp_path: Path) -> None:
    card = train(packed, None, steps(tmp_path, "ema", val_names=["p3"], ema=0.9, keep="last"),
                 Reporter(quiet=True))  # fmt: skip
    history = card["training"]["history"]
    assert "raw_val_rmse" in history and history["val_rmse"] != history["raw_val_rmse"]
    assert card["training"]["ema"] == 0.9
    assert card["validation"]["model"]["rmse"] == pytest.approx(history["val_rmse"][-1], abs=2e-5)


def test_a_tone_unet_grows_into_tone_unet_fine_then_lin(packed: Path, tmp_path: Path) -> None:
    """--arch tone-unet-fine --init-from a tone-unet, at learning rate 0, computes what it started
    from; its output grows once more; each card names the commands of the whole line."""
    reporter = Reporter(quiet=True)
    small = {"patch_size": 32, "batch_size": 2, "steps": 2, "eval_every": 2}
    train(packed, None, steps(tmp_path, "start", arch="tone-unet", **small), reporter)
    fine = train(packed, None, steps(tmp_path, "fine", arch="tone-unet-fine", learning_rate=0.0,
                 init_from=str(tmp_path / "start.keras"), **small), reporter)  # fmt: skip
    assert fine["architecture"] == "tone-unet-fine" and fine["receptive_radius"] == 108
    assert fine["training"]["init_from"]["grown_from"] == "tone-unet"
    lin = train(packed, None, steps(tmp_path, "lin", arch="tone-unet-lin", learning_rate=0.0,
                init_from=str(tmp_path / "fine.keras"), **small), reporter)  # fmt: skip
    assert lin["training"]["init_from"]["grown_from"] == "tone-unet-fine"
    commands = lin["training"]["commands"]
    assert len(commands) == 3 and all(c.startswith("docclean train ") for c in commands)
    assert "--arch tone-unet-fine" in commands[1] and "--arch tone-unet-lin" in commands[2]
    page = read_pack(packed)[0].noisy
    before = PageCleaner(load_model(tmp_path / "start.keras")).clean(page)
    after = PageCleaner(load_model(tmp_path / "lin.keras")).clean(page)
    assert np.abs(after - before).max() < 1e-5
    # a fine-tuning run scores where it started: the same figure, at learning rate 0
    scores = lin["validation"]
    assert scores["started_from"]["rmse"] == pytest.approx(scores["model"]["rmse"], abs=1e-5)


def test_an_interrupted_run_resumes_to_the_uninterrupted_result(
    packed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C leaves a checkpoint (weights, optimizer, EMA, best, step); --resume ends where an
    uninterrupted run ends, and refuses other options."""
    import docclean.training.loop as loop

    options = {
        "val_names": ["p3"],
        "steps": 8,
        "eval_every": 3,
        "ema": 0.9,
        "checkpoint_every": 100,
    }
    whole = train(packed, None, steps(tmp_path / "a", "m", **options), Reporter(quiet=True))

    real_rate, calls = loop._rate, []

    def interrupting_rate(plan, state):  # type: ignore[no-untyped-def]
        calls.append(state.step)
        if state.step == 4:  # Ctrl-C during step 5: it finishes, a checkpoint follows
            os.kill(os.getpid(), signal.SIGINT)
        return real_rate(plan, state)

    monkeypatch.setattr(loop, "_rate", interrupting_rate)
    config = steps(tmp_path / "b", "m", **options)
    with pytest.raises(KeyboardInterrupt):
        train(packed, None, config, Reporter(quiet=True))
    assert calls[-1] == 4 and (tmp_path / "b" / "m.run" / "checkpoint.npz").exists()
    assert not (tmp_path / "b" / "m.keras").exists()
    monkeypatch.setattr(loop, "_rate", real_rate)

    with pytest.raises(UsageError, match="--resume"):  # a checkpoint is not overwritten silently
        train(packed, None, config, Reporter(quiet=True))
    with pytest.raises(UsageError, match="learning_rate"):
        train(packed, None, steps(tmp_path / "b", "m", resume=True, learning_rate=1e-3, **options),
              Reporter(quiet=True))  # fmt: skip
    resumed = train(packed, None, steps(tmp_path / "b", "m", resume=True, **options),
                    Reporter(quiet=True))  # fmt: skip
    assert resumed["training"]["resumed_at_steps"] == [5]
    a, b = whole["training"]["history"], resumed["training"]["history"]
    assert a["step"] == b["step"] == [3, 6, 8]
    np.testing.assert_allclose(a["val_rmse"], b["val_rmse"], atol=1e-5)
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-4)
    first = load_model(tmp_path / "a" / "m.keras").model.get_weights()
    again = load_model(tmp_path / "b" / "m.keras").model.get_weights()
    for x, y in zip(first, again, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-5)
    assert not (tmp_path / "b" / "m.run").exists()


def test_a_diverging_run_stops_writes_nothing_and_exits_4(
    pair_dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docclean.training.losses as losses

    real = losses.get_loss

    def nan_after_two_steps(name: str):  # type: ignore[no-untyped-def]
        import keras

        base, counter = real(name), keras.Variable(0.0, trainable=False)

        def loss(y_true, y_pred):  # type: ignore[no-untyped-def]
            counter.assign_add(1.0)
            blow_up = keras.ops.where(counter > 2.0, float("nan"), 0.0)
            return base(y_true, y_pred) + blow_up

        return loss

    monkeypatch.setattr(losses, "get_loss", nan_after_two_steps)
    out = tmp_path / "m"
    noisy, clean = pair_dirs
    result = runner.invoke(app, ["train", "--noisy", str(noisy), "--clean", str(clean), "-o", str(out),
                                 "--arch", "seed-text", "--steps", "5", "--patch-size", "16",
                                 "--batch-size", "4", "--checkpoint-every", "1"])  # fmt: skip
    assert result.exit_code == ExitCode.DATA, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "diverged" in errors[0] and "step 3" in errors[0]
    assert "lower --learning-rate" in errors[0]
    assert not list(tmp_path.iterdir())  # no model, no card, no checkpoint


def test_the_card_records_the_command_line_and_a_fine_tune_prints_both_figures(
    pair_dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noisy, clean = pair_dirs
    first = ["train", "--noisy", str(noisy), "--clean", str(clean), "-o", str(tmp_path / "a b"),
             "--arch", "seed-text", "--steps", "4", "--eval-every", "2", "--patch-size", "16",
             "--batch-size", "4", "--val", "p3", "--description", "two words"]  # fmt: skip
    monkeypatch.setattr("sys.argv", ["/usr/bin/docclean", *first])
    assert runner.invoke(app, first).exit_code == 0
    card = json.loads((tmp_path / "a b.json").read_text())
    assert card["training"]["commands"] == [shlex.join(["docclean", *first])]

    second = ["train", "--noisy", str(noisy), "--clean", str(clean), "-o", str(tmp_path / "c"),
              "--init-from", str(tmp_path / "a b.keras"), "--steps", "4", "--patch-size", "16",
              "--batch-size", "4", "--val", "p3", "--learning-rate", "3e-3"]  # fmt: skip
    monkeypatch.setattr("sys.argv", ["docclean", *second])
    result = runner.invoke(app, second)
    assert result.exit_code == 0, result.output
    tuned = json.loads((tmp_path / "c.json").read_text())
    assert tuned["training"]["commands"] == [shlex.join(["docclean", *first]),
                                             shlex.join(["docclean", *second])]  # fmt: skip
    before, now = tuned["validation"]["started_from"]["rmse"], tuned["validation"]["model"]["rmse"]
    assert f"started from: RMSE {before:.5f}; now: RMSE {now:.5f}" in result.stderr
    # the first command, run again, makes the same model (to within float noise)
    rerun = [a if a != str(tmp_path / "a b") else str(tmp_path / "again") for a in first]
    assert runner.invoke(app, rerun).exit_code == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["validation"]["model"]["rmse"] == pytest.approx(
        card["validation"]["model"]["rmse"], abs=1e-5
    )


def docclean_train_args(command: str) -> list[str]:
    """``docclean train`` arguments for a card's command: as written when it is one; a command of
    the accelerator script that made the older stages translated flag by flag (its defaults: batch
    32, patches of 256, cosine decay with 200 warm-up steps)."""
    words = shlex.split(command)
    if words[:2] == ["docclean", "train"]:
        return words[2:]
    renamed = {"--init": "--init-from", "--lr": "--learning-rate", "--batch": "--batch-size",
               "--patch": "--patch-size", "--out": "-o", "--synthetic-count": "--synthetic"}  # fmt: skip
    args = ["--schedule", "cosine", "--batch-size", "32", "--patch-size", "256", "--warmup", "200"]
    flags = words[words.index("--data") :] if "--data" in words else words
    pairs = iter(flags)
    for flag in pairs:
        value = next(pairs)
        if flag == "--data":
            args.insert(0, value)
        elif flag != "--synthetic":  # a pack of rendered pages: docclean renders its own
            args += [renamed.get(flag, flag), value]
    return args


BARE_FLAGS = ("--resume", "--overwrite", "--skip-bad-pairs", "--json")


def tiny_version(args: list[str], pages: Path, out: Path, fallback_start: str) -> list[str]:
    """`docclean train` arguments made tiny: the pages, length, synthetic pages and output swapped,
    validated on page0; a starting model not found here replaced by ``fallback_start``."""
    tiny = {"--steps": "2", "--eval-every": "1", "--synthetic": "1", "--synthetic-undamaged": "1",
            "--synthetic-size": "128x128", "-o": str(out), "--output": str(out)}  # fmt: skip
    swapped: list[str] = []
    words = iter(args)
    for word in words:
        if not word.startswith("-"):  # the data: tiny pages instead
            continue
        value = None if word in BARE_FLAGS else next(words)
        if word in ("--val", "--val-fraction", "--noisy", "--clean"):
            continue
        if word == "--init-from" and value and not Path(value).exists():
            value = str(Path(__file__).resolve().parents[1] / value)  # relative to the checkout
            if not Path(value).exists():  # a run's output kept elsewhere
                value = fallback_start
        swapped += [word] + ([tiny.get(word, value)] if value is not None else [])
    return ["train", str(pages), *swapped, "--val", "page0"]


def test_tiny_version_keeps_the_recipe_and_swaps_the_rest(tmp_path: Path) -> None:
    command = ("docclean train --noisy /d/train --clean /d/train_cleaned --val-fraction 0 --arch "
               "tone-unet-lin --init-from runs/x.keras --steps 4000 --eval-every 1000 --synthetic 120 "
               "--synthetic-dpi 150-600 --synthetic-size 1024x1024 --synthetic-share 0.6 --ema 0.999 "
               "--overwrite -o runs/new")  # fmt: skip
    args = tiny_version(docclean_train_args(command), Path("/p"), tmp_path / "m", "START")
    assert args == ["train", "/p", "--arch", "tone-unet-lin", "--init-from", "START", "--steps", "2",
                    "--eval-every", "1", "--synthetic", "1", "--synthetic-dpi", "150-600",
                    "--synthetic-size", "128x128", "--synthetic-share", "0.6", "--ema", "0.999",
                    "--overwrite", "-o", str(tmp_path / "m"), "--val", "page0"]  # fmt: skip


@pytest.mark.parametrize(
    "shipped", ["office-tone-unet", "noisyoffice-tone-unet", "dibco-fast-unet"]
)
def test_a_shipped_models_recipe_runs_from_its_card(
    shipped: str, pair_dir: Path, tmp_path: Path
) -> None:
    """A shipped model's last command, its data, length and output swapped for tiny ones."""
    from docclean.models.store import resolve_model

    card = load_model(shipped).card
    assert card.training is not None and card.training.commands
    args = docclean_train_args(card.training.commands[-1])
    assert "-o" in args or "--output" in args
    command = tiny_version(args, pair_dir, tmp_path / "m", str(resolve_model(shipped)))
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    made = json.loads((tmp_path / "m.json").read_text())
    assert made["architecture"] == card.architecture
    assert made["training"]["steps_run"] == 2


MIRRORED = """
import sys
from pathlib import Path
from docclean.backend import tensorflow
tf = tensorflow("cpu")
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import docclean.training.distribute as distribute
distribute.training_strategy = lambda tf=None: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
from docclean.progress import Reporter
from docclean.training.config import TrainConfig
from docclean.training.trainer import train
pack, out = Path(sys.argv[1]), Path(sys.argv[2])
small = dict(steps=4, eval_every=2, patch_size=16, batch_size=4, val_names=["p3"])
first = train(pack, None, TrainConfig(output=out / "m", arch="seed-text", ema=0.9, **small), Reporter(quiet=True))
tuned = train(pack, None, TrainConfig(output=out / "t", init_from=str(out / "m.keras"), **small), Reporter(quiet=True))
print(first["training"]["replicas"], first["validation"]["model"]["rmse"], tuned["validation"]["started_from"]["rmse"])
"""


def test_two_replicas_train_and_fine_tune_under_a_mirrored_strategy(
    packed: Path, tmp_path: Path
) -> None:
    """The path for two or more GPUs, on two logical CPUs: built, compiled and trained in the
    strategy's scope; a fine-tune starts from a copy made there, scoring what it started from."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", MIRRORED, str(packed), str(tmp_path)],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    replicas, first, started_from = result.stdout.split()
    assert replicas == "2" and float(first) == pytest.approx(float(started_from), abs=1e-5)
