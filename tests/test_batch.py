"""Batch use of `docclean clean`: path lists, --dry-run, --fail-fast, --jobs, resume, stdin filter."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, write_gray
from PIL import Image
from test_formats import PDF_PAGES, make_pdf, pdf_page_sizes
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode
from docclean.io.images import read_pages, to_uint8

runner = CliRunner()


def run(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, list(args), input=input)


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Nested folders holding a 3-page PDF, a 3-page TIFF, a PNG and a JPEG."""
    rng = np.random.default_rng(21)
    root = tmp_path / "scans"
    make_pdf(root / "reports" / "q1.pdf", PDF_PAGES)
    frames = [
        Image.fromarray(to_uint8(dirty(clean_page(30 + 10 * k, 50, rng), rng))) for k in range(3)
    ]
    (root / "faxes" / "old").mkdir(parents=True)
    frames[0].save(root / "faxes" / "old" / "f.tif", save_all=True, append_images=frames[1:])
    write_gray(root / "a.png", dirty(clean_page(40, 60, rng), rng), dpi=300)
    write_gray(root / "faxes" / "b.jpg", dirty(clean_page(50, 40, rng), rng), dpi=200)
    return root


MIXED_OUTPUTS = ["a.png", "faxes/b.png", "faxes/old/f.tif", "reports/q1.pdf"]


def test_mixed_folder_cleaned_in_one_command_then_resumed(
    mixed: Path, tmp_path: Path, tiny_model: Path
) -> None:
    out = tmp_path / "out"
    before = {p: p.read_bytes() for p in mixed.rglob("*") if p.is_file()}
    first = run("clean", str(mixed), "-o", str(out), "--model", str(tiny_model), "--json")
    assert first.exit_code == ExitCode.OK, first.output
    assert files(out) == MIXED_OUTPUTS
    rows = records(first.stdout)
    assert len(rows) == 1 + 1 + 3 + 3 and {r["status"] for r in rows} == {"done"}
    assert "done 4, skipped 0 (output exists), failed 0; 8 page(s)" in first.stderr
    assert "pages/s" in first.stderr
    assert pdf_page_sizes(out / "reports" / "q1.pdf") == pdf_page_sizes(mixed / "reports/q1.pdf")
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = run("clean", str(mixed), "-o", str(out), "--model", str(tiny_model), "--json")
    assert again.exit_code == ExitCode.OK
    assert {r["status"] for r in records(again.stdout)} == {"skipped"}
    assert len(records(again.stdout)) == 4
    assert "done 0, skipped 4" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    assert {p: p.read_bytes() for p in before} == before


def test_files_from_newline_and_nul_lists(mixed: Path, tmp_path: Path, tiny_model: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{mixed / 'a.png'}\n\n{mixed / 'faxes' / 'b.jpg'}\r\n")
    model = ("--model", str(tiny_model))
    by_line = run("clean", "--files-from", str(listing), "-o", str(tmp_path / "o1"), *model)
    assert by_line.exit_code == 0, by_line.output
    assert files(tmp_path / "o1") == ["a.png", "faxes/b.png"]  # folders below the common root
    nul = f"{mixed / 'reports' / 'q1.pdf'}\0{mixed / 'faxes' / 'old' / 'f.tif'}\0".encode()
    by_nul = run("clean", "--files-from", "-", "-0", "-o", str(tmp_path / "o2"), *model, input=nul)
    assert by_nul.exit_code == 0, by_nul.output
    assert files(tmp_path / "o2") == ["faxes/old/f.tif", "reports/q1.pdf"]
    both = run("clean", "-", "--files-from", "-", "-o", str(tmp_path / "o3"), *model, input="")
    assert both.exit_code == ExitCode.USAGE and "stdin can be read only once" in both.output
    missing = run("clean", "--files-from", str(tmp_path / "nope"), "-o", str(tmp_path / "o4"))
    assert missing.exit_code == ExitCode.USAGE and "cannot read --files-from" in missing.output


def test_dry_run_writes_nothing_and_loads_no_model(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "faxes").mkdir(parents=True)
    (out / "faxes" / "b.png").write_bytes(b"from an earlier run")
    # --model nope would fail with exit code 3 if the model were loaded
    result = run("clean", str(mixed), "-o", str(out), "--model", "nope", "--dry-run", "--json")
    assert result.exit_code == ExitCode.OK, result.output
    status = {
        Path(r["output"]).relative_to(out).as_posix(): r["status"] for r in records(result.stdout)
    }
    assert status == {
        "a.png": "planned",
        "faxes/b.png": "skipped",
        "faxes/old/f.tif": "planned",
        "reports/q1.pdf": "planned",
    }
    assert files(out) == ["faxes/b.png"]
    text = run("clean", str(mixed), "-o", str(tmp_path / "new"), "--dry-run", "--format", "pdf")
    assert text.exit_code == ExitCode.OK
    lines = text.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("clean ") and " -> " in line for line in lines)
    assert lines[0].endswith(str(tmp_path / "new" / "a.pdf"))
    assert "dry run: would clean 4, skip 0" in text.stderr
    assert not (tmp_path / "new").exists()


