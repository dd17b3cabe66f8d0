"""Nothing lost in `docclean evaluate`: its outputs never replace a file, its JSON is strict, its
exit codes follow the README's table, and a page or model that gives NaN is one failed page.

Every file these tests use is made here, in tmp_path. The refusals run as a user's real
``python -m docclean`` process; the rest use the CLI in-process or the library.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import clean_page, dirty, fill, write_gray
from PIL import Image
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode, OutputError
from docclean.evaluation import report as report_module
from docclean.evaluation.report import SHEET_WIDTH, evaluate, report_json, write_output
from docclean.progress import Reporter
from docclean.training.data import find_pairs

runner = CliRunner()
FAST = ["--tile-size", "32", "--batch-size", "4"]


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    """A data folder: noisy/ and clean/ holding 3 small page pairs, and a names list."""
    rng = np.random.default_rng(23)
    root = tmp_path / "data"
    for i in range(3):
        page = clean_page(40, 56, rng)
        write_gray(root / "clean" / f"p{i}.png", page)
        write_gray(root / "noisy" / f"p{i}.png", dirty(page, rng))
    (tmp_path / "names.txt").write_text("p0\np1\n")
    return root


def folders(root: Path | str) -> list[str]:
    """``--noisy ROOT/noisy --clean ROOT/clean``: the form every version of evaluate takes."""
    return ["--noisy", f"{root}/noisy", "--clean", f"{root}/clean"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docclean", *args], capture_output=True, text=True, timeout=300
    )


def strict_json(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# --- 1. --csv and --contact-sheet never replace a file ------------------------------------------


@pytest.mark.parametrize(
    ("option", "target", "overwrite"),
    [
        ("--csv", "existing.csv", False),
        ("--contact-sheet", "existing.png", False),
        ("--csv", "data/noisy/p0.png", True),  # an input page, even with --overwrite
        ("--contact-sheet", "link-to-clean.png", True),  # a symlink to an input page
        ("--csv", "data/clean/scores.csv", True),  # a new file inside an input folder
        ("--csv", "names.txt", True),  # the --names @FILE list
        ("--contact-sheet", "model.json", True),  # the model's card
        ("--csv", "model.keras", True),  # the model itself
        ("--csv", "SHIPPED", True),  # a shipped model's card, named by the model's name
    ],
)
def test_outputs_never_replace_a_file_and_refuse_before_loading_a_model(
    pages: Path, tmp_path: Path, tiny_model: Path, option: str, target: str, overwrite: bool
) -> None:
    (tmp_path / "existing.csv").write_text("mine\n")
    write_gray(tmp_path / "existing.png", np.ones((4, 4), np.float32))
    (tmp_path / "link-to-clean.png").symlink_to(pages / "clean" / "p1.png")
    shutil.copy(tiny_model, tmp_path / "model.keras")
    shutil.copy(tiny_model.with_suffix(".json"), tmp_path / "model.json")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    before = {p: digest(p) for p in files}
    os.chdir(tmp_path)
    model = str(tmp_path / "model.keras") if target.startswith("model") else "no-such-model"
    if target == "SHIPPED":
        from docclean.models.store import DEFAULT_MODEL, resolve_model

        model, card = DEFAULT_MODEL, resolve_model(DEFAULT_MODEL).with_suffix(".json")
        target, files, before = str(card), [*files, card], {**before, card: digest(card)}
    args = ["evaluate", *folders("data"), "--names", "@names.txt", "--model", model, option, target]
    result = cli(*args, *(["--overwrite"] if overwrite else []))
    # exit 5, not the 3 of an unknown model: refused before any model loads
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and target in lines[0], lines
    assert {p: digest(p) for p in files} == before
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        p for p in files if tmp_path in p.parents
    )


def test_overwrite_replaces_an_earlier_report_atomically(
    pages: Path, tmp_path: Path, tiny_model: Path
) -> None:
    scores, sheet = tmp_path / "scores.csv", tmp_path / "sheet.png"
    scores.write_text("old\n")
    sheet.write_bytes(b"old")
    args = ["evaluate", *folders(pages), "--model", str(tiny_model), *FAST]
    result = runner.invoke(
        app, [*args, "--csv", str(scores), "--contact-sheet", str(sheet), "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    assert scores.read_text().startswith("page,target,method,")
    with Image.open(sheet) as image:
        assert image.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data",
        "names.txt",
        "scores.csv",
        "sheet.png",
    ]


@pytest.mark.parametrize("option", ["--csv", "--contact-sheet"])
def test_a_file_that_appears_while_scoring_is_left_alone(
    pages: Path, tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """Existence is checked up front and again, atomically, when the file is placed."""
    target = tmp_path / "out" / "report.file"
    score_pair = report_module._score_pair

    def someone_else_writes_it(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        target.parent.mkdir(exist_ok=True)
        target.write_text("theirs\n")
        return score_pair(*args, **kwargs)

    monkeypatch.setattr(report_module, "_score_pair", someone_else_writes_it)
    result = runner.invoke(
        app, ["evaluate", *folders(pages), "--model", str(tiny_model), *FAST, option, str(target)]
    )
    assert result.exit_code == ExitCode.OUTPUT, result.output
    assert "appeared while" in result.stderr and str(target) in result.stderr
    assert "mean over 3 page(s)" in result.stdout  # the report is still shown
    assert target.read_text() == "theirs\n"
    assert [p.name for p in target.parent.iterdir()] == ["report.file"]  # no temporary left


def test_write_output_is_exclusive_without_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    write_output(target, b"first")
    with pytest.raises(OutputError, match="appeared while"):
        write_output(target, b"second")
    assert target.read_bytes() == b"first"
    write_output(target, b"third", overwrite=True)
    assert target.read_bytes() == b"third"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


# --- 2. strict JSON ------------------------------------------------------------------------------


def test_json_is_strict_when_a_score_is_infinite(tmp_path: Path, tiny_model: Path) -> None:
    """Identical noisy and clean pages: "no cleaning" has an infinite PSNR."""
    rng = np.random.default_rng(5)
    for i in range(2):
        page = clean_page(40, 48, rng)
        write_gray(tmp_path / "d" / "noisy" / f"s{i}.png", page)
        write_gray(tmp_path / "d" / "clean" / f"s{i}.png", page)
    args = ["evaluate", *folders(tmp_path / "d"), "--model", str(tiny_model), *FAST]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = strict_json(result.stdout)
    assert report["pages"][0]["scores"]["no_cleaning"]["psnr"] is None
    assert report["pages"][0]["scores"]["no_cleaning"]["rmse"] == 0.0
    assert report["mean"]["gray"]["no_cleaning"]["psnr"] is None
    assert isinstance(report["mean"]["gray"]["tiny"]["psnr"], float)
    assert any("not finite" in note for note in report["notes"])
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    row = [line for line in table.stdout.splitlines() if "no_cleaning" in line and "│" in line][-1]
    assert row.split("│")[4].strip() == "-", row  # the PSNR column of the means
    csv_text = runner.invoke(app, [*args, "--csv", "-"]).stdout
    no_cleaning = [line.split(",") for line in csv_text.splitlines() if ",no_cleaning," in line]
    assert no_cleaning and all(cells[4] == "" for cells in no_cleaning)  # psnr column empty
    assert "inf" not in csv_text and "nan" not in csv_text


# --- 3. exit codes -------------------------------------------------------------------------------


def test_mismatched_and_unpaired_pages_are_data_errors(
    pages: Path, tmp_path: Path, tiny_model: Path
) -> None:
    write_gray(pages / "noisy" / "wide.png", np.ones((40, 70), np.float32))
    write_gray(pages / "clean" / "wide.png", np.ones((40, 56), np.float32))
    args = ["evaluate", *folders(pages), "--model", str(tiny_model), *FAST]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == ExitCode.DATA, result.output
    report = strict_json(result.stdout)
    assert len(report["pages"]) == 3  # the others are scored
    assert len(report["failed"]) == 1 and "wide.png" in report["failed"][0]
    assert "70x40 differs" in result.stderr
    only_unpaired = tmp_path / "unpaired"
    write_gray(only_unpaired / "noisy" / "a.png", np.ones((8, 8), np.float32))
    write_gray(only_unpaired / "clean" / "b.png", np.ones((8, 8), np.float32))
    result = runner.invoke(app, ["evaluate", *folders(only_unpaired), "--model", str(tiny_model)])
    assert result.exit_code == ExitCode.DATA, result.output
    assert "no image pairs" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["evaluate", "--noisy", "data/noisy"], ExitCode.USAGE, "--clean"),
        (["evaluate", "data", "--noisy", "data/noisy"], ExitCode.USAGE, "or --noisy"),
        (["evaluate", "nowhere"], ExitCode.DATA, "not a folder"),
        (["evaluate", *folders("data"), "--json", "--csv", "-"], ExitCode.USAGE, "stdout"),
        (
            ["evaluate", *folders("data"), "--csv", "a.png", "--contact-sheet", "a.png"],
            ExitCode.USAGE,
            "both",
        ),
    ],
)
def test_evaluate_usage_and_data_exit_codes(
    pages: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    os.chdir(tmp_path)
    result = runner.invoke(app, [*args, "--model", "no-such-model"])
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output


# --- 4. evaluate DIR -----------------------------------------------------------------------------


def test_evaluate_takes_one_folder_like_train(pages: Path, tiny_model: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", str(pages), "--model", str(tiny_model), *FAST, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [p["name"] for p in strict_json(result.stdout)["pages"]] == ["p0", "p1", "p2"]


# --- 5. the contact sheet draws every model -------------------------------------------------------


def test_contact_sheet_has_a_column_per_model(
    pages: Path, tmp_path: Path, tiny_model: Path
) -> None:
    other = tmp_path / "other.keras"
    shutil.copy(tiny_model, other)
    shutil.copy(tiny_model.with_suffix(".json"), other.with_suffix(".json"))
    sheet = tmp_path / "sheet.png"
    result = runner.invoke(
        app,
        ["evaluate", *folders(pages), "--model", str(tiny_model), "--model", str(other),
         "--model", str(tiny_model), *FAST, "--contact-sheet", str(sheet), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = strict_json(result.stdout)
    assert report["methods"] == ["no_cleaning", "tiny", "other", "tiny#2"]
    assert set(report["models"]) == {"tiny", "other", "tiny#2"}
    with Image.open(sheet) as image:
        pixels = np.asarray(image, dtype=np.float32)
    columns = 3 + 3  # noisy, three models, target, error
    assert pixels.shape[1] == columns * SHEET_WIDTH + (columns + 1) * 8
    gap, top = 8, 24 + 22  # the first page's panels start below the header and its caption
    height = round(40 * SHEET_WIDTH / 56)
    panel = [
        pixels[top : top + height, gap + k * (SHEET_WIDTH + gap) :][:, :SHEET_WIDTH]
        for k in range(columns)
    ]
    assert np.array_equal(panel[1], panel[2]) and np.array_equal(panel[1], panel[3])  # one model
    assert not np.array_equal(panel[0], panel[1])  # cleaned, not the noisy page again
    assert panel[5].mean() > 128 and not np.array_equal(panel[4], panel[5])  # 1 - |error|


# --- 8. NaN pages and NaN models --------------------------------------------------------------------


def test_a_page_of_nan_is_one_failed_page(pages: Path, tiny_model: Path) -> None:
    nan_page = np.full((40, 56), 0.5, np.float32)
    nan_page[5:9, 5:20] = np.nan
    Image.fromarray(nan_page, mode="F").save(pages / "noisy" / "float.tif")
    write_gray(pages / "clean" / "float.png", np.ones((40, 56), np.float32))
    result = runner.invoke(
        app, ["evaluate", *folders(pages), "--model", str(tiny_model), *FAST, "--json"]
    )
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    report = strict_json(result.stdout)
    assert len(report["pages"]) == 3
    assert len(report["failed"]) == 1 and "float.tif" in report["failed"][0]
    assert "NaN" in report["failed"][0]
    assert result.stderr.count("error:") == 1


def test_a_model_giving_nan_fails_the_page_and_names_it(pages: Path) -> None:
    calls: list[int] = []

    def broken(page: np.ndarray) -> np.ndarray:
        calls.append(1)
        return np.full_like(page, np.nan) if len(calls) == 2 else page

    card = SimpleNamespace(sha256="0" * 64)
    cleaner = SimpleNamespace(
        loaded=SimpleNamespace(name="broken", path=Path("broken.keras"), card=card), clean=broken
    )
    pairs, _ = find_pairs(pages / "noisy", pages / "clean")
    result = evaluate(pairs, [cleaner], Reporter(quiet=True))  # type: ignore[list-item]
    assert result.exit_code == ExitCode.MODEL
    report = strict_json(report_json(result.report))
    assert [p["name"] for p in report["pages"]] == ["p0", "p2"]
    assert len(report["failed"]) == 1
    assert "p1.png" in report["failed"][0] and "broken gave" in report["failed"][0]


# --- full disks and closed pipes (real processes) ---------------------------------------------------


@pytest.fixture
def full_disk(small_disk: Path) -> Path:
    """conftest's 256 KiB tmpfs with about 8 KiB left."""
    fill(small_disk, leave=8192)
    return small_disk


