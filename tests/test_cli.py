"""The command line: cleaning folders, outputs, resume, bad input, exit codes, JSON, evaluate, train."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ZOO, clean_page, dirty, write_gray
from PIL import Image
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode
from docclean.io.images import read_image, read_pages

runner = CliRunner()


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """Two nested pages with DPI, and a 3-page TIFF."""
    rng = np.random.default_rng(11)
    root = tmp_path / "scans"
    write_gray(root / "a.png", dirty(clean_page(60, 80, rng), rng), dpi=300)
    write_gray(root / "deeper" / "b.jpg", dirty(clean_page(50, 90, rng), rng), dpi=150)
    frames = [
        Image.fromarray((dirty(clean_page(40 + 10 * k, 70, rng), rng) * 255).astype(np.uint8))
        for k in range(3)
    ]
    frames[0].save(root / "multi.tif", save_all=True, append_images=frames[1:], dpi=(200, 200))
    return root


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_clean_mirrors_the_tree_keeps_dpi_and_pages(
    scans: Path, tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "out"
    result = run("clean", str(scans), "-o", str(out), "--model", str(tiny_model), "--json")
    assert result.exit_code == ExitCode.OK, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.png",
        "deeper/b.png",
        "multi.tif",
    ]
    a = read_image(out / "a.png")
    assert a.dpi == (300.0, 300.0) and a.pixels.shape == (60, 80)
    assert read_image(out / "deeper" / "b.png").dpi == (150.0, 150.0)
    pages = list(read_pages(out / "multi.tif"))
    assert [p.pixels.shape for p in pages] == [(40, 70), (50, 70), (60, 70)]
    assert all(p.dpi == (200.0, 200.0) for p in pages)
    rows = records(result.stdout)
    assert len(rows) == 5 and {r["status"] for r in rows} == {"done"}
    assert set(rows[0]) == {
        "input",
        "output",
        "page",
        "width",
        "height",
        "dpi",
        "seconds",
        "status",
        "error",
    }
    assert [r["page"] for r in rows if r["input"].endswith("multi.tif")] == [0, 1, 2]


def test_rerun_skips_finished_outputs_unless_overwrite(
    scans: Path, tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "out"
    assert run("clean", str(scans), "-o", str(out), "--model", str(tiny_model)).exit_code == 0
    stamp = (out / "a.png").stat().st_mtime_ns
    (out / "deeper" / "b.png").unlink()  # as if the first run was interrupted there
    again = run("clean", str(scans), "-o", str(out), "--model", str(tiny_model), "--json")
    assert again.exit_code == 0
    status = {Path(r["input"]).name: r["status"] for r in records(again.stdout)}
    assert status == {"a.png": "skipped", "b.jpg": "done", "multi.tif": "skipped"}
    assert (out / "a.png").stat().st_mtime_ns == stamp
    forced = run(
        "clean", str(scans), "-o", str(out), "--model", str(tiny_model), "--overwrite", "--json"
    )
    assert {r["status"] for r in records(forced.stdout)} == {"done"}


def test_bad_files_are_named_and_the_rest_cleaned(
    scans: Path, tmp_path: Path, tiny_model: Path
) -> None:
    (scans / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (scans / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    result = run(
        "clean",
        str(scans),
        str(tmp_path / "missing.png"),
        "-o",
        str(out),
        "--model",
        str(tiny_model),
        "--json",
    )
    assert result.exit_code == ExitCode.INPUT_FAILED
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert any("broken.png" in e for e in errors) and any("empty.jpg" in e for e in errors)
    assert any("missing.png" in e and "not found" in e for e in errors)
    assert "Traceback" not in result.output
    assert (out / "a.png").is_file() and (out / "multi.tif").is_file()
    failed = [r for r in records(result.stdout) if r["status"] == "failed"]
    assert len(failed) == 3 and all(r["error"] for r in failed)


def test_inputs_are_never_written(scans: Path, tiny_model: Path) -> None:
    before = {p: p.read_bytes() for p in scans.rglob("*") if p.is_file()}
    result = run("clean", str(scans), "-o", str(scans), "--model", str(tiny_model), "--overwrite")
    assert result.exit_code == ExitCode.OUTPUT
    assert "is the input folder" in result.stderr
    one = run(
        "clean", str(scans / "a.png"), "-o", str(scans), "--model", str(tiny_model), "--overwrite"
    )
    assert one.exit_code == ExitCode.INPUT_FAILED
    assert "is an input file" in one.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert not [p for p in scans.rglob("*") if p.name.endswith(".part")]


def test_output_folder_inside_the_input_is_not_cleaned_again(scans: Path, tiny_model: Path) -> None:
    out = scans / "cleaned"
    assert run("clean", str(scans), "-o", str(out), "--model", str(tiny_model)).exit_code == 0
    again = run("clean", str(scans), "-o", str(out), "--model", str(tiny_model), "--json")
    assert again.exit_code == 0
    assert not [r for r in records(again.stdout) if "cleaned" in Path(r["input"]).parts]
    assert not (out / "cleaned").exists()


def test_paths_from_stdin(scans: Path, tmp_path: Path, tiny_model: Path) -> None:
    listing = f"{scans / 'a.png'}\n\n{scans / 'deeper' / 'b.jpg'}\n"
    result = run("clean", "-", "-o", str(tmp_path / "o"), "--model", str(tiny_model), input=listing)
    assert result.exit_code == 0, result.output
    written = sorted(
        p.relative_to(tmp_path / "o").as_posix() for p in (tmp_path / "o").rglob("*.*")
    )
    assert written == ["a.png", "deeper/b.png"]  # listed paths keep their folders


def test_tiff_output_on_request(scans: Path, tmp_path: Path, tiny_model: Path) -> None:
    result = run(
        "clean",
        str(scans / "a.png"),
        "-o",
        str(tmp_path / "o"),
        "--format",
        "tiff",
        "--model",
        str(tiny_model),
    )
    assert result.exit_code == 0
    assert read_image(tmp_path / "o" / "a.tif").dpi == (300.0, 300.0)


def test_cleaning_makes_synthetic_pages_better(
    tmp_path: Path, tiny_model: Path, pair_dir: Path
) -> None:
    pairs = ["--noisy", str(pair_dir / "noisy"), "--clean", str(pair_dir / "clean")]
    result = run("evaluate", *pairs, "--model", str(tiny_model), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["pages"]) == 8 and report["failed"] == []
    mean = report["mean"]["gray"]
    assert mean["tiny"]["rmse"] < mean["no_cleaning"]["rmse"]
    table = run("evaluate", *pairs, "--model", str(tiny_model))
    assert "mean" in table.stdout and "RMSE" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["clean", "x.png", "-o", "o", "--model", "nope"], ExitCode.MODEL, "no model 'nope'"),
        (["clean", "x.png"], ExitCode.USAGE, "--output"),
        (["clean", "x.png", "-o", "o", "--device", "tpu"], ExitCode.USAGE, "tpu"),
        (
            ["train", "-o", "m", "--noisy", "nowhere", "--clean", "nowhere"],
            ExitCode.DATA,
            "not a folder",
        ),
        (
            ["clean", "-o", "o", "--tile-size", "17", "--model", "MODEL", "x.png"],
            ExitCode.USAGE,
            "multiples",
        ),
    ],
)
def test_exit_codes_and_messages(
    tmp_path: Path, tiny_model: Path, args: list[str], code: int, message: str
) -> None:
    os.chdir(tmp_path)
    write_gray(tmp_path / "x.png", np.ones((8, 8), np.float32))  # inputs are checked first
    result = run(*[str(tiny_model) if a == "MODEL" else a for a in args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("command", "default"),
    [("clean", "[default: the model's]"), ("train", "[default: tone-unet]"),
     ("evaluate", "[default: office model]")],
)  # fmt: skip
def test_help_shows_the_defaults_it_describes(command: str, default: str) -> None:
    """Rich reads a bare [default: ...] as a markup tag and drops it: the help must escape it."""
    wide = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}
    result = runner.invoke(app, [command, "--help"], env=wide)
    assert result.exit_code == 0, result.output
    assert default in result.output


@pytest.mark.parametrize(
    "command", [[], ["clean"], ["train"], ["evaluate"], ["models"], ["architectures"], ["synth"]]
)
def test_flags_show_no_type_in_help(command: list[str]) -> None:
    """A flag takes no value: its help line shows no ``<bool>``, while options with values keep
    their type (typer 0.29's rich help printed ``<bool>`` beside every flag, --help included)."""
    wide = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}
    result = runner.invoke(app, [*command, "--help"], env=wide)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output and "<bool>" not in result.output
    if command in (["clean"], ["evaluate"], ["train"]):
        assert re.search(r"--tile-size +<int|--epochs +<int", result.output), result.output


