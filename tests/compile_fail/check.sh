#!/usr/bin/env bash
# Passes when SOURCE fails to compile, with TEXT in the diagnostics and a "required from here"
# at the line of SOURCE marked "// the user's line".
#   check.sh CXX INCLUDE_DIR SOURCE TEXT
set -uo pipefail
cxx=$1 include=$2 source=$3 text=$4
line=$(grep -n "// the user's line" "$source" | cut -d: -f1)
if out=$("$cxx" -std=c++20 -fsyntax-only -I"$include" "$source" 2>&1); then
  echo "$source compiled, but it must not"
  exit 1
fi
if ! grep -qF -- "$text" <<<"$out"; then
  echo "the diagnostics of $source lack: $text"
  echo "$out" | head -40
  exit 1
fi
if ! grep -qE "$(basename "$source"):$line:[0-9]+:   required from here" <<<"$out"; then
  echo "the diagnostics of $source do not point at its line $line"
  echo "$out" | head -40
  exit 1
fi
echo "$source: fails to compile, as it must, at line $line"
