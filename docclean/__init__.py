"""docclean: clean scanned documents with a tiled convolutional denoising autoencoder.

The Python API: :class:`Cleaner` cleans pages in memory (numpy arrays or PIL images). Importing
docclean does not import TensorFlow; a Cleaner loads it when made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docclean.backend import ask_for_onednn

ask_for_onednn()  # before anything imports TensorFlow

__version__ = "0.2.0"
__all__ = ["Cleaner", "__version__"]

if TYPE_CHECKING:
    from docclean.api import Cleaner


def __getattr__(name: str) -> Any:
    if name == "Cleaner":
        from docclean.api import Cleaner

        return Cleaner
    raise AttributeError(f"module 'docclean' has no attribute {name!r}")
