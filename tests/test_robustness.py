"""Nothing lost, nothing broken: bad input, interruption, untouched inputs, untrusted models.

Every file these tests use is made here, in tmp_path. Runs that must look like a user's go through
a real ``python -m docclean`` process; the rest use the CLI in-process or the library.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import clean_page, dirty, fill, write_gray
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin
from test_formats import encrypt, make_pdf
from typer.testing import CliRunner

from docclean.cli.main import app
from docclean.errors import ExitCode
from docclean.inference.batch import (
    KIND_SUFFIXES,
    CleanJob,
    InputFile,
    OutputKind,
    PageRecord,
    discover_inputs,
    output_path,
)
from docclean.io.images import read_pages, to_uint8, write_pages

runner = CliRunner()
RNG = np.random.default_rng(2024)
FAST = ["--tile-size", "64", "--batch-size", "4"]  # small tiles: quick with the tiny model
# TensorFlow / absl start-up chatter that is not docclean's to print.
_TF_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} \d\d:\d\d:\d\d)")


# --- helpers ---------------------------------------------------------------------------------


def cli(
    *args: str, preexec_fn: Callable[[], None] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m docclean ARGS`` as a user would; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "docclean", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "docclean", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def our_lines(stderr: str) -> list[str]:
    """stderr lines without TensorFlow's start-up chatter."""
    return [line for line in stderr.splitlines() if line.strip() and not _TF_NOISE.match(line)]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gray(h: int, w: int) -> np.ndarray:
    return to_uint8(dirty(clean_page(h, w, RNG), RNG))


def huge_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid little PNG whose header claims ``width`` x ``height`` (CRC fixed up)."""
    data = bytearray(encode(Image.fromarray(gray(8, 8)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def huge_tiff(width: int = 100_000, height: int = 100_000) -> bytes:
    """A little TIFF whose ImageWidth/ImageLength tags claim ``width`` x ``height``."""
    data = bytearray(encode(Image.fromarray(gray(8, 8)), "TIFF"))
    ifd = struct.unpack("<I", data[4:8])[0]
    for n in range(struct.unpack("<H", data[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * n
        tag = struct.unpack("<H", data[entry : entry + 2])[0]
        if tag in (256, 257):  # as LONG, so values above 65535 fit
            data[entry + 2 : entry + 8] = struct.pack("<HI", 4, 1)
            data[entry + 8 : entry + 12] = struct.pack("<I", width if tag == 256 else height)
    return bytes(data)


def huge_jpeg(width: int = 65_000, height: int = 65_000) -> bytes:
    """A little JPEG whose SOF0 header claims ``width`` x ``height``."""
    data = bytearray(encode(Image.fromarray(gray(8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_with_corrupt_page(pages: list[np.ndarray], bad: int) -> bytes:
    """A multi-page deflate TIFF whose page ``bad`` (0-based) has its strip overwritten."""
    first, *rest = (Image.fromarray(p) for p in pages)
    data = bytearray(
        encode(first, "TIFF", save_all=True, append_images=rest, compression="tiff_adobe_deflate")
    )
    with Image.open(io.BytesIO(bytes(data))) as image:
        assert isinstance(image, TiffImagePlugin.TiffImageFile)
        image.seek(bad)
        offset, length = image.tag_v2[273][0], image.tag_v2[279][0]
    data[offset : offset + length] = b"\xff" * length
    return bytes(data)


_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def respect_permissions() -> None:
    """preexec_fn: as root, drop the capabilities that let root ignore permission bits.

    Removed from the bounding set before exec, they are not in the new process either, so the
    kernel checks mode bits for it as for any owner: a real refusal, not a simulated one.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def permissions_are_enforced(folder: Path) -> bool:
    """Whether a process started with :func:`respect_permissions` is refused a mode-000 file."""
    probe = folder / ".probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'rb')"],
            capture_output=True,
            preexec_fn=respect_permissions,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.chmod(0o600)
        probe.unlink()
    return done.returncode != 0 and b"PermissionError" in done.stderr


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[str, int, int, int]]:
    """sha256, size, mtime and mode of every file under ``root`` (not under ``skip``)."""
    state = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and path.is_relative_to(skip):
            continue
        if path.is_file():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[path.relative_to(root).as_posix()] = (
                digest,
                info.st_size,
                info.st_mtime_ns,
                info.st_mode,
            )
    return state


def part_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


# --- 1. a corpus of bad input, one run -------------------------------------------------------


