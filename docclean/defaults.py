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
PAGES_CLEANED_AT_ONCE = 2
"""Pages a batch run cleans at the same time: while one is in the model, the next is prepared and
the last finished around it (NumPy and OpenCV steps that leave a core idle); on 2 cores 1.2-1.45
times the pages per second of one at a time, every page the same (benchmarks/speed.py)."""
