#!/usr/bin/env bash
# Builds the semeq plugins into OUTDIR: OUTDIR/semeq.vst3 and OUTDIR/semeq.lv2, each carrying the ONNX
# bundle and ONNX Runtime's library, and OUTDIR/semeq.clap (one file) with them in OUTDIR/semeq-resources/;
# the same for the mono plugin (semeq-mono.*); also the CLAP test host, OUTDIR/semeq_clap_host. Installs what it needs (as root, like .ci/run): DPF and nlohmann-json
# from Debian, ONNX Runtime's headers from Debian 13's package (scripts/onnxruntime_headers.sh), the
# onnxruntime wheel for its library (if Python lacks it), cmake.
#
#   bash scripts/build_plugins.sh OUTDIR            (BUILD_DIR: the CMake build folder, default build/plugins)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
out=$(realpath -m "${1:?usage: build_plugins.sh OUTDIR}")
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/plugins}
py=${PYTHON:-python3}

missing=()
for package in dpf-source nlohmann-json3-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
$py -c "import onnxruntime" 2>/dev/null || $py -m pip install -q onnxruntime
command -v cmake >/dev/null || $py -m pip install -q "cmake>=3.18"

ort_include=$(bash scripts/onnxruntime_headers.sh build/onnxruntime)
ort_library=$($py -c "import glob, os, onnxruntime as o
print(sorted(glob.glob(os.path.join(os.path.dirname(o.__file__), 'capi', 'libonnxruntime.so.1.*')))[0])")
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DSEMEQ_ONNX=ON -DSEMEQ_PLUGINS=ON \
  -DONNXRUNTIME_INCLUDE_DIR="$ort_include" -DONNXRUNTIME_LIBRARY="$ort_library" >/dev/null 2>&1
cmake --build "$build" -j "$(nproc)" --target semeq-vst3 semeq-lv2 semeq-clap semeq-mono-vst3 semeq-mono-lv2 \
  semeq-mono-clap semeq_clap_host >/dev/null
mkdir -p "$out"
for bundle in semeq.vst3 semeq.lv2 semeq.clap semeq-mono.vst3 semeq-mono.lv2 semeq-mono.clap semeq-resources; do
  rm -rf "${out:?}/$bundle"
  cp -r "$build/bin/$bundle" "$out/"
done
cp "$build/cpp/plugin/semeq_clap_host" "$out/"
echo "$out: semeq.vst3 semeq.lv2 semeq.clap, semeq-mono.vst3 semeq-mono.lv2 semeq-mono.clap"
