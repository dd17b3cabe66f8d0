"""docclean: clean scanned documents with a tiled convolutional denoising autoencoder.

The Python API: :class:`Cleaner` cleans pages in memory (numpy arrays or PIL images). Importing
docclean does not import TensorFlow; a Cleaner loads it when made.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# TensorFlow runs oneDNN's CPU kernels only on the newest Intel CPUs unless asked; elsewhere (an
# AMD EPYC with AVX2, say) they clean a page 1.3 times as fast (docs/scaling.md). Asked
# here, before anything imports TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 in the environment keeps them off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.2.0"
__all__ = ["Cleaner", "__version__"]

if TYPE_CHECKING:
    from docclean.api import Cleaner


def __getattr__(name: str) -> Any:
    if name == "Cleaner":
        from docclean.api import Cleaner

        return Cleaner
    raise AttributeError(f"module 'docclean' has no attribute {name!r}")