def test_reports_on_a_full_disk_exit_5_and_leave_nothing(
    pages: Path, tiny_model: Path, full_disk: Path
) -> None:
    """The contact sheet (~100 KiB) and a CSV of many pages cannot fit: each is named, once."""
    for i in range(3, 60):  # enough rows that the CSV outgrows the space left
        shutil.copy(pages / "noisy" / "p0.png", pages / "noisy" / f"p{i}.png")
        shutil.copy(pages / "clean" / "p0.png", pages / "clean" / f"p{i}.png")
    sheet, scores = full_disk / "sheet.png", full_disk / "scores.csv"
    result = cli(
        "evaluate", *folders(pages), "--model", str(tiny_model), *FAST, "--baselines",
        "--contact-sheet", str(sheet), "--csv", str(scores), "--json",
    )  # fmt: skip
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.stderr
    assert str(sheet) in errors[0] and str(scores) in errors[1]
    assert all("no space left" in line.lower() for line in errors), errors
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # no partial files
    assert len(strict_json(result.stdout)["pages"]) == 60  # the report itself still arrives


@pytest.mark.parametrize("stdout", ["closed pipe", "full disk"])
def test_json_on_a_stdout_that_fails_exits_5_in_one_line(
    pages: Path, tiny_model: Path, stdout: str, request: pytest.FixtureRequest
) -> None:
    if stdout == "full disk":
        disk = request.getfixturevalue("full_disk")
        sink = os.open(disk / "report.json", os.O_WRONLY | os.O_CREAT)
        for i in range(3, 80):  # a report larger than the 8 KiB left
            shutil.copy(pages / "noisy" / "p0.png", pages / "noisy" / f"p{i}.png")
            shutil.copy(pages / "clean" / "p0.png", pages / "clean" / f"p{i}.png")
    else:
        reader, sink = os.pipe()
        os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "docclean", "evaluate", *folders(pages),
             "--model", str(tiny_model), *FAST, "--json"],
            stdout=sink, stderr=subprocess.PIPE, text=True, timeout=300,
        )  # fmt: skip
    finally:
        os.close(sink)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("error: cannot write to stdout"), lines
    assert "Traceback" not in result.stderr