def test_asking_for_a_missing_gpu_is_a_usage_error(tmp_path: Path, tiny_model: Path) -> None:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    write_gray(tmp_path / "x.png", np.ones((8, 8), np.float32))
    result = run(
        "clean",
        str(tmp_path / "x.png"),
        "-o",
        str(tmp_path / "o"),
        "--model",
        str(tiny_model),
        "--device",
        "gpu",
    )
    assert result.exit_code == ExitCode.USAGE
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sees no GPU" in lines[0], result.stderr
    # docclean is on no package index: the hint names what pip can really install
    assert "docclean[gpu]" not in lines[0] and "'tensorflow[and-cuda]'" in lines[0]
    assert "pip install '.[gpu]'" in lines[0]


def test_train_command_writes_model_and_refuses_overwrite(tmp_path: Path, pair_dir: Path) -> None:
    args = [
        "train",
        str(pair_dir),
        "-o",
        str(tmp_path / "m"),
        "--epochs",
        "1",
        "--steps-per-epoch",
        "3",
        "--arch",
        "seed-text",
        "--patch-size",
        "16",
        "--val",
        "page0,page1",
        "--json",
    ]
    result = run(*args)
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["training"]["validation_pages"] == ["page0", "page1"]
    assert (tmp_path / "m.keras").is_file()
    again = run(*args)
    assert again.exit_code == ExitCode.OUTPUT and "--overwrite" in again.output


