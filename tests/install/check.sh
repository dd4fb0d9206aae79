#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds tests/install against it, runs it.
# usage: check.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/install_check" --master 'local[2]')
echo "$out"
[[ "$out" == "a=3 b=1 c=1 " ]]
