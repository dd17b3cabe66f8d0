"""`docclean clean --engine ray`: the local engine's outputs, records, errors and exit codes on a
local Ray with 2 CPUs (skipped when Ray is not installed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, write_gray
from PIL import Image
from test_formats import PDF_PAGES, make_pdf
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode
from docclean.io.images import read_pages, to_uint8

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install '.[ray]')")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Ray's own, on import
runner = CliRunner()


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for the module; the engine uses it and leaves it running."""
    from docclean.inference.ray_engine import RayOptions, start_ray

    started_ray, started = start_ray(RayOptions(num_cpus=2))
    yield started_ray
    if started:
        started_ray.shutdown()


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    """Single pages (PNG, JPEG in a subfolder), a 3-page TIFF, a 2-page PDF and a corrupt PNG."""
    rng = np.random.default_rng(5)
    root = tmp_path / "scans"
    write_gray(root / "a.png", dirty(clean_page(60, 80, rng), rng), dpi=300)
    write_gray(root / "sub" / "b.jpg", dirty(clean_page(50, 70, rng), rng), dpi=200)
    frames = [
        Image.fromarray(to_uint8(dirty(clean_page(30 + 10 * k, 50, rng), rng))) for k in range(3)
    ]
    frames[0].save(root / "t.tif", save_all=True, append_images=frames[1:], dpi=(150, 150))
    make_pdf(root / "r.pdf", PDF_PAGES[:2])
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 10)
    return root


OUTPUTS = ["a.png", "r.pdf", "sub/b.png", "t.tif"]


def _clean(scans: Path, out: Path, model: Path, *extra: str):
    return runner.invoke(
        app, ["clean", str(scans), "-o", str(out), "--model", str(model), "--json", *extra]
    )


def _records(output: str, out: Path) -> list[dict]:
    """--json records without timings, output paths relative to ``out``."""
    rows = []
    for line in output.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            row.pop("seconds")
            if row["output"]:
                row["output"] = Path(row["output"]).relative_to(out).as_posix()
            rows.append(row)
    return rows


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _pages(path: Path) -> list[tuple[np.ndarray, object]]:
    return [(page.pixels, page.dpi) for page in read_pages(path)]


def test_ray_engine_gives_the_local_engines_outputs_errors_and_exit_code(
    scans: Path, tmp_path: Path, tiny_model: Path, local_ray: object
) -> None:
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    expected = _clean(scans, local, tiny_model)
    got = _clean(scans, on_ray, tiny_model, "--engine", "ray")

    assert expected.exit_code == got.exit_code == ExitCode.INPUT_FAILED, got.output
    errors = _errors(got.stderr)
    assert errors == _errors(expected.stderr)
    assert len(errors) == 1 and "bad.png" in errors[0]
    assert "on a local Ray" in got.stderr
    assert "done 4, skipped 0 (output exists), failed 1; 7 page(s)" in got.stderr
    rows = _records(got.stdout, on_ray)
    assert rows == _records(expected.stdout, local)
    assert [(r["input"].split("/")[-1], r["page"]) for r in rows if r["status"] == "done"] == [
        ("a.png", 0),
        ("r.pdf", 0),
        ("r.pdf", 1),
        ("b.jpg", 0),
        ("t.tif", 0),
        ("t.tif", 1),
        ("t.tif", 2),
    ]
    outputs = sorted(p.relative_to(on_ray).as_posix() for p in on_ray.rglob("*") if p.is_file())
    assert outputs == OUTPUTS  # no partial file, no store left
    for name in OUTPUTS:
        mine, theirs = _pages(on_ray / name), _pages(local / name)
        assert len(mine) == len(theirs) == {"r.pdf": 2, "t.tif": 3}.get(name, 1)
        for (pixels, dpi), (want, want_dpi) in zip(mine, theirs, strict=True):
            assert dpi == want_dpi
            np.testing.assert_array_equal(pixels, want)  # pixel for pixel

    again = _clean(scans, on_ray, tiny_model, "--engine", "ray")  # resume: all done already
    assert again.exit_code == ExitCode.INPUT_FAILED
    assert {r["status"] for r in _records(again.stdout, on_ray)} == {"skipped", "failed"}
    assert "done 0, skipped 4" in again.stderr