def test_real_process_cleans_and_help_stays_light(
    scans: Path, tmp_path: Path, tiny_model: Path
) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "docclean",
            "clean",
            str(scans / "a.png"),
            "-o",
            str(tmp_path / "o"),
            "--model",
            str(tiny_model),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "done"
    assert (tmp_path / "o" / "a.png").is_file()
    probe = "import sys, docclean.cli.main; docclean.cli.main.app(['--help'], standalone_mode=False); print('tensorflow' in sys.modules)"
    light = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    )
    assert light.stdout.strip().endswith("False")


@pytest.mark.parametrize(("asked", "expected"), [(None, "True"), ("1", "True"), ("0", "False")])
def test_onednn_kernels_on_unless_the_user_turns_them_off(asked: str | None, expected: str) -> None:
    """TensorFlow uses oneDNN's CPU kernels on most CPUs only when asked (1.3x the default's
    speed on an AMD EPYC); importing docclean asks, and a user's TF_ENABLE_ONEDNN_OPTS=0 wins."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if asked is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = asked
    probe = (
        "import docclean.models.store; "
        "from tensorflow.python.util import _pywrap_util_port as port; print(port.IsMklEnabled())"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == expected


def test_tensorflow_log_lines_stay_off_stderr_unless_asked_for(scans: Path, tmp_path: Path) -> None:
    """The shipped default's graph makes TensorFlow's optimizer log an error it recovers from
    ("remapper failed"), and scoring six models makes it warn of "retracing" (one trace each);
    users see only docclean's own lines, DOCCLEAN_TF_LOGS=1 shows the rest."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DOCCLEAN_TF_LOGS")
    }

    def stderr_of(*args: str, **extra: str) -> str:
        command = [sys.executable, "-m", "docclean", *args]
        done = subprocess.run(
            command, capture_output=True, text=True, env={**env, **extra}, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    tf_line = re.compile(r"^([IWEF]\d{4} |WARNING:tensorflow)", re.MULTILINE)  # C++ (absl), Python
    quiet = stderr_of("clean", str(scans / "a.png"), "-o", str(tmp_path / "quiet"))
    assert not tf_line.search(quiet), quiet
    assert "done 1, skipped 0" in quiet
    rng = np.random.default_rng(3)
    page = clean_page(64, 96, rng)
    write_gray(tmp_path / "noisy" / "p.png", dirty(page, rng))
    write_gray(tmp_path / "clean" / "p.png", page)
    models = [f"--model={ZOO}/office-tone-unet-tr-{x}.keras" for x in "abdefg"]
    pairs = ["--noisy", str(tmp_path / "noisy"), "--clean", str(tmp_path / "clean")]
    scored = stderr_of("evaluate", *pairs, *models, "--json")
    assert not tf_line.search(scored), scored
    loud = stderr_of(
        "clean", str(scans / "a.png"), "-o", str(tmp_path / "loud"), DOCCLEAN_TF_LOGS="1"
    )
    assert tf_line.search(loud), loud


def test_binarize_writes_bilevel_pages_that_follow_the_model(
    scans: Path, tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "bw"
    result = run("clean", str(scans), "-o", str(out), "--model", str(tiny_model), "--binarize")
    assert result.exit_code == ExitCode.OK, result.output
    png = Image.open(out / "a.png")
    assert png.mode == "1"
    with Image.open(out / "multi.tif") as tiff:
        assert tiff.mode == "1" and tiff.info["compression"] == "group4" and tiff.n_frames == 3
    gray = tmp_path / "gray"
    assert (
        run("clean", str(scans / "a.png"), "-o", str(gray), "--model", str(tiny_model)).exit_code
        == 0
    )
    expected = read_image(gray / "a.png").pixels >= 0.5  # the 8-bit gray output, thresholded
    got = np.asarray(png.convert("L")) > 127
    assert np.mean(got != expected) < 0.002  # only 8-bit rounding right at the threshold differs


def test_models_lists_every_shipped_model_as_lines_when_piped() -> None:
    from docclean.models.store import DEFAULT_BINARIZE_MODEL, DEFAULT_MODEL, shipped_models

    result = run("models")  # CliRunner's stdout is no terminal
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split("\t")[:2] == ["name", "architecture"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert len(rows) == len(shipped_models())
    assert all(len(row) == len(header.split("\t")) for row in rows.values())
    assert rows[DEFAULT_MODEL][-1] == "default" and rows[DEFAULT_MODEL][5] == "grayscale"
    assert rows[DEFAULT_BINARIZE_MODEL][-1] == "--binarize"
    assert rows[DEFAULT_BINARIZE_MODEL][5] == "bilevel"
    assert sum(1 for row in rows.values() if row[-1]) == 2

    cards = json.loads(run("models", "--json").stdout)
    assert set(cards) == set(shipped_models())
    assert all(card["sha256"] and card["architecture"] for card in cards.values())
