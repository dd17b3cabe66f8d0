"""Lazy, quiet TensorFlow/Keras import and device selection (kept out of ``--help``'s way)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Literal

from docclean.errors import UsageError

Device = Literal["auto", "cpu", "gpu"]
_configured: str | None = None


def ask_for_onednn() -> None:
    """Ask TensorFlow for oneDNN's CPU kernels, which it uses unasked only on the newest Intel
    CPUs; elsewhere (an AMD EPYC with AVX2, say) they clean a page 1.3 times as fast
    (docs/scaling.md). Works only before TensorFlow is imported; TF_ENABLE_ONEDNN_OPTS=0 in the
    environment keeps them off."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def tensorflow(device: Device = "auto") -> ModuleType:
    """Import TensorFlow with its start-up chatter silenced, and pin it to ``device`` once.

    ``cpu`` hides every GPU; ``gpu`` fails clearly when TensorFlow sees none; ``auto`` uses a GPU
    when there is one. The first call decides placement for the life of the process.
    """
    global _configured
    # 3 also hides C++ errors TensorFlow recovers from itself, such as a graph optimizer pass
    # that gives up on a model ("remapper failed") and runs the graph without that pass; real
    # failures still raise Python exceptions. DOCCLEAN_TF_LOGS=1 shows everything.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if _tf_logs_wanted() else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with _native_stderr_silenced():
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    if not _tf_logs_wanted():  # its Python warnings too: each model traced once is no "retracing"
        tf.get_logger().setLevel("ERROR")
    if device == "gpu" and not gpus:
        raise UsageError(
            "--device gpu was asked for, but TensorFlow sees no GPU",
            "install TensorFlow's GPU build with `pip install 'tensorflow[and-cuda]'` (or "
            "`pip install '.[gpu]'` in a docclean checkout) and check `nvidia-smi`, "
            "or use --device auto",
        )
    if _configured is None:
        if device == "cpu" and gpus:
            tf.config.set_visible_devices([], "GPU")
        for gpu in gpus if device != "cpu" else []:
            tf.config.experimental.set_memory_growth(gpu, True)
        _configured = device
    return tf


def _tf_logs_wanted() -> bool:
    """Whether DOCCLEAN_TF_LOGS=1 asks to see TensorFlow's own logs."""
    return os.environ.get("DOCCLEAN_TF_LOGS") == "1"


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Hide what TensorFlow's C++ start-up writes straight to file descriptor 2 (CUDA probing on
    machines without a GPU, absl preambles), unless DOCCLEAN_TF_LOGS=1 asks to see it."""
    if _tf_logs_wanted():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def device_in_use() -> str:
    """``"gpu"`` when TensorFlow will place work on a GPU, else ``"cpu"``."""
    tf = tensorflow()
    return "gpu" if tf.config.get_visible_devices("GPU") else "cpu"
