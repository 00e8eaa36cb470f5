#!/usr/bin/env bash
# The GPU check of issue 17, one prepared run on an offline GPU node (JAX, no TensorFlow):
# installs the wheels carried in .whl/ (bench/gpu_wheels.sh downloads them), then
# bench/gpu_check.py generates 224 px shards, measures the input pipeline on all cores,
# runs the real `s2s-train fit` on JAX (shared backbone and --separate) and the bare
# keras.applications.ResNet50 reference, and prints the section for docs/benchmarks.md.
# .whl/ is git-ignored: a job that ships the working tree must carry it explicitly.
# Sizes can be shrunk for a dry run on a CPU (see bench/gpu_check.py), e.g.
#   GPU_CHECK_WHEELS=0 PYTHON=.venv/bin/python GPU_CHECK_SIZE=32 GPU_CHECK_BATCH=8 \
#   GPU_CHECK_SEPARATE_BATCH=8 GPU_CHECK_STEPS=2 GPU_CHECK_EPOCHS=2 GPU_CHECK_PER_CELL=4 \
#   GPU_CHECK_INPUT_BATCHES=3 GPU_CHECK_BACKBONE=tiny bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
site_dir=""
if [ "${GPU_CHECK_WHEELS:-1}" = 1 ] && compgen -G ".whl/*.whl" >/dev/null; then
  site_dir=${GPU_CHECK_SITE:-/tmp/s2s-site}
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site_dir" .whl/*.whl
fi
export PYTHONPATH="$PWD${site_dir:+:$site_dir}"
export KERAS_BACKEND=jax
export TF_CPP_MIN_LOG_LEVEL=3
exec "$python" bench/gpu_check.py "$@"
