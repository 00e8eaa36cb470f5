#!/usr/bin/env bash
# Downloads into .whl/ (git-ignored) the wheels bench/gpu_check.sh installs on an offline
# GPU node (Python 3.12, x86_64, JAX/PyTorch image without TensorFlow; see
# /work/shared/GPU-NODE.md): Keras and what the project imports that such an image
# lacks. Versions are the ones installed here, where the tests ran. The node has numpy,
# pandas, pyarrow, PyYAML, h5py, Pillow, OpenCV, scikit-learn, tqdm, rich, ml-dtypes, JAX.
#   PYTHON=.venv/bin/python bash bench/gpu_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
# Keras on JAX; pydantic (configs); tenacity (store retries); google-crc32c (the shard
# reader's checksums); pytest & co (the toy dataset generator lives in tests/).
names="keras optree namex pydantic pydantic_core annotated_types typing_inspection
typing_extensions tenacity google_crc32c pytest pluggy iniconfig packaging"
specs=()
for name in $names; do
  specs+=("$name==$("$python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")")
done
rm -rf .whl
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl "${specs[@]}"
ls .whl
du -sh .whl
