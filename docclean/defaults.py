"""Defaults and limits in one place: small constants, no imports of heavy modules."""

from __future__ import annotations

MAX_TILE_SIZE = 8192
"""Largest --tile-size accepted (pixels per side)."""
MAX_BATCH_SIZE = 4096
"""Largest --batch-size accepted (tiles per model call)."""
TILE_MEMORY_BUDGET = 2 * 2**30
"""Most bytes one model call's input may take: tile * tile * batch * 4 (float32)."""
MAX_STDIN_BYTES = 2 * 2**30
"""Most bytes `clean - -o -` takes from stdin (a 1000-page scan PDF is well under it)."""
