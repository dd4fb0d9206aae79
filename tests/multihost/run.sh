#!/usr/bin/env bash
# Multi-host test: the click-log jobs on a driver and three executors, each in its own network
# namespace at its own address, must print exactly what `--master local[2]` prints; and a job
# must survive one executor's link going down mid-job (see run_netcut).
#
# usage: run.sh [BIN_DIR]      (BIN_DIR holds spate-clicks, spate-gen-clicks and spate_tests;
#                              default build/bin)
#
# Topology: four namespaces, spate-PID-d (driver) and spate-PID-e1..e3 (executors). The driver's
# namespace holds a bridge (10.213.0.1/24); each executor namespace is joined to it by a veth pair
# (10.213.0.11..13/24), so executors reach the driver and each other's block servers. Every link
# is created inside the namespaces (`ip -n`): nothing is added to or changed on the host's
# interfaces or routes, and 10.213.0.0/24 exists only inside the namespaces.
#
# SPATE_MULTIHOST_KEEP=1 keeps the temporary directory (input, outputs, every process's log).
# Needs root and iproute2; otherwise prints why and exits 77 (ctest: skipped). Cleanup (processes,
# namespaces, temporary files) runs on every exit. Every wait is bounded; the whole run stays
# within BUDGET seconds so that ctest's own timeout (300 s) never has to kill it mid-cleanup.
set -uo pipefail

SKIP=77
BUDGET=${SPATE_MULTIHOST_BUDGET:-260}   # seconds for the whole run
JOBS=(ctr uniques join sessions wordcount)
NET=10.213.0
PORT=7077
DRIVER_URL="spate://$NET.1:$PORT"

script_dir=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$script_dir/../../build/bin}
start=$SECONDS

skip() { echo "multihost: SKIPPED: $*"; exit "$SKIP"; }
note() { echo "multihost: $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces (running as uid $(id -u))"
command -v ip >/dev/null 2>&1 || skip "the 'ip' command (iproute2) is not installed"
command -v timeout >/dev/null 2>&1 || skip "the 'timeout' command (coreutils) is not installed"
for p in spate-clicks spate-gen-clicks spate_tests; do
  [[ -x $bin/$p ]] || { echo "multihost: FAIL: $bin/$p is missing; build first (scripts/build)"; exit 1; }
done
bin=$(cd "$bin" && pwd)

source "$script_dir/../netns_support.sh"

ns_d="spate-$$-d"
ns_e=("spate-$$-e1" "spate-$$-e2" "spate-$$-e3")
work=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  remove_namespaces 20
  if [[ -n $work && -d $work ]]; then
    if [[ -n ${SPATE_MULTIHOST_KEEP:-} ]]; then echo "multihost: kept $work"; else rm -rf "$work"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Namespaces left by an earlier run that was killed before its cleanup.
remove_stale_namespaces '^spate-[0-9]+-(d|e[0-9]+)$' spate-

# --- network -------------------------------------------------------------------------------
make_star "$ns_d" "${ns_e[@]}"

# Wait (bounded) until every executor namespace reaches the driver's address.
wait_link() {
  local ns=$1 i
  for i in $(seq 1 50); do
    if command -v ping >/dev/null 2>&1; then
      ip netns exec "$ns" ping -c 1 -W 1 "$NET.1" >/dev/null 2>&1 && return 0
    else
      [[ $(ip -n "$ns" -br link show eth0 2>/dev/null) == *UP* ]] && return 0
    fi
    sleep 0.1
  done
  return 1
}
for ns in "${ns_e[@]}"; do
  wait_link "$ns" || { echo "multihost: FAIL: $ns cannot reach $NET.1 (network setup)"; exit 1; }
done
note "namespaces $ns_d ${ns_e[*]}: driver $NET.1, executors $NET.11-13 (bridge br0 in $ns_d)"

# --- data ----------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/spate-multihost.XXXXXX")
chmod 755 "$work"
input=$work/clicks.tsv
if ! "$bin/spate-gen-clicks" --rows 30000 --seed 3 --bad-rate 0.01 --users 5000 --out "$input" \
    >"$work/gen.log" 2>&1; then
  echo "multihost: FAIL: spate-gen-clicks failed:"; cat "$work/gen.log"; exit 1
fi

SPATE_SECRET=$( (openssl rand -hex 32 || od -An -tx1 -N32 /dev/urandom | tr -d ' \n') 2>/dev/null)
export SPATE_SECRET
unset SPATE_SECRET_FILE SPATE_MASTER SPATE_EXECUTOR

show_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "----- ${f#$work/} (last 30 lines)"
    tail -n 30 "$f"
  done
}

