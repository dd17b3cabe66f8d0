#!/usr/bin/env bash
# Run once on a machine with an NVIDIA GPU (from a docclean checkout), in under 5 minutes:
# installs docclean with its GPU and test extras, runs the GPU tests (tiled = whole page on the
# GPU; GPU = CPU within 1/255), then prints A4 pages/s on the GPU for the model alone and end to
# end (decode, clean, encode, write). Without a GPU it says so and exits 0.
#   bash benchmarks/gpu_check.sh            # DOCCLEAN_GPU_CHECK_NO_INSTALL=1 skips the install
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no GPU on this machine (nvidia-smi finds none): nothing to check"
  exit 0
fi
nvidia-smi -L

if [ "${DOCCLEAN_GPU_CHECK_NO_INSTALL:-0}" != 1 ]; then
  echo "gpu_check: pip install '.[gpu,test]'"
  pip install -q '.[gpu,test]'
fi

if ! python -c "import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" 2>/dev/null; then
  echo "gpu_check: nvidia-smi sees a GPU but TensorFlow does not (check the CUDA libraries of tensorflow[and-cuda])"
  exit 1
fi

echo "gpu_check: GPU tests"
python -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py

echo "gpu_check: model alone, A4 at 300 dpi"
python - <<'PY'
import time
import numpy as np
from docclean.backend import tensorflow
from docclean.inference.cleaner import PageCleaner
from docclean.models.store import load_model

tensorflow("gpu")
page = np.random.default_rng(0).uniform(0.6, 1.0, (3508, 2480)).astype(np.float32)
for tile, batch in ((1472, 1), (1472, 4), (1024, 8)):
    cleaner = PageCleaner(load_model(None), tile_size=tile, batch_size=batch, device="gpu")
    cleaner.clean(page)  # trace
    started = time.perf_counter()
    for _ in range(10):
        cleaner.clean(page)
    rate = 10 / (time.perf_counter() - started)
    print(f"model alone: tile {tile} batch {batch}: {rate:.2f} A4 pages/s")
PY

echo "gpu_check: end to end, 40 A4 pages at 300 dpi"
python benchmarks/throughput.py --pages 40 --engines local
