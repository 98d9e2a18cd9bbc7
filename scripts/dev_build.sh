#!/usr/bin/env bash
# Developer build: compiles the C++ core, its ctest suite and the Python extension in build/dev and
# drops the extension next to the sources, so `PYTHONPATH=python` (or scripts/dev_env.pth) imports it.
# Users and CI use `pip install .` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEMEQ_PYTHON=ON -DBUILD_TESTING=ON \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" >/dev/null
cmake --build build/dev -j 2
# copy then rename: overwriting a loaded .so in place crashes the processes that have it mapped
for so in build/dev/_core*.so; do
  cp "$so" "python/semeq_rt/.$(basename "$so").tmp" && mv "python/semeq_rt/.$(basename "$so").tmp" "python/semeq_rt/$(basename "$so")"
done
