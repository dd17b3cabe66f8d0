"""Shared fixtures: small synthetic document pages and one tiny trained model, all made here."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import docclean

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
ZOO = ROOT / "zoo"
"""The validation and held-out twins and the page lists: loadable by path, not shipped."""

# The CLI and the benchmarks run as subprocesses import the docclean these tests import, not
# another copy: a copy resolves the shipped models to its own files, and a test that guards them
# would guard the wrong ones. Tests importing a checkout's docclean (`python -m pytest` in a
# worktree while another checkout is installed) put that checkout first on the subprocesses' path.
_CHECKOUT = Path(docclean.__file__).resolve().parents[1]
if (_CHECKOUT / "pyproject.toml").is_file():
    os.environ["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(_CHECKOUT), os.environ.get("PYTHONPATH")) if path
    )


def clean_page(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A white page with lines of dark 'words' (float32 in [0, 1])."""
    page = np.ones((height, width), np.float32)
    line = 6
    for top in range(4, height - 8, 14):
        x = 4 + int(rng.integers(0, 6))
        while x < width - 10:
            word = int(rng.integers(5, 22))
            page[top : top + line, x : min(x + word, width - 4)] = rng.uniform(0.0, 0.25)
            x += word + int(rng.integers(3, 8))
    return page


def dirty(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page with a coffee-like stain, uneven light and sensor noise."""
    h, w = page.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.2, 0.5) * max(h, w)
    stain = 0.35 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    light = 0.12 * xx / max(w, 1)
    noisy = page * (1 - stain) - light + rng.normal(0, 0.04, page.shape)
    return np.clip(noisy, 0, 1).astype(np.float32)


def write_gray(path: Path, pixels: np.ndarray, dpi: float | None = None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    image.save(path, **({"dpi": (dpi, dpi)} if dpi else {}))
    return path


def run_bench(script: str, *args: str) -> str:
    """Run ``benchmarks/SCRIPT`` (or ``lab/SCRIPT``: a path from the repository root) with this
    Python, as a user runs it; assert it succeeded and return its stdout."""
    path = ROOT / script if "/" in script else BENCHMARKS / script
    result = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def load_bench(script: str) -> ModuleType:
    """``benchmarks/SCRIPT`` imported as a module (named ``SCRIPT``'s stem + ``_bench``, so its
    dataclasses find it), with ``benchmarks/`` on the path while it loads (for ``_common``)."""
    path = BENCHMARKS / script
    name = f"{path.stem}_bench"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


@pytest.fixture(scope="session")
def pair_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with noisy/ and clean/ holding 8 synthetic page pairs."""
    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(7)
    for i in range(8):
        page = clean_page(int(rng.integers(70, 130)), int(rng.integers(90, 160)), rng)
        write_gray(root / "clean" / f"page{i}.png", page)
        write_gray(root / "noisy" / f"page{i}.png", dirty(page, rng))
    return root


@pytest.fixture(scope="session")
def tiny_model(pair_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed-text model trained for a few steps with `docclean train`'s library call."""
    from docclean.progress import Reporter
    from docclean.training.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("models") / "tiny"
    config = TrainConfig(
        output=out,
        arch="seed-text",
        epochs=3,
        steps_per_epoch=15,
        patch_size=32,
        batch_size=16,
        val_fraction=0.25,
    )
    train(pair_dir / "noisy", pair_dir / "clean", config, Reporter(quiet=True))
    return out.with_suffix(".keras")


@pytest.fixture
def small_disk(tmp_path: Path):
    """A tmpfs of 256 KiB (root only; skipped elsewhere), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until at most ``leave`` bytes are free."""
    with open(disk / "filler", "wb") as fh:
        while True:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            if free <= leave:
                return
            try:
                fh.write(b"\0" * min(4096, free - leave))
                fh.flush()
            except OSError:
                return