def test_ray_engine_refuses_what_cannot_work_before_starting(tmp_path: Path) -> None:
    page = write_gray(tmp_path / "a.png", np.ones((20, 20), np.float32))
    out = tmp_path / "out"
    without_engine = runner.invoke(app, ["clean", str(page), "-o", str(out), "--ray-address", "x"])
    assert without_engine.exit_code == ExitCode.USAGE
    assert "--ray-address needs --engine ray" in without_engine.stderr
    to_stdout = runner.invoke(app, ["clean", str(page), "-o", "-", "--engine", "ray"])
    assert to_stdout.exit_code == ExitCode.USAGE
    unknown = runner.invoke(
        app, ["clean", str(page), "-o", str(out), "--engine", "ray", "--model", "no-such-model"]
    )
    assert unknown.exit_code == ExitCode.MODEL, unknown.output
    assert not out.exists() or not any(out.iterdir())


def test_actor_layout_uses_gpus_when_there_are_some() -> None:
    from docclean.errors import UsageError
    from docclean.inference.ray_engine import actor_layout

    count, remote, threads, _ = actor_layout({"CPU": 2.0}, "auto", None)
    assert (count, remote, threads) == (1, {"num_cpus": 1.0}, 2)
    count, remote, threads, _ = actor_layout({"CPU": 32.0}, "auto", None)
    assert (count, remote["num_cpus"], threads) == (7, 4.0, 4)
    count, remote, _, _ = actor_layout({"CPU": 64.0, "GPU": 4.0}, "auto", None)
    assert (count, remote["num_gpus"]) == (4, 1)
    assert actor_layout({"CPU": 64.0, "GPU": 4.0}, "cpu", None)[1] == {"num_cpus": 4.0}
    with pytest.raises(UsageError, match="no GPU"):
        actor_layout({"CPU": 8.0}, "gpu", None)


def test_an_interrupted_ray_run_leaves_complete_outputs_and_a_rerun_finishes(
    scans: Path, tmp_path: Path, tiny_model: Path, local_ray: object
) -> None:
    from docclean.inference.batch import PageRecord, discover_inputs
    from docclean.inference.ray_engine import CleanerSpec, RayCleanJob

    out = tmp_path / "out"
    spec = CleanerSpec(str(tiny_model)).resolved()
    job = RayCleanJob(list(discover_inputs([scans])), out, cleaner=spec)

    def stop_after_the_first_page(record: PageRecord) -> None:
        if record.status == "done":
            job.stop.set()

    job.prepare(stop_after_the_first_page)
    summary = job.run(stop_after_the_first_page)
    assert summary.interrupted and summary.files_done < 4
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert all(p.relative_to(out).as_posix() in OUTPUTS for p in written)
    for path in written:
        assert read_pages(path)  # each complete: it decodes

    rerun = RayCleanJob(list(discover_inputs([scans])), out, cleaner=spec)
    rerun.prepare(lambda record: None)
    assert not rerun.run(lambda record: None).interrupted
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == OUTPUTS


def test_an_error_raised_on_a_worker_keeps_its_kind_and_message() -> None:
    from docclean.errors import ModelError
    from docclean.inference.ray_engine import _unwrapped

    report = RuntimeError(
        "ActorDiedError: the actor died in its creation task\nTraceback (most recent call last):\n"
        '  File "store.py", line 116\ndocclean.errors.ModelError: m.keras: sha256 0d70… does not '
        "match its card (retrain or reinstall it)\n"
    )
    error = _unwrapped(report)
    assert isinstance(error, ModelError) and error.exit_code == ExitCode.MODEL
    assert str(error) == "m.keras: sha256 0d70… does not match its card (retrain or reinstall it)"
    other = _unwrapped(RuntimeError("ObjectStoreFullError: no room\nmore"))
    assert str(other) == "the Ray pipeline failed: RuntimeError: ObjectStoreFullError: no room"