tx_bytes() { ip netns exec "$1" cat /sys/class/net/eth0/statistics/tx_bytes 2>/dev/null || echo 0; }

# Runs one job on the namespaced cluster; returns 0 when its output equals local[2]'s.
run_job() {
  local job=$1 d=$work/$1
  mkdir -p "$d"
  local expected=$d/expected.txt out=$d/cluster.txt
  if ! timeout "$(left 120)" "$bin/spate-clicks" "$job" --input "$input" --out "$expected" \
      --master 'local[2]' >"$d/local.log" 2>&1; then
    echo "FAIL $job: the local[2] reference run failed"; show_logs "$d/local.log"; return 1
  fi

  # Evidence that the work crossed the namespaces: bytes each executor sent, and which other
  # executors it reached directly (shuffle fetches), from its neighbour table (flushed here).
  local tx0=() i
  for i in 1 2 3; do
    ip -n "${ns_e[i - 1]}" neigh flush dev eth0 2>/dev/null
    tx0+=("$(tx_bytes "${ns_e[i - 1]}")")
  done

  # Driver first, then executors (they also retry while the driver is not listening yet).
  ip netns exec "$ns_d" timeout "$(left 120)" "$bin/spate-clicks" "$job" --input "$input" \
    --out "$out" --master "$DRIVER_URL" --min-executors 3 --executor-wait 60 \
    >"$d/driver.log" 2>&1 &
  local driver=$!
  local epids=()
  for i in 1 2 3; do
    ip netns exec "${ns_e[i - 1]}" "$bin/spate-clicks" --executor "$DRIVER_URL" --executor-cores 1 \
      >"$d/executor$i.log" 2>&1 &
    epids+=($!)
  done

  wait "$driver"
  local drc=$? ok=1
  if ((drc == 124)); then
    echo "FAIL $job: the driver did not finish in time (killed by timeout)"; ok=0
  elif ((drc != 0)); then
    echo "FAIL $job: the driver exited with status $drc"; ok=0
  fi

  # Executors end by themselves once their driver is gone; give them a bounded while. (When the
  # driver failed before they registered, they keep retrying the connection: stop them quietly.)
  local deadline=$((SECONDS + $(left $((ok ? 20 : 2))))) alive
  while :; do
    alive=()
    for i in 0 1 2; do kill -0 "${epids[i]}" 2>/dev/null && alive+=("e$((i + 1))"); done
    ((${#alive[@]} == 0 || SECONDS >= deadline)) && break
    sleep 0.2
  done
  if ((${#alive[@]})); then
    if ((ok)); then
      echo "FAIL $job: executor(s) ${alive[*]} still running 20 s after the driver finished (killed)"
      ok=0
    fi
    for i in 0 1 2; do kill -KILL "${epids[i]}" 2>/dev/null; done
  fi
  local erc
  for i in 0 1 2; do
    { wait "${epids[i]}"; } 2>/dev/null
    erc=$?
    # An executor whose driver finished exits 0; any other status is worth seeing.
    if ((erc != 0 && ok)); then
      echo "FAIL $job: executor e$((i + 1)) exited with status $erc"; ok=0
    fi
  done

  if grep -q "listens on 127.0.0.1 only" "$d/driver.log"; then
    echo "FAIL $job: the driver ignored SPATE_SECRET and bound to loopback"; ok=0
  fi
  if ((ok)); then
    if [[ ! -f $out ]]; then
      echo "FAIL $job: the driver wrote no output file"; ok=0
    elif ! cmp -s "$expected" "$out"; then
      echo "FAIL $job: output differs from local[2] ($(wc -l <"$out") vs $(wc -l <"$expected") lines):"
      diff "$expected" "$out" | head -n 20
      ok=0
    fi
  fi
  local traffic="" peers j
  for i in 1 2 3; do
    peers=""
    for j in 1 2 3; do
      ((i != j)) && ip -n "${ns_e[i - 1]}" neigh show "$NET.$((10 + j))" 2>/dev/null | grep -q . &&
        peers+="${peers:+,}e$j"
    done
    traffic+="${traffic:+; }e$i sent $(($(tx_bytes "${ns_e[i - 1]}") - tx0[i - 1])) B${peers:+, reached $peers}"
  done
  if ((ok)); then
    echo "PASS $job ($(wc -l <"$out") lines, identical to local[2]; $traffic)"
    return 0
  fi
  show_logs "$d/driver.log" "$d/executor1.log" "$d/executor2.log" "$d/executor3.log"
  return 1
}

# A host dropping off the network mid-job: no process dies and no connection closes, so only
# missed heartbeats tell. The driver (the test binary's hidden netcut test, heartbeat timeout
# 2 s) runs a slow job on the three executors; once it runs, e1's link goes down. The job must
# finish with the right answer on e2 and e3, and e1 must leave by itself (its driver went
# silent).
run_netcut() {
  local d=$work/netcut tests=$bin/spate_tests
  mkdir -p "$d"
  [[ -x $tests ]] || { echo "FAIL netcut: $tests is missing"; return 1; }
  SPATE_NETCUT_MASTER=$DRIVER_URL ip netns exec "$ns_d" timeout "$(left 90)" "$tests" \
    "[netcut]" >"$d/driver.log" 2>&1 &
  local driver=$! i epids=()
  for i in 1 2 3; do
    ip netns exec "${ns_e[i - 1]}" "$tests" --executor "$DRIVER_URL" --executor-cores 1 \
      --executor-id "e$i" >"$d/executor$i.log" 2>&1 &
    epids+=($!)
  done
  local n
  for n in $(seq 1 300); do grep -q "netcut: job running" "$d/driver.log" 2>/dev/null && break; sleep 0.1; done
  sleep 1
  ip -n "$ns_d" link set ve1 down
  wait "$driver"
  local drc=$? ok=1
  ((drc == 0)) || { echo "FAIL netcut: the driver's test failed (status $drc)"; ok=0; }
  # e1 hears nothing more from the driver: it must end by itself within its timeout.
  local deadline=$((SECONDS + $(left 20)))
  while kill -0 "${epids[0]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "${epids[0]}" 2>/dev/null; then
    echo "FAIL netcut: the cut-off executor e1 is still running"; ok=0
  elif ! grep -q "no word from the driver" "$d/executor1.log"; then
    echo "FAIL netcut: e1 ended without noticing the silent driver"; ok=0
  fi
  for i in 0 1 2; do kill -KILL "${epids[i]}" 2>/dev/null; { wait "${epids[i]}"; } 2>/dev/null; done
  ip -n "$ns_d" link set ve1 up
  if ((ok)); then
    echo "PASS netcut ($(grep -o 'netcut: [0-9].*' "$d/driver.log"))"
    return 0
  fi
  show_logs "$d/driver.log" "$d/executor1.log" "$d/executor2.log" "$d/executor3.log"
  return 1
}

failures=0
run_netcut || failures=$((failures + 1))
for job in "${JOBS[@]}"; do
  if ((SECONDS - start >= BUDGET)); then
    echo "FAIL $job: not run, the ${BUDGET} s budget is spent"; failures=$((failures + 1)); continue
  fi
  run_job "$job" || failures=$((failures + 1))
done

if ((failures)); then
  note "$failures of $((${#JOBS[@]} + 1)) checks failed ($((SECONDS - start)) s)"
  exit 1
fi
note "all ${#JOBS[@]} jobs equal local[2], and the network cut was survived ($((SECONDS - start)) s)"
exit 0
