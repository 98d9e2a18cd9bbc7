#!/usr/bin/env bash
# ONNX Runtime's C/C++ headers into DEST/include/onnxruntime (prints that folder): from Debian 13's
# libonnxruntime-dev, fetched with apt-get download through a separate sources list and lists folder, so
# the system's apt configuration stays as it is (Debian 12 has no such package). Only the headers are
# used; the library is the one the onnxruntime wheel ships (its C API is backward compatible).
set -euo pipefail
dest=$(realpath -m "${1:?usage: onnxruntime_headers.sh DEST}")
if [ -f "$dest/include/onnxruntime/onnxruntime_cxx_api.h" ]; then echo "$dest/include/onnxruntime"; exit 0; fi
apt_dir=$(mktemp -d)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$dest"
echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
apt_options=(-q -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
             -o "Dir::State::Lists=$apt_dir/lists" -o "APT::Sandbox::User=root")
apt-get "${apt_options[@]}" update >/dev/null
(cd "$apt_dir" && apt-get "${apt_options[@]}" download libonnxruntime-dev >/dev/null 2>&1)
dpkg -x "$apt_dir"/libonnxruntime-dev_*.deb "$apt_dir/x"
mkdir -p "$dest/include"
cp -r "$apt_dir/x/usr/include/onnxruntime" "$dest/include/"
echo "$dest/include/onnxruntime"
