"""OCR with the tesseract command (Debian's tesseract-ocr), for measuring how well pages read."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import numpy as np

from docclean.errors import DocCleanError
from docclean.io.images import to_uint8


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_text(page: np.ndarray, language: str = "eng") -> str:
    """The text tesseract reads on a float32 grayscale page."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(page), mode="L").save(buffer, format="PNG")
    done = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", language],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=300,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    if done.returncode != 0:
        raise DocCleanError(
            f"tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}"
        )
    return done.stdout.decode("utf-8", errors="replace")