def test_fail_fast_stops_at_the_first_failure(
    mixed: Path, tmp_path: Path, tiny_model: Path
) -> None:
    (mixed / "0-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # sorted first
    out = tmp_path / "out"
    result = run(
        "clean", str(mixed), "-o", str(out), "--model", str(tiny_model), "--fail-fast", "--json"
    )
    assert result.exit_code == ExitCode.INPUT_FAILED
    rows = records(result.stdout)
    assert [r["status"] for r in rows] == ["failed"] and "0-broken.png" in rows[0]["error"]
    assert not out.exists() or files(out) == []
    assert "done 0, skipped 0 (output exists), failed 1" in result.stderr
    assert "stopped at the first failure (--fail-fast)" in result.stderr
    assert "Traceback" not in result.output
    carry_on = run("clean", str(mixed), "-o", str(out), "--model", str(tiny_model))
    assert carry_on.exit_code == ExitCode.INPUT_FAILED
    assert files(out) == MIXED_OUTPUTS


def test_jobs_3_gives_the_same_outputs_as_jobs_1(
    mixed: Path, tmp_path: Path, tiny_model: Path
) -> None:
    outputs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"out{jobs}"
        result = run(
            "clean",
            str(mixed),
            "-o",
            str(out),
            "--model",
            str(tiny_model),
            "--jobs",
            jobs,
            "--json",
        )
        assert result.exit_code == 0, result.output
        order = [(Path(r["output"]).relative_to(out), r["page"]) for r in records(result.stdout)]
        pages = {
            name: [(to_uint8(p.pixels).tobytes(), p.dpi) for p in read_pages(out / name)]
            for name in files(out)
        }
        outputs[jobs] = (order, pages)
    assert outputs["1"] == outputs["3"]
    bad = run("clean", str(mixed), "-o", str(tmp_path / "x"), "--jobs", "0")
    assert bad.exit_code == ExitCode.USAGE and "--jobs must be between 1 and" in bad.output


def _subprocess(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "docclean", *args],
        input=data,
        capture_output=True,
        env=env,
        timeout=300,
    )


def test_filter_mode_reads_stdin_and_writes_stdout(tmp_path: Path, tiny_model: Path) -> None:
    rng = np.random.default_rng(8)
    scan = write_gray(tmp_path / "scan.png", dirty(clean_page(50, 70, rng), rng), dpi=300)
    make_pdf(tmp_path / "doc.pdf", PDF_PAGES)
    png = _subprocess(["clean", "-", "-o", "-", "--model", str(tiny_model)], scan.read_bytes())
    assert png.returncode == 0, png.stderr.decode()
    assert png.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png.stdout)) as image:
        assert image.size == (70, 50) and image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert b"Traceback" not in png.stderr
    pdf = _subprocess(
        ["clean", "-", "-o", "-", "--model", str(tiny_model)], (tmp_path / "doc.pdf").read_bytes()
    )
    assert pdf.returncode == 0, pdf.stderr.decode()
    assert pdf.stdout.startswith(b"%PDF-")
    (tmp_path / "back.pdf").write_bytes(pdf.stdout)
    assert pdf_page_sizes(tmp_path / "back.pdf") == pdf_page_sizes(tmp_path / "doc.pdf")


def test_filter_mode_errors_are_one_line_and_stdout_stays_empty(
    tmp_path: Path, tiny_model: Path
) -> None:
    junk = run("clean", "-", "-o", "-", "--model", str(tiny_model), input=b"hello, not an image")
    assert junk.exit_code == ExitCode.INPUT_FAILED
    assert junk.stdout == ""
    assert junk.stderr.strip().splitlines() == [
        "error: <stdin>: not PNG, JPEG, TIFF, BMP, WebP or PDF data "
        "(to give a list of paths on stdin use --files-from -)"
    ]
    broken = run("clean", "-", "-o", "-", "--model", str(tiny_model), input=b"%PDF-1.4 garbage")
    assert broken.exit_code == ExitCode.INPUT_FAILED and broken.stdout == ""
    assert [line for line in broken.stderr.splitlines() if line.startswith("error:")] == [
        "error: <stdin>: corrupt PDF (not in PDF format or damaged)"
    ]
    two = run("clean", "a.png", "b.png", "-o", "-")
    assert two.exit_code == ExitCode.USAGE and "-o - writes one cleaned image" in two.output
    with_json = run("clean", "-", "-o", "-", "--json", input=b"")
    assert with_json.exit_code == ExitCode.USAGE


def test_one_file_to_stdout(tmp_path: Path, tiny_model: Path) -> None:
    rng = np.random.default_rng(9)
    write_gray(tmp_path / "in.jpg", dirty(clean_page(30, 40, rng), rng))
    result = run("clean", str(tmp_path / "in.jpg"), "-o", "-", "--model", str(tiny_model))
    assert result.exit_code == 0, result.output
    with Image.open(io.BytesIO(result.stdout_bytes)) as image:
        assert image.format == "PNG" and image.size == (40, 30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]
