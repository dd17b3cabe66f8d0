"""The GPU path (`@pytest.mark.gpu`; benchmarks/gpu_check.sh runs these on a machine with a GPU):
tiled cleaning on the GPU equals one whole-page model call, and the GPU's pages equal the CPU's
within 1/255. Skipped where TensorFlow sees no GPU."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, clean_page, dirty


@pytest.fixture(scope="module")
def tf():
    from docclean.backend import tensorflow

    tf = tensorflow("auto")
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("TensorFlow sees no GPU")
    return tf


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    rng = np.random.default_rng(11)
    return dirty(clean_page(700, 500, rng), rng)


def _cleaner():
    from docclean.inference.cleaner import PageCleaner
    from docclean.models.store import load_model

    return PageCleaner(load_model(None), tile_size=512, batch_size=4, device="auto")


@pytest.mark.gpu
def test_tiled_equals_whole_page_on_the_gpu(tf, page: np.ndarray) -> None:
    from docclean.inference.tiling import whole_page_canvas

    cleaner = _cleaner()
    margin, stride = cleaner.config.margin, cleaner.loaded.stride
    with tf.device("/GPU:0"):
        tiled = cleaner.clean(page)
        canvas = whole_page_canvas(page, margin, stride)
        whole = np.asarray(cleaner.loaded.model(canvas[None, ..., None], training=False))[0, ..., 0]
    height, width = page.shape
    whole = whole[margin : margin + height, margin : margin + width]
    assert np.abs(tiled - whole).max() <= 1e-4


@pytest.mark.gpu
def test_gpu_pages_equal_cpu_pages_within_one_level(tf, page: np.ndarray) -> None:
    cleaner = _cleaner()
    with tf.device("/GPU:0"):
        on_gpu = cleaner.clean(page)
    with tf.device("/CPU:0"):
        on_cpu = _cleaner().clean(page)
    assert np.abs(on_gpu - on_cpu).max() <= 1 / 255


def test_gpu_check_script_says_there_is_no_gpu(tmp_path: Path) -> None:
    """Where nvidia-smi finds no GPU, benchmarks/gpu_check.sh installs nothing and exits 0."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "gpu_check: no GPU on this machine (nvidia-smi finds none): nothing to check"
    )


@pytest.mark.parametrize(
    ("name", "precision"),
    [("office-tone-unet", "mixed_float16"), ("noisyoffice-tone-unet", "float32"),
     ("dibco-fast-unet", "float32")],
)  # fmt: skip
def test_mixed_precision_is_used_only_where_pages_stay_within_one_level(
    name: str, precision: str
) -> None:
    """On the CPU (float16 emulated), measured 2026-12-07: the default's probe tiles move by
    0.79/255 in float16 and it runs mixed; the specialist's (four mirrored views of a net) by
    1.2/255 and the binarizer's (two, the net's layers in float16 too) by 1.4/255, so they stay
    float32 and say so."""
    from docclean.inference.cleaner import PageCleaner
    from docclean.inference.precision import MAX_ERROR, mixed_precision_error, mixed_precision_model
    from docclean.models.store import load_model

    loaded = load_model(name)
    error = mixed_precision_error(loaded.model, mixed_precision_model(loaded.model))
    mixed = PageCleaner(loaded, tile_size=256, device="cpu", mixed_precision=True)
    assert mixed.precision == precision and (precision == "mixed_float16") == (error <= MAX_ERROR)
    if precision == "float32":
        assert mixed.precision_note is not None
        assert f"{error * 255:.1f}/255" in mixed.precision_note
        assert "runs in float32" in mixed.precision_note
        return
    assert mixed.precision_note is None
    rng = np.random.default_rng(3)
    page = dirty(clean_page(300, 260, rng), rng)
    exact = PageCleaner(loaded, tile_size=256, device="cpu")
    drift = np.abs(mixed.clean(page).astype(np.float32) - exact.clean(page).astype(np.float32))
    assert drift.max() <= 1 / 255


def test_training_strategy_is_the_default_without_two_gpus() -> None:
    from docclean.backend import tensorflow
    from docclean.training.distribute import global_batch_size, training_strategy

    tf = tensorflow("auto")
    strategy = training_strategy(tf)
    gpus = len(tf.config.list_logical_devices("GPU"))
    expected = "MirroredStrategy" if gpus >= 2 else type(tf.distribute.get_strategy()).__name__
    assert type(strategy).__name__ == expected
    assert global_batch_size(8, strategy) == 8 * (gpus if gpus >= 2 else 1)
