#!/usr/bin/env bash
# The GPU check: run on a machine with a GPU from a copy of the working tree (about 5 minutes on
# one GPU; at most 8). Installs ifan over the machine's own torch, then `python -m
# bench.gpu_check` runs the suite's CUDA tests, a few hundred updates of examples/faces3-cpu.toml in bf16 on prepared
# data (synthetic faces in the real datasets' layout: nothing to carry), and predict on CUDA
# against the CPU, and writes gpu.{md,json} to $OUT (default build/gpu).
#
#   bench/gpu_check.sh                  # on the GPU machine
#   PYTHON=.venv/bin/python bench/gpu_check.sh --device cpu   # the same here: the CPU baseline
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import ifan" 2>/dev/null; then
  # ifan's own dependencies must already be there (or in a wheel folder: WHEELS=DIR, which also
  # needs setuptools >= 77 for the project's licence field when the machine's is older); torch is
  # the machine's and is never replaced.
  if [ -n "${WHEELS:-}" ]; then
    "$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" --no-deps "$WHEELS"/*.whl
  fi
  "$PYTHON" -m pip install --quiet --no-deps --no-build-isolation -e .
fi
exec "$PYTHON" -m bench.gpu_check "$@"
