#!/usr/bin/env bash
# The test suite's short run of one fuzz target: replays its regressions, then fuzzes for a few
# seconds from its seed corpus (copied to a temporary directory, so the repository stays clean).
# Fails when the target is missing (build it with scripts/fuzz build), a regression fails, or the
# fuzzer finds anything; the work directory is then kept and the fuzzer's report printed.
#
# usage: run_short.sh FUZZ_BUILD_DIR TARGET [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$1/$2 target=$2 seconds=${3:-5}

if [[ ! -x $bin ]]; then
  echo "run_short.sh: $bin is missing: build the fuzz targets with scripts/fuzz build" >&2
  echo "(scripts/test does; they need clang and libclang-rt-14-dev, see scripts/setup)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/spate-$target-XXXXXX")
mkdir "$work/corpus" "$work/crashes"
failed() {
  echo "run_short.sh: $target: $1" >&2
  tail -n 60 "$work/log" >&2 || true
  echo "run_short.sh: kept $work (the failing input is in crashes/ or regressions)" >&2
  exit 1
}

regressions=("$here/regressions/$target"/*)
if [[ -e ${regressions[0]} ]]; then
  "$bin" "${regressions[@]}" >"$work/log" 2>&1 || failed "a regression input fails"
  echo "$target: ${#regressions[@]} regression inputs pass"
fi

cp -r "$here/corpus/$target/." "$work/corpus/"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256
      -artifact_prefix="$work/crashes/")
[[ -f $here/$target.dict ]] && args+=(-dict="$here/$target.dict")
# The targets add inputs made from real values (fuzz_task's seeds name this binary's types).
SPATE_FUZZ_WRITE_SEEDS="$work/corpus" "$bin" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 ||
  failed "the fuzzer found a failing input"
grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | sed "s/^/$target: /" || true
rm -rf "$work"
