#!/usr/bin/env bash
# J4 (sessions) across hosts on a shaped network, with and without shuffle compression: a driver
# and two executors, each in its own network namespace, joined by veth pairs whose both ends are
# limited by a token bucket (tc tbf) to RATE. Prints, per codec, the median wall time of REPEAT
# runs and the shuffle bytes that crossed the network, and checks every output against local[2].
#
# usage: benchmarks/shaped_network.sh [BIN_DIR] [ROWS] [RATE] [REPEAT]
#        (defaults: build/bin, 2000000, 1gbit, 3). Needs root and iproute2.
#
# The kernel here lacks netem, so the links get a rate and no added delay; tbf keeps at most
# 256 KB in flight per link. Everything (namespaces, addresses 10.214.0.0/24, processes) lives in
# namespaces this script creates and removes; the host's interfaces and routes are untouched.
set -uo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$script_dir/../build/bin}" && pwd)
rows=${2:-2000000}
rate=${3:-1gbit}
repeat=${4:-3}
NET=10.214.0
URL="spate://$NET.1:7078"
ns_d="spate-shape-$$-d"
ns_e=("spate-shape-$$-e1" "spate-shape-$$-e2")

[[ $(id -u) -eq 0 ]] || { echo "shaped_network: needs root (network namespaces)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/spate-shaped.XXXXXX")

cleanup() {
  local ns pids
  for ns in "$ns_d" "${ns_e[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

set -e
ip netns add "$ns_d"
ip -n "$ns_d" link set lo up
ip -n "$ns_d" link add br0 type bridge
ip -n "$ns_d" addr add "$NET.1/24" dev br0
ip -n "$ns_d" link set br0 up
for i in 1 2; do
  ns=${ns_e[i - 1]}
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns_d" link add "ve$i" type veth peer name eth0 netns "$ns"
  ip -n "$ns_d" link set "ve$i" master br0
  ip -n "$ns_d" link set "ve$i" up
  ip -n "$ns" addr add "$NET.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
  # Both directions of each link: toward the executor (ve$i) and from it (eth0).
  ip netns exec "$ns_d" tc qdisc add dev "ve$i" root tbf rate "$rate" burst 256kb latency 50ms
  ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$rate" burst 256kb latency 50ms
done
set +e

"$bin/spate-gen-clicks" --rows "$rows" --seed 7 --out "$work/clicks.tsv" >/dev/null
"$bin/spate-clicks" sessions --input "$work/clicks.tsv" --master 'local[2]' --out "$work/expected.txt" \
  --no-ui --no-progress >/dev/null 2>&1
export SPATE_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')

# One run of J4 with codec $1; prints "seconds written_bytes remote_bytes" (shuffle bytes the
# map tasks wrote, and those that crossed the network: which ones do depends on where tasks ran).
run_once() {
  local codec=$1 out=$work/out-$1.txt
  rm -f "$out"
  local t0=$(date +%s.%N)
  ip netns exec "$ns_d" "$bin/spate-clicks" sessions --input "$work/clicks.tsv" --out "$out" \
    --master "$URL" --min-executors 2 --executor-wait 60 --shuffle-compression "$codec" --metrics \
    --no-ui --no-progress >"$work/driver.log" 2>&1 &
  local driver=$! i
  for i in 1 2; do
    ip netns exec "${ns_e[i - 1]}" "$bin/spate-clicks" --executor "$URL" --executor-cores 1 \
      >"$work/executor$i.log" 2>&1 &
  done
  if ! wait "$driver"; then
    echo "shaped_network: the $codec run failed:" >&2; tail -20 "$work/driver.log" >&2; exit 1
  fi
  local t1=$(date +%s.%N)
  wait
  cmp -s "$work/expected.txt" "$out" || { echo "shaped_network: $codec output differs from local[2]" >&2; exit 1; }
  local written remote
  written=$(grep -o 'shuffle.write.bytes=[0-9]*' "$work/driver.log" | cut -d= -f2)
  remote=$(grep -o 'shuffle.remote_bytes=[0-9]*' "$work/driver.log" | cut -d= -f2)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') ${written:-0} ${remote:-0}"
}

echo "J4 sessions, $rows rows, driver + 2 executors (1 core each) in namespaces, links at $rate;"
echo "median of $repeat runs; output equal to local[2] in every run"
printf '%-8s %10s %8s %14s %8s %14s\n' codec seconds ratio "bytes written" ratio "over the wire"
base="" base_bytes=""
for codec in none lz4 zstd; do
  times=()
  for _ in $(seq 1 "$repeat"); do
    read -r s written remote < <(run_once "$codec")
    times+=("$s")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeat + 1) / 2))p")
  [[ -z $base ]] && base=$median base_bytes=$written
  printf '%-8s %10.2f %7.2fx %14s %7.2fx %14s\n' "$codec" "$median" \
    "$(awk -v m="$median" -v b="$base" 'BEGIN { print m / b }')" "$written" \
    "$(awk -v w="$written" -v b="$base_bytes" 'BEGIN { print w / b }')" "$remote"
done