def build_corpus(root: Path, with_permissions: bool) -> tuple[dict[str, str], dict[str, list]]:
    """Bad and good files under ``root``: {bad name: cause} and {good name: page shapes}."""
    root.mkdir(parents=True)
    bad: dict[str, str] = {}
    good: dict[str, list[tuple[int, int]]] = {}

    def put(name: str, data: bytes, cause: str) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
        bad[name] = cause

    png = encode(Image.fromarray(gray(120, 120)), "PNG")
    jpeg = encode(Image.fromarray(gray(120, 120)), "JPEG")
    tiff = encode(Image.fromarray(gray(120, 120)), "TIFF")
    make_pdf(root / "doc.pdf", [(60, 80, 150), (50, 40, 100)])
    good["doc.pdf"] = [(60, 80), (50, 40)]
    pdf = (root / "doc.pdf").read_bytes()
    put("empty.png", b"", "empty file (0 bytes)")
    put("empty.pdf", b"", "empty file (0 bytes)")
    put("cut-png.png", png[: len(png) // 2], "truncated or corrupt image data")
    put("cut-jpeg.jpg", jpeg[: len(jpeg) // 2], "truncated or corrupt image data")
    put("cut-tiff.tif", tiff[: len(tiff) // 2], "truncated or corrupt image data")
    put("cut-pdf.pdf", pdf[: len(pdf) // 2], "corrupt PDF")
    put("noise.png", RNG.integers(0, 256, 700, dtype=np.uint8).tobytes(), "not a readable image")
    put("letter.jpg", b"Dear reader,\nthis is not a JPEG.\n" * 20, "not a readable image")
    put("bomb.png", huge_png(), "claims 100000x100000 pixels")
    put("bomb.tif", huge_tiff(), "claims 100000x100000 pixels")
    put("bomb-jpeg.jpg", huge_jpeg(), "claims 65000x65000 pixels")
    pages = [gray(30, 40) for _ in range(3)]
    put("one bad page.tif", tiff_with_corrupt_page(pages, 1), "page 2 of 3 is corrupt")
    try:
        encrypt(root / "doc.pdf", root / "locked.pdf")
        bad["locked.pdf"] = "encrypted PDF"
    except pytest.skip.Exception:  # pikepdf missing: that one case is left out
        pass
    if with_permissions:
        put("unreadable.png", png, "permission denied")
        (root / "unreadable.png").chmod(0)
        write_gray(root / "readonly" / "page.png", gray(20, 30) / 255)
        bad["readonly/page.png"] = "permission denied"

    def image(name: str, picture: Image.Image, **options: object) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        picture.save(root / name, **options)
        good[name] = [(picture.height, picture.width)]

    image("a.png", Image.fromarray(gray(60, 80)), dpi=(300, 300))
    image("dot 1x1.png", Image.fromarray(gray(1, 1)))
    image("strip 1x5000.png", Image.fromarray(gray(1, 5000)))
    image("strip 5000x1.png", Image.fromarray(gray(5000, 1)))
    image("sixteen.png", Image.fromarray(gray(40, 50).astype(np.uint16) * 257))
    image("sixteen.tif", Image.fromarray(gray(30, 20).astype(np.uint16) * 257))
    colour = RNG.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    image("cmyk.jpg", Image.fromarray(colour).convert("CMYK"))
    image("cmyk.tif", Image.fromarray(colour).convert("CMYK"))
    image("palette alpha.png", Image.fromarray(gray(40, 50)).convert("P"), transparency=3)
    image("sub dir/été scan Nº1.png", Image.fromarray(gray(40, 50)))
    image("日本語 ページ.jpg", Image.fromarray(gray(30, 45)))
    first, *rest = (Image.fromarray(p) for p in pages)
    first.save(root / "multi.tif", save_all=True, append_images=rest)
    good["multi.tif"] = [p.shape for p in pages]
    # A result of an earlier run, in the output folder inside the input folder: never an input.
    write_gray(root / "cleaned" / "old result.png", gray(20, 20) / 255)
    return bad, good


def expected_output(name: str) -> str:
    path = Path(name)
    return name if path.suffix in {".png", ".tif", ".pdf"} else path.with_suffix(".png").as_posix()


def test_one_run_over_a_corpus_of_bad_input(tmp_path: Path, tiny_model: Path) -> None:
    enforced = permissions_are_enforced(tmp_path)
    corpus = tmp_path / "corpus"
    bad, good = build_corpus(corpus, with_permissions=enforced)
    out = corpus / "cleaned"
    if enforced:
        (out / "readonly").mkdir(parents=True)
        (out / "readonly").chmod(0o555)
    try:
        done = cli(
            "clean",
            str(corpus),
            "-o",
            str(out),
            "--model",
            str(tiny_model),
            "--json",
            *FAST,
            preexec_fn=respect_permissions,
        )
    finally:
        if enforced:
            (out / "readonly").chmod(0o755)
            (corpus / "unreadable.png").chmod(0o644)

    # an output that cannot be written (the read-only folder) outranks the bad inputs (README)
    expected = ExitCode.OUTPUT if enforced else ExitCode.INPUT_FAILED
    assert done.returncode == expected, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    lines = our_lines(done.stderr)
    for name, cause in bad.items():
        naming = [line for line in lines if str(corpus / name) in line]
        assert len(naming) == 1, (name, naming)
        assert naming[0].startswith("error:") and cause in naming[0], naming[0]
    assert len(error_lines(done.stderr)) == len(bad)
    assert not [line for line in lines if "Warning" in line]  # no stray Python warnings

    rows = records(done.stdout)
    failed = {
        Path(r["input"]).relative_to(corpus).as_posix() for r in rows if r["status"] == "failed"
    }
    assert failed == set(bad)
    assert len([r for r in rows if r["status"] == "failed"]) == len(bad)
    assert all(r["output"] is None and r["error"] for r in rows if r["status"] == "failed")
    for name, shapes in good.items():
        target = out / expected_output(name)
        pages = list(read_pages(target))
        assert [p.pixels.shape for p in pages] == shapes, name
        assert [r["page"] for r in rows if r["input"] == str(corpus / name)] == list(
            range(len(shapes))
        )
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted([expected_output(n) for n in good] + ["old result.png"])
    assert not part_files(corpus)
    assert f"done {len(good)}, skipped 0 (output exists), failed {len(bad)}" in done.stderr
    if not enforced:
        pytest.skip(
            "all else passed, but the unreadable-file and read-only-output cases were left out: "
            "this process cannot start one that respects permission bits"
        )


def test_decompression_bombs_are_refused_before_allocating(tmp_path: Path) -> None:
    """In a fresh process, so the peak RSS and traced allocations belong to the refusals alone."""
    bombs = {"b.png": huge_png(), "b.tif": huge_tiff(), "b.jpg": huge_jpeg()}
    for name, data in bombs.items():
        (tmp_path / name).write_bytes(data)
    script = f"""
import json, resource, time, tracemalloc
from pathlib import Path
from docclean.errors import InputError
from docclean.io.images import count_pages, read_image, read_pages
paths = sorted(Path({str(tmp_path)!r}).iterdir())
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
started = time.perf_counter()
refused = 0
for path in paths:
    for reader in (count_pages, read_image, lambda p: list(read_pages(p))):
        try:
            reader(path)
        except InputError as exc:
            refused += "pixels" in str(exc)
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"refused": refused, "seconds": seconds, "peak": peak, "rss_kb": after - before}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["refused"] == 3 * len(bombs)
    assert figures["seconds"] < 2.0
    assert figures["peak"] < 5 * 2**20  # Python-side allocations
    assert figures["rss_kb"] < 50 * 1024  # and the process as a whole: no 10 GB buffer


def test_unwritable_output_folder_fails_once_up_front(tmp_path: Path, tiny_model: Path) -> None:
    write_gray(tmp_path / "in" / "a.png", gray(20, 20) / 255)
    write_gray(tmp_path / "in" / "b.png", gray(20, 20) / 255)
    (tmp_path / "taken").write_text("a file where the output folder should be")
    result = runner.invoke(
        app,
        ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "taken"), "--model", str(tiny_model)],
    )
    assert result.exit_code == ExitCode.OUTPUT, result.output
    assert error_lines(result.stderr) == [
        f"error: the output folder {tmp_path / 'taken'} is not a folder"
    ]
    if not permissions_are_enforced(tmp_path):
        pytest.skip("cannot start a process that respects permission bits (read-only case)")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    script = f"""
from pathlib import Path
from docclean.errors import OutputError
from docclean.inference.batch import CleanJob, discover_inputs
job = CleanJob(list(discover_inputs([Path({str(tmp_path / "in")!r})])), Path({str(tmp_path / "ro")!r}),
               clean_page=lambda page: page)
try:
    job.run(lambda record: print("record", record.status))
except OutputError as exc:
    print("refused:", exc)
"""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=respect_permissions,
        )
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"refused: cannot write into the output folder {tmp_path / 'ro'}: permission denied "
        "(check its permissions or choose another folder with -o)"
    ]
    assert list((tmp_path / "ro").iterdir()) == []


# --- 2. interruption -------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_run_leaves_only_complete_outputs_and_resumes(
    tmp_path: Path, tiny_model: Path, signum: int
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    shapes = {}
    for n in range(30):
        h, w = 200 + 4 * n, 240 - 2 * n
        write_gray(src / f"page {n:02d}.png", gray(h, w) / 255)
        shapes[f"page {n:02d}.png"] = (w, h)
    args = ["clean", str(src), "-o", str(out), "--model", str(tiny_model), "--jobs", "1"]
    process = popen(*args)
    deadline = time.monotonic() + 240
    while not (out.is_dir() and len([p for p in out.iterdir() if p.suffix == ".png"]) >= 3):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no outputs appeared"
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "Traceback" not in stderr
    summary = re.search(r"^done (\d+), skipped 0 \(output exists\), failed 0;", stderr, re.M)
    assert summary, stderr
    assert "interrupted" in error_lines(stderr)[-1] and "run the same command again" in stderr
    assert not part_files(out)
    finished = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert 3 <= len(finished) == int(summary.group(1)) < 30
    for name in finished:
        with Image.open(out / name) as image:
            image.load()  # complete: decodes to the end
            assert image.size == shapes[name]

    again = cli(*args, "--json")
    assert again.returncode == ExitCode.OK, again.stderr
    status = {Path(r["input"]).name: r["status"] for r in records(again.stdout)}
    assert status == {n: "skipped" if n in finished else "done" for n in shapes}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in finished} == finished
    assert sorted(p.name for p in out.iterdir()) == sorted(shapes)
    assert not part_files(out)


def _pages_job(tmp_path: Path, clean: Callable[[np.ndarray], np.ndarray], jobs: int) -> CleanJob:
    """A job over a.png, b.tif (3 pages) and c.png, ... f.png with the given page cleaner."""
    src = tmp_path / "in"
    write_gray(src / "a.png", gray(20, 30) / 255)
    frames = [Image.fromarray(gray(20, 30)) for _ in range(3)]
    frames[0].save(src / "b.tif", save_all=True, append_images=frames[1:])
    for name in "cdef":
        write_gray(src / f"{name}.png", gray(20, 30) / 255)
    return CleanJob(list(discover_inputs([src])), tmp_path / "out", clean_page=clean, jobs=jobs)


def test_stop_between_pages_keeps_the_finished_pages_for_the_rerun(tmp_path: Path) -> None:
    """Stopped while b.tif's first page is cleaned: the pages under way (that one, and its
    second if it was already started beside it) are kept (hidden), and the rerun cleans only
    the others: every page is cleaned once."""
    calls = []
    job: CleanJob

    def clean(page: np.ndarray) -> np.ndarray:
        calls.append(page.shape)
        if len(calls) == 2:  # a.png, then the first page of b.tif
            job.stop.set()
        return 1 - page

    job = _pages_job(tmp_path, clean, jobs=2)
    seen: list[PageRecord] = []
    summary = job.run(seen.append)
    kept = len(calls) - 1  # b.tif's pages cleaned before the run stopped
    assert summary.interrupted and kept in (1, 2)  # two pages are cleaned at once
    assert (summary.files_done, summary.pages_done) == (1, 1)
    out = tmp_path / "out"
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["a.png"]
    assert [Path(r.input).name for r in seen] == ["a.png"]
    partial = sorted(p.name for p in (out / ".b.tif.docclean-partial").glob("page*"))
    assert partial == [f"page{n:05d}.png" for n in range(1, kept + 1)]

    calls.clear()
    again = CleanJob(list(discover_inputs([tmp_path / "in"])), out, clean_page=clean, jobs=2)
    again_seen: list[PageRecord] = []
    again.run(again_seen.append)
    assert len(calls) == (3 - kept) + 4  # b.tif's pages left, then c.png ... f.png
    assert [(Path(r.input).name, r.page) for r in again_seen][: 4 - kept] == [
        ("a.png", None),  # skipped: it is done
        *[("b.tif", page) for page in range(kept, 3)],
    ]
    originals = [p.pixels for p in read_pages(tmp_path / "in" / "b.tif")]
    cleaned = [p.pixels for p in read_pages(out / "b.tif")]
    assert len(cleaned) == 3
    for page, original in zip(cleaned, originals, strict=True):
        np.testing.assert_allclose(page, 1 - original, atol=0.5 / 255)
    assert sorted(p.name for p in out.iterdir()) == [
        "a.png",
        "b.tif",
        "c.png",
        "d.png",
        "e.png",
        "f.png",
    ]


def test_two_pages_are_cleaned_at_once_and_reported_in_order(tmp_path: Path) -> None:
    """Each cleaning waits at a barrier for another one under way (one at a time, the first
    would time out), and the first of each pair takes longer: records and outputs still follow
    the inputs, each page cleaned by its own call."""
    together = threading.Barrier(2, timeout=10)
    calls = []

    def clean(page: np.ndarray) -> np.ndarray:
        calls.append(page.shape)
        if len(calls) <= 4:  # a.png with b's first page, b's second with its third
            together.wait()
        if len(calls) % 2:
            time.sleep(0.05)
        return 1 - page

    job = _pages_job(tmp_path, clean, jobs=1)
    assert job.pages_at_once == 2
    seen: list[PageRecord] = []
    summary = job.run(seen.append)
    assert (summary.files_done, summary.pages_done, summary.files_failed) == (6, 8, 0)
    assert [(Path(r.input).name, r.page) for r in seen][:4] == [
        ("a.png", 0),
        ("b.tif", 0),
        ("b.tif", 1),
        ("b.tif", 2),
    ]
    originals = [p.pixels for p in read_pages(tmp_path / "in" / "b.tif")]
    cleaned = [p.pixels for p in read_pages(tmp_path / "out" / "b.tif")]
    for page, original in zip(cleaned, originals, strict=True):
        np.testing.assert_allclose(page, 1 - original, atol=0.5 / 255)


def test_a_stop_keeps_the_pages_whose_writes_are_still_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer threads take each write 0.3 s late, so when the run stops, b.tif's cleaned
    pages still wait in the queue: they are kept all the same (cancelling the queue lost them)."""
    import concurrent.futures
    import queue

    import docclean.inference.batch as batch

    class SlowQueue(queue.SimpleQueue):  # type: ignore[type-arg]
        def get(self, block: bool = True, timeout: float | None = None) -> object:
            if block:
                time.sleep(0.3)
            return super().get(block, timeout)

    class SlowWriters(concurrent.futures.ThreadPoolExecutor):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            if kwargs.get("thread_name_prefix") == "docclean-io":
                self._work_queue = SlowQueue()

    monkeypatch.setattr(batch, "ThreadPoolExecutor", SlowWriters)
    calls = []
    job: CleanJob

    def clean(page: np.ndarray) -> np.ndarray:
        calls.append(page.shape)
        if len(calls) == 2:
            job.stop.set()
        return 1 - page

    job = _pages_job(tmp_path, clean, jobs=2)
    summary = job.run(lambda record: None)
    kept = len(calls) - 1
    assert summary.interrupted and kept in (1, 2)
    partial = sorted(p.name for p in (tmp_path / "out" / ".b.tif.docclean-partial").glob("page*"))
    assert partial == [f"page{n:05d}.png" for n in range(1, kept + 1)]


def test_keyboard_interrupt_lets_queued_writes_finish(tmp_path: Path) -> None:
    """Interrupted while d.png is cleaned: a.png, b.tif's 3 pages and c.png are written."""
    interrupted_page: list[np.ndarray] = []

    def clean(page: np.ndarray) -> np.ndarray:
        if np.array_equal(page, interrupted_page[0]):  # known by its pixels: pages race
            raise KeyboardInterrupt
        return page

    job = _pages_job(tmp_path, clean, jobs=3)
    interrupted_page.append(next(read_pages(tmp_path / "in" / "d.png")).pixels)
    with pytest.raises(KeyboardInterrupt):
        job.run(lambda record: None)
    assert job.summary.interrupted and job.summary.files_done == 3
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.tif", "c.png"]
    assert len(list(read_pages(out / "b.tif"))) == 3
    assert not part_files(out)


def test_signal_before_cleaning_starts_exits_130_with_a_summary(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the model loads: nothing cleaned, summary printed, exit 130."""
    import docclean.cli.clean

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be installed from the main thread")
    write_gray(tmp_path / "in" / "a.png", gray(20, 20) / 255)
    real = docclean.cli.clean._page_cleaner

    def slow_start(*args: object) -> object:
        os.kill(os.getpid(), signal.SIGTERM)  # handled by clean's handler: sets its stop flag
        return real(*args)

    monkeypatch.setattr(docclean.cli.clean, "_page_cleaner", slow_start)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    result = runner.invoke(
        app,
        ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_model)],
    )
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    assert "done 0, skipped 0 (output exists), failed 0" in result.stderr
    assert not (tmp_path / "out").exists()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


# --- 3. inputs are sacred --------------------------------------------------------------------


def test_no_option_ever_changes_an_input(tmp_path: Path, tiny_model: Path) -> None:
    scans = tmp_path / "scans"
    write_gray(scans / "a.png", gray(40, 50) / 255, dpi=300)
    write_gray(scans / "deeper" / "b.jpg", gray(30, 40) / 255, dpi=150)
    frames = [Image.fromarray(gray(20 + 5 * k, 30)) for k in range(3)]
    frames[0].save(scans / "multi.tif", save_all=True, append_images=frames[1:])
    make_pdf(scans / "doc.pdf", [(40, 30, 150)])
    (scans / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    os.utime(scans / "a.png", ns=(1_000_000_000, 1_000_000_000))  # an mtime no write keeps
    inside = scans / "cleaned"
    before = snapshot(scans)
    model = ["--model", str(tiny_model), *FAST]
    runs: list[tuple[list[str], set[int]]] = [
        ([str(scans), "-o", str(tmp_path / "o1")], {1}),
        ([str(scans), "-o", str(tmp_path / "o1"), "--overwrite"], {1}),
        ([str(scans), "-o", str(tmp_path / "o2"), "--format", "tiff"], {1}),
        ([str(scans), "-o", str(tmp_path / "o3"), "--format", "pdf", "--dpi", "200"], {1}),
        ([str(scans), "-o", str(tmp_path / "o4"), "--format", "same", "--dpi", "96"], {1}),
        ([str(scans), "-o", str(tmp_path / "o5"), "--format", "png"], {1}),
        ([str(scans), "-o", str(scans)], {ExitCode.OUTPUT}),
        ([str(scans), "-o", str(scans), "--overwrite"], {ExitCode.OUTPUT}),
        ([str(scans / "a.png"), str(scans / "multi.tif"), "-o", str(scans), "--overwrite"], {1}),
        ([str(scans), "-o", str(tmp_path / "o6"), "--dry-run"], {0}),
        ([str(scans), "-o", str(tmp_path / "o7"), "--fail-fast"], {1}),
        ([str(scans), "-o", str(tmp_path / "o8"), "--jobs", "3", "--overwrite"], {1}),
        ([str(scans), "-o", str(inside)], {1}),  # last: its outputs are inputs to other runs
        ([str(scans), "-o", str(inside), "--overwrite", "--jobs", "3"], {1}),
    ]
    for args, codes in runs:
        result = runner.invoke(app, ["clean", *args, *model])
        assert result.exit_code in codes, (args, result.output)
        assert "Traceback" not in result.output
        assert snapshot(scans, skip=inside) == before, args  # same files, bytes, mtimes, modes
        assert not part_files(scans)
    assert not (tmp_path / "o6").exists()  # --dry-run wrote nothing
    assert sorted(p.name for p in inside.iterdir()) == ["a.png", "deeper", "doc.pdf", "multi.tif"]


# --- 4. models are data ----------------------------------------------------------------------


def _save_random_model(path: Path) -> Path:
    from test_models import random_model

    from docclean.models.store import save_model

    save_model(random_model().model, path, {"architecture": "seed-text"})
    return path.with_suffix(".keras")


def _fix_card(model: Path, **changes: object) -> None:
    from docclean.models.store import sha256_of

    card = json.loads(model.with_suffix(".json").read_text())
    card.update({"sha256": sha256_of(model), **changes})
    model.with_suffix(".json").write_text(json.dumps(card))


def _tampered(model: Path) -> None:
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))


def _truncated(model: Path) -> None:
    model.write_bytes(model.read_bytes()[:500])
    _fix_card(model)


def _impostor(model: Path) -> None:
    import keras

    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(1, 5, padding="same", activation="sigmoid")(inputs)
    keras.Model(inputs, outputs).save(model)  # by hand: save_model only saves real docclean models
    _fix_card(model)


MODEL_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "tampered": (_tampered, "does not match its card"),
    "truncated": (_truncated, "not a Keras model archive"),
    "no card": (lambda m: m.with_suffix(".json").unlink(), "no model card"),
    "foreign architecture": (
        lambda m: _fix_card(m, architecture="evil-lambda"),
        "is not one docclean knows",
    ),
    "other layers": (_impostor, "not those of the seed-text architecture"),
}


@pytest.mark.parametrize("damage", list(MODEL_DAMAGE))
def test_untrusted_models_exit_3_with_one_line(tmp_path: Path, damage: str) -> None:
    model = _save_random_model(tmp_path / "m")
    harm, cause = MODEL_DAMAGE[damage]
    harm(model)
    write_gray(tmp_path / "in" / "a.png", gray(20, 20) / 255)
    result = runner.invoke(
        app, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(model)]
    )
    assert result.exit_code == ExitCode.MODEL, result.output
    assert "Traceback" not in result.output
    lines = our_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:") and cause in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_lambda_layer_is_refused_without_running_its_code(tmp_path: Path) -> None:
    import keras

    from docclean.models.architectures import get_architecture

    marker = tmp_path / "code-ran"
    trap = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    inputs = keras.Input((None, None, 1))
    hidden = keras.layers.Lambda(eval(trap))(inputs)  # a Python lambda: serialised as bytecode
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(hidden)
    model = tmp_path / "m.keras"
    keras.Model(inputs, outputs).save(model)
    marker.unlink()  # building the model ran the trap once; from here on it must not
    arch = get_architecture("seed-text")
    from docclean.models.store import sha256_of

    card = {
        "architecture": "seed-text",
        "receptive_radius": arch.receptive_radius,
        "stride": arch.stride,
        "sha256": sha256_of(model),
    }
    model.with_suffix(".json").write_text(json.dumps(card))
    write_gray(tmp_path / "in" / "a.png", gray(20, 20) / 255)
    result = runner.invoke(
        app, ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(model)]
    )
    assert result.exit_code == ExitCode.MODEL, result.output
    lines = our_lines(result.stderr)
    assert len(lines) == 1 and "m.keras" in lines[0] and "Lambda" in lines[0], lines
    assert "Traceback" not in result.output
    assert not marker.exists()
    # The trap is real: loading the same file without safe_mode runs it.
    keras.saving.load_model(model, compile=False, safe_mode=False)
    assert marker.read_text() == "ran"


# --- 6. properties of the path mapping and of multi-page TIFF --------------------------------

_SUFFIXES = [".png", ".PNG", ".jpg", ".jpeg", ".tif", ".tiff", ".TIF", ".pdf", ".bmp", ".webp"]
_NAME = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\x00"),
    min_size=1,
    max_size=10,
).filter(lambda s: s not in {".", ".."} and not s.startswith("."))
_KINDS: list[OutputKind] = ["png", "tiff", "pdf"]


@settings(max_examples=200, deadline=None)
@given(
    folders=st.lists(_NAME, max_size=3),
    stem=_NAME,
    suffix=st.sampled_from(_SUFFIXES),
    kind=st.sampled_from(_KINDS),
)
def test_output_path_mirrors_under_the_output_folder(
    folders: list[str], stem: str, suffix: str, kind: OutputKind
) -> None:
    relative = Path(*folders, stem + suffix)
    out_dir = Path("/data/out put/ü")
    target = output_path(InputFile(Path("/data/in") / relative, relative), out_dir, kind)
    assert target.is_relative_to(out_dir) and ".." not in target.relative_to(out_dir).parts
    assert target.parent == out_dir / relative.parent  # the tree is mirrored
    assert target.stem == relative.stem  # spaces, unicode and inner dots survive
    assert target.suffix.lower() in KIND_SUFFIXES[kind]
    if suffix.lower() in KIND_SUFFIXES[kind]:
        assert target.name == relative.name  # a.tiff stays a.tiff
    assert target != Path("/data/in") / relative


def _tiny_file(path: Path) -> None:
    """A 1x1 image in the format its suffix names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".pdf":
        make_pdf(path, [(4, 4, 72)])
    else:
        Image.new("L", (1, 1), 200).save(
            path, format=Image.registered_extensions()[path.suffix.lower()]
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.tuples(st.sampled_from(["", "sub", "süb dir"]), _NAME, st.sampled_from(_SUFFIXES)),
        min_size=1,
        max_size=8,
    ),
    fmt=st.sampled_from(["same", "png", "tiff", "pdf"]),
    inside=st.booleans(),
    as_files=st.booleans(),
)
def test_planning_never_collides_silently_nor_targets_an_input(
    names: list[tuple[str, str, str]], fmt: str, inside: bool, as_files: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in put"
        paths = {src / folder / (stem + suffix) for folder, stem, suffix in names}
        for path in paths:
            _tiny_file(path)
        out = (src / "out") if inside else Path(tmp) / "out"
        if as_files:
            out = src  # files given one by one, with -o their own folder
            specs = sorted(paths)
        else:
            specs = [src]
        items = list(discover_inputs(specs, out))
        assert sorted(i.path for i in items) == sorted(paths)
        job = CleanJob(items, out, fmt=fmt)  # type: ignore[arg-type]
        seen: list[PageRecord] = []
        job.plan(seen.append)
        assert sorted(r.input for r in seen) == sorted(str(p) for p in paths)  # one record each
        planned = [Path(r.output) for r in seen if r.status == "planned" and r.output]
        assert len(set(planned)) == len(planned)
        assert not set(planned) & paths
        assert all(p.is_relative_to(out) for p in planned)
        for record in seen:
            if record.status == "failed":
                assert record.error and (
                    "is also the output of" in record.error or "is an input file" in record.error
                ), record.error
            else:
                assert record.status == "planned"


@settings(max_examples=30, deadline=None)
@given(
    pages=st.lists(
        st.tuples(
            st.integers(1, 40),
            st.integers(1, 40),
            st.booleans(),
            st.one_of(st.none(), st.integers(50, 1200)),
            st.integers(0, 2**32 - 1),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_multipage_tiff_round_trip_is_lossless(
    pages: list[tuple[int, int, bool, int | None, int]],
) -> None:
    arrays: list[np.ndarray] = []
    for h, w, bilevel, _, seed in pages:
        rng = np.random.default_rng(seed)
        arrays.append(
            rng.random((h, w)) > 0.5 if bilevel else rng.integers(0, 256, (h, w), dtype=np.uint8)
        )
    dpis = [None if d is None else (float(d), float(d)) for *_, d, _ in pages]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pages.tif"
        write_pages(path, arrays, None, "tiff", dpis)
        back = list(read_pages(path))
    assert [p.index for p in back] == list(range(len(arrays)))
    for page, original, dpi in zip(back, arrays, dpis, strict=True):
        expected = original.astype(np.uint8) * 255 if original.dtype == np.bool_ else original
        assert np.array_equal(to_uint8(page.pixels), expected)
        assert page.dpi == dpi


def test_colliding_outputs_are_reported_not_overwritten(tmp_path: Path) -> None:
    for name in ("page.png", "page.jpg", "page.tif", "page.tiff"):
        _tiny_file(tmp_path / "in" / name)
    job = CleanJob(list(discover_inputs([tmp_path / "in"])), tmp_path / "out", fmt="png")
    seen: list[PageRecord] = []
    summary = job.plan(seen.append)
    assert summary.files_planned == 1 and summary.files_failed == 3
    errors = [r.error or "" for r in seen if r.status == "failed"]
    assert all("is also the output of" in e and "page.jpg" in e for e in errors), errors


def test_output_error_names_the_input(tmp_path: Path) -> None:
    """A write that fails names the input as well as the output it could not write."""
    write_gray(tmp_path / "in" / "a.png", gray(10, 10) / 255)
    (tmp_path / "out" / "a.png").mkdir(parents=True)  # a folder where the output should go
    job = CleanJob(
        list(discover_inputs([tmp_path / "in"])),
        tmp_path / "out",
        clean_page=lambda p: p,
        overwrite=True,
    )
    seen: list[PageRecord] = []
    job.run(seen.append)
    assert [r.status for r in seen] == ["failed"]
    assert (seen[0].error or "").startswith(f"{tmp_path / 'in' / 'a.png'}: cannot write")


# --- 6. round two: pipes, full disks, races, long documents, hostile files --------------------


def noisy_png(path: Path, h: int = 300, w: int = 400) -> Path:
    """A page whose cleaned PNG is well over 4 KiB (random speckle does not compress)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (h, w), dtype=np.uint8)).save(path)
    return path


def in_process(tmp_path: Path, *args: str, limits: str = "") -> subprocess.CompletedProcess[str]:
    """`docclean ARGS` in a fresh process that prints, after it, its exit code and whether
    TensorFlow was imported (``limits``: Python run first, e.g. to lower a limit)."""
    script = f"""
import sys
{limits}
from docclean.cli.main import app
try:
    app({list(args)!r})
except SystemExit as exc:
    print("exit", exc.code, "tensorflow" in sys.modules)
"""
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )


def test_filter_output_on_a_full_disk_exits_5_never_a_truncated_image(
    tmp_path: Path, tiny_model: Path, small_disk: Path
) -> None:
    scan = noisy_png(tmp_path / "scan.png")
    fill(small_disk, leave=8192)
    with open(scan, "rb") as stdin, open(small_disk / "out.png", "wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "docclean", "clean", "-", "-o", "-", "--model", str(tiny_model)],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "Traceback" not in done.stderr
    assert error_lines(done.stderr) == [
        "error: cannot write to stdout: no space left on device "
        "(the image on stdout is incomplete; nothing else was written)"
    ]


def test_filter_output_into_a_closed_pipe_exits_5_with_one_line(
    tmp_path: Path, tiny_model: Path
) -> None:
    """`docclean clean - -o - | head -c 0`: the reader is gone before the image is written."""
    scan, model = noisy_png(tmp_path / "scan.png"), str(tiny_model)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with open(scan, "rb") as stdin:
            done = subprocess.run(
                [sys.executable, "-m", "docclean", "clean", "-", "-o", "-", "--model", model],
                stdin=stdin,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=300,
            )
    finally:
        os.close(write_end)
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert error_lines(done.stderr) == [
        "error: cannot write to stdout: the reader closed it (broken pipe) "
        "(the image on stdout is incomplete; nothing else was written)"
    ]


@pytest.mark.parametrize("where", ["full disk", "closed pipe"])
def test_json_lines_that_cannot_be_written_stop_the_run_with_exit_5(
    tmp_path: Path, tiny_model: Path, where: str, request: pytest.FixtureRequest
) -> None:
    for n in range(4):
        write_gray(tmp_path / "in" / f"p{n}.png", gray(40, 50) / 255)
    args = [sys.executable, "-m", "docclean", "clean", str(tmp_path / "in")]
    args += ["-o", str(tmp_path / "out"), "--model", str(tiny_model), "--json"]
    if where == "full disk":
        disk = request.getfixturevalue("small_disk")
        fill(disk, leave=0)
        stdout = os.open(disk / "log.json", os.O_WRONLY | os.O_CREAT)
    else:
        read_end, stdout = os.pipe()
        os.close(read_end)
    try:
        done = subprocess.run(args, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(stdout)
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    cause = "no space left on device" if where == "full disk" else "the reader closed it"
    assert len(error_lines(done.stderr)) == 1
    assert error_lines(done.stderr)[0].startswith(f"error: cannot write to stdout: {cause}")
    for path in (tmp_path / "out").glob("*") if (tmp_path / "out").exists() else []:
        assert Image.open(path).size == (50, 40)  # whatever was written is complete


def test_stdin_is_sniffed_first_and_capped(tmp_path: Path) -> None:
    """`cat /dev/zero | docclean clean - -o -` fails at once; endless image-like data stops at
    the stdin limit; neither loads TensorFlow."""
    with open("/dev/zero", "rb") as zeros:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "docclean", "clean", "-", "-o", "-"],
            stdin=zeros,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == ExitCode.INPUT_FAILED and time.monotonic() - started < 60
    assert error_lines(done.stderr) == [
        "error: <stdin>: not PNG, JPEG, TIFF, BMP, WebP or PDF data "
        "(to give a list of paths on stdin use --files-from -)"
    ]
    script = (
        "import sys, docclean.defaults as d; d.MAX_STDIN_BYTES = 2**20\n"
        "from docclean.cli.main import app\n"
        "try:\n    app(['clean', '-', '-o', '-'])\n"
        "except SystemExit as exc:\n    print('exit', exc.code, 'tensorflow' in sys.modules)\n"
    )
    endless = subprocess.Popen(
        ["sh", "-c", f"(printf '%%PDF-1.7'; cat /dev/zero) | {sys.executable} -c \"$0\"", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = endless.communicate(timeout=120)
    assert out.splitlines() == ["exit 1 False"], err
    assert error_lines(err) == [
        "error: <stdin>: more than 1048576 bytes of data (the limit for stdin) "
        "(save it to a file and clean that)"
    ]


def test_an_output_that_appears_after_planning_is_never_replaced(tmp_path: Path) -> None:
    """Another process writes b.png (and the 3-page c.tif) while this run cleans them: theirs
    stay, the files are reported as skipped, the run goes on."""
    src, out = tmp_path / "in", tmp_path / "out"
    for name in "abd":
        write_gray(src / f"{name}.png", gray(20, 30) / 255)
    frames = [Image.fromarray(gray(20, 30)) for _ in range(3)]
    frames[0].save(src / "c.tif", save_all=True, append_images=frames[1:])
    calls = []

    def clean(page: np.ndarray) -> np.ndarray:
        calls.append(1)
        if len(calls) == 2:  # b.png is being cleaned: another run places its own b.png
            (out / "b.png").write_bytes(b"theirs")
        if len(calls) == 4:  # c.tif's second page
            (out / "c.tif").write_bytes(b"theirs too")
        return 1 - page

    job = CleanJob(list(discover_inputs([src])), out, clean_page=clean, jobs=2)
    seen: list[PageRecord] = []
    summary = job.run(seen.append)
    assert (out / "b.png").read_bytes() == b"theirs"
    assert (out / "c.tif").read_bytes() == b"theirs too"
    status = {(Path(r.input).name, r.status) for r in seen}
    assert status == {
        ("a.png", "done"),
        ("b.png", "skipped"),
        ("c.tif", "skipped"),
        ("d.png", "done"),
    }
    skipped = [r for r in seen if r.status == "skipped"]
    assert all("appeared while it was being written" in (r.error or "") for r in skipped)
    assert (summary.files_done, summary.files_skipped, summary.files_failed) == (2, 2, 0)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.tif", "d.png"]


def test_two_runs_into_one_folder_never_clobber(tmp_path: Path, tiny_model: Path) -> None:
    """Two processes clean the same inputs into one folder at once: both succeed, every output
    is whole, and none was written twice (each is done by one run and skipped by the other)."""
    src, out = tmp_path / "in", tmp_path / "out"
    for n in range(12):
        write_gray(src / f"p{n:02d}.png", gray(60, 80) / 255)
        if n % 4 == 0:  # multi-page files too: their pages are kept while they are cleaned
            frames = [Image.fromarray(gray(60, 80)) for _ in range(4)]
            frames[0].save(src / f"m{n:02d}.tif", save_all=True, append_images=frames[1:])
    args = ["clean", str(src), "-o", str(out), "--model", str(tiny_model), "--json"]
    first, second = popen(*args), popen(*args)
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), results
    done = [
        (r["input"], r["page"])
        for stdout, _ in results
        for r in records(stdout)
        if r["status"] == "done"
    ]
    expected = [(str(p), 0) for p in src.glob("*.png")]
    expected += [(str(p), page) for p in src.glob("*.tif") for page in range(4)]
    assert sorted(done) == sorted(expected)  # each page cleaned by exactly one of the runs
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in src.iterdir())
    for path in out.iterdir():
        assert len(list(read_pages(path))) == (4 if path.suffix == ".tif" else 1)
    assert not part_files(out)


def test_a_multipage_file_another_run_is_cleaning_is_left_to_it(tmp_path: Path) -> None:
    from docclean.io.partial import PartialPages

    job = _pages_job(tmp_path, lambda page: page, jobs=2)  # a.png, b.tif (3 pages), c-f.png
    other = PartialPages(tmp_path / "out" / "b.tif", {"the other run": True})
    assert other.lock()  # another run holds b.tif's pages
    (other.folder / "page00001.png").write_bytes(b"theirs")
    seen: list[PageRecord] = []
    summary = job.run(seen.append)
    skipped = [r for r in seen if r.status == "skipped"]
    assert [Path(r.input).name for r in skipped] == ["b.tif"]
    assert "is being cleaned by another docclean run" in (skipped[0].error or "")
    assert (summary.files_done, summary.files_skipped, summary.files_failed) == (5, 1, 0)
    assert (other.folder / "page00001.png").read_bytes() == b"theirs"  # not touched
    other.release()
    again = CleanJob(
        list(discover_inputs([tmp_path / "in"])), tmp_path / "out", clean_page=lambda p: p
    )
    assert again.run(lambda record: None).files_done == 1  # b.tif, from its first page
    assert len(list(read_pages(tmp_path / "out" / "b.tif"))) == 3
    assert not other.folder.exists()


def test_ctrl_c_in_a_long_pdf_keeps_its_cleaned_pages_and_the_rerun_continues(
    tmp_path: Path, tiny_model: Path
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_pdf(src / "long.pdf", [(400, 300, 150)] * 40)
    args = ["clean", str(src), "-o", str(out), "--model", str(tiny_model), "--jobs", "1"]
    process = popen(*args)
    partial = out / ".long.pdf.docclean-partial"
    deadline = time.monotonic() + 240
    while len(list(partial.glob("page*.png"))) < 3:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no pages appeared"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "Traceback" not in stderr
    kept = sorted(p.name for p in partial.glob("page*.png"))
    assert 3 <= len(kept) < 40 and kept[-1] == f"page{len(kept):05d}.png"
    assert not (out / "long.pdf").exists()

    again = cli(*args, "--json")
    assert again.returncode == ExitCode.OK, again.stderr
    pages = [r["page"] for r in records(again.stdout)]
    assert pages == list(range(len(kept), 40))  # not from page 1 again
    assert [p.name for p in out.iterdir()] == ["long.pdf"]  # the partial folder is gone
    assert len(list(read_pages(out / "long.pdf"))) == 40


def test_pages_stream_instead_of_being_decoded_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a 30-page TIFF is cleaned, at most a few pages are decoded ahead of the model."""
    import docclean.inference.batch as batch

    src = tmp_path / "in"
    src.mkdir()
    frames = [Image.fromarray(gray(30, 40)) for _ in range(30)]
    frames[0].save(src / "long.tif", save_all=True, append_images=frames[1:])
    decoded = []
    real = batch.read_pages

    def counting(*args: object, **kwargs: object):
        for page in real(*args, **kwargs):  # type: ignore[arg-type]
            decoded.append(page.index)
            yield page

    monkeypatch.setattr(batch, "read_pages", counting)
    ahead = []
    counting_lock = threading.Lock()  # pages are cleaned on two threads

    def clean(page: np.ndarray) -> np.ndarray:
        with counting_lock:
            ahead.append(len(decoded) - len(ahead))
        return page

    job = CleanJob(list(discover_inputs([src])), tmp_path / "out", clean_page=clean, jobs=2)
    assert job.pages_at_once == 2
    assert job.run(lambda record: None).pages_done == 30
    # decoded and not yet cleaned: the reader's queue (jobs=2), one being put, and the pages
    # whose cleaning has started (pages_at_once=2), this one among them
    assert len(ahead) == 30 and max(ahead) <= 2 + 1 + 2
    assert len(list(read_pages(tmp_path / "out" / "long.tif"))) == 30


def test_progress_counts_pages(tmp_path: Path) -> None:
    job = _pages_job(tmp_path, lambda page: page, jobs=2)  # a.png, b.tif (3 pages), c-f.png
    calls: list[tuple[int, int]] = []
    job.progress = lambda pages, total: calls.append((pages, total))
    job.run(lambda record: None)
    assert calls[0] == (0, 8) and calls[1:] == [(1, 8)] * 8


def test_huge_pdf_pages_and_tile_sizes_are_refused_before_tensorflow(tmp_path: Path) -> None:
    make_pdf(tmp_path / "poster.pdf", [(100, 100, 1)])  # 100 x 100 inches
    done = in_process(
        tmp_path, "clean", "poster.pdf", "-o", "out", "--dpi", "300", "--model", "no-such-model"
    )
    assert done.stdout.splitlines() == ["exit 1 False"], done.stderr
    assert error_lines(done.stderr) == [
        "error: poster.pdf: page 1 of 1 would render at 30000x30000 pixels (300 dpi), more "
        "than the limit of 400000000 (give a lower --dpi)"
    ]
    assert not (tmp_path / "out").exists()
    write_gray(tmp_path / "a.png", gray(20, 20) / 255)
    for options, message in [
        (["--tile-size", "100000"], "--tile-size 100000 is more than the limit of 8192 px"),
        (["--batch-size", "10000000"], "--batch-size 10000000 is more than the limit of 4096"),
        (["--tile-size", "8192", "--batch-size", "64"], "needs 16.0 GiB per model call"),
    ]:
        done = in_process(tmp_path, "clean", "a.png", "-o", "out", *options)
        assert done.stdout.splitlines() == ["exit 2 False"], done.stderr
        assert len(error_lines(done.stderr)) == 1 and message in done.stderr, done.stderr


def test_missing_inputs_are_reported_before_tensorflow_and_make_no_folder(tmp_path: Path) -> None:
    done = in_process(tmp_path, "clean", "missing.png", "gone.pdf", "-o", "out")
    assert done.stdout.splitlines() == ["exit 1 False"], done.stderr
    assert error_lines(done.stderr) == [
        "error: missing.png: file not found",
        "error: gone.pdf: file not found",
    ]
    assert not (tmp_path / "out").exists()
    nothing = in_process(tmp_path, "clean", "-o", "out")
    assert nothing.stdout.splitlines() == ["exit 2 False"]


def test_an_output_folder_that_fills_up_exits_5(
    tmp_path: Path, tiny_model: Path, small_disk: Path
) -> None:
    for n in range(3):
        noisy_png(tmp_path / "in" / f"p{n}.png")
    fill(small_disk, leave=16384)
    done = cli(
        "clean", str(tmp_path / "in"), "-o", str(small_disk / "out"), "--model", str(tiny_model)
    )
    assert done.returncode == ExitCode.OUTPUT, done.stderr
    assert "Traceback" not in done.stderr
    errors = error_lines(done.stderr)
    assert errors and all("no space left on device" in line for line in errors)
    assert not part_files(small_disk)


def test_a_249_byte_file_name_is_cleaned(tmp_path: Path, tiny_model: Path) -> None:
    long_png = "p" * 245 + ".png"
    long_tif = "t" * 245 + ".tif"
    write_gray(tmp_path / "in" / long_png, gray(30, 40) / 255)
    frames = [Image.fromarray(gray(30, 40)) for _ in range(2)]
    frames[0].save(tmp_path / "in" / long_tif, save_all=True, append_images=frames[1:])
    done = runner.invoke(
        app,
        ["clean", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(tiny_model)],
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([long_png, long_tif])
    assert len(list(read_pages(tmp_path / "out" / long_tif))) == 2


def test_symlink_loops_and_dangling_links_are_named_and_the_run_goes_on(
    tmp_path: Path, tiny_model: Path
) -> None:
    src = tmp_path / "in"
    write_gray(src / "good.png", gray(30, 40) / 255)
    (src / "loop-a").symlink_to("loop-b")
    (src / "loop-b").symlink_to("loop-a")
    (src / "gone.png").symlink_to(tmp_path / "nowhere.png")
    done = runner.invoke(
        app, ["clean", str(src), "-o", str(tmp_path / "out"), "--model", str(tiny_model)]
    )
    assert done.exit_code == ExitCode.INPUT_FAILED, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert error_lines(done.stderr) == [
        f"error: {src / 'gone.png'}: dangling symlink (its target does not exist)",
        f"error: {src / 'loop-a'}: too many levels of symbolic links",
        f"error: {src / 'loop-b'}: too many levels of symbolic links",
    ]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.png"]


def test_listed_paths_keep_their_folders(tmp_path: Path, tiny_model: Path) -> None:
    """Two scan0001.png from different folders, listed on stdin: both cleaned, apart."""
    for folder in ("monday", "tuesday/late"):
        write_gray(tmp_path / "scans" / folder / "scan0001.png", gray(30, 40) / 255)
    listing = "".join(f"{p}\n" for p in sorted((tmp_path / "scans").rglob("*.png")))
    model = ["--model", str(tiny_model)]
    done = runner.invoke(app, ["clean", "-", "-o", str(tmp_path / "out"), *model], input=listing)
    assert done.exit_code == 0, done.output
    cleaned = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")
    )
    assert cleaned == ["monday/scan0001.png", "tuesday/late/scan0001.png"]
    rooted = runner.invoke(
        app,
        [
            "clean",
            "--files-from",
            "-",
            "--relative-to",
            str(tmp_path),
            "-o",
            str(tmp_path / "o2"),
            *model,
        ],
        input=listing,
    )
    assert rooted.exit_code == 0, rooted.output
    assert sorted(
        p.relative_to(tmp_path / "o2").as_posix() for p in (tmp_path / "o2").rglob("*.png")
    ) == [
        "scans/monday/scan0001.png",
        "scans/tuesday/late/scan0001.png",
    ]
    outside = runner.invoke(
        app,
        ["clean", "-", "--relative-to", str(tmp_path / "scans" / "monday"), "-o", "o3"],
        input=listing,
    )
    assert outside.exit_code == ExitCode.USAGE
    assert "is not inside --relative-to" in outside.stderr
