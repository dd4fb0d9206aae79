# Shared by the multi-host shell tests (tests/multihost/run.sh, tests/slurm/run.sh): a star of
# network namespaces (a hub with a bridge, spokes joined to it by veth pairs made inside the
# namespaces, so nothing changes on the host), its teardown, and the run's time budget.
# Sourced; the caller sets BUDGET, start (= $SECONDS at its start), NET (a /24 prefix such as
# 10.213.0) and defines note() and skip(). The namespaces made so far are in created_ns.

created_ns=()

# Seconds left of the budget, capped at $1 (at least 1).
left() {
  local l=$((BUDGET - (SECONDS - start)))
  ((l > $1)) && l=$1
  ((l < 1)) && l=1
  echo "$l"
}

# Sends signal $1 to every process inside our namespaces (ip netns pids), nothing else.
kill_ns_processes() {
  local sig=$1 ns pids
  for ns in "${created_ns[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [[ -n $pids ]] && kill "-$sig" $pids 2>/dev/null
  done
}

# Ends every process in our namespaces (SIGTERM, up to $1 tenths of a second, then SIGKILL) and
# deletes the namespaces.
remove_namespaces() {
  local tenths=$1 ns any
  ((${#created_ns[@]})) || return 0
  kill_ns_processes TERM
  for _ in $(seq 1 "$tenths"); do
    any=""
    for ns in "${created_ns[@]}"; do [[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && any=1; done
    [[ -z $any ]] && break
    sleep 0.1
  done
  kill_ns_processes KILL
  for ns in "${created_ns[@]}"; do
    ip netns del "$ns" 2>/dev/null || note "could not delete namespace $ns"
  done
  created_ns=()
}

# Deletes the namespaces named PREFIX-PID-... (matching the extended regex $1, whose PID follows
# the prefix $2) of an earlier run that was killed before its cleanup (its PID is gone).
remove_stale_namespaces() {
  local pattern=$1 prefix=$2 stale pid pids
  for stale in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "$pattern"); do
    pid=${stale#"$prefix"}
    pid=${pid%%-*}
    if ! kill -0 "$pid" 2>/dev/null; then
      pids=$(ip netns pids "$stale" 2>/dev/null | tr '\n' ' ')
      [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
      ip netns del "$stale" 2>/dev/null && note "removed stale namespace $stale"
    fi
  done
}

# Makes namespace $1 the hub (bridge br0 at $NET.1/24) and $2.. its spokes (eth0 at $NET.11,
# $NET.12, ...); skips the test when the kernel or privileges do not allow it.
make_star() {
  local hub=$1 err rc ns
  shift
  local spokes=("$@")
  err=$(ip netns add "$hub" 2>&1) || skip "cannot create a network namespace: $err"
  created_ns+=("$hub")
  err=$(
    set -e
    ip -n "$hub" link set lo up
    ip -n "$hub" link add br0 type bridge
    ip -n "$hub" addr add "$NET.1/24" dev br0
    ip -n "$hub" link set br0 up
    for i in "${!spokes[@]}"; do
      ns=${spokes[i]}
      ip netns add "$ns"
      ip -n "$ns" link set lo up
      ip -n "$hub" link add "ve$((i + 1))" type veth peer name eth0 netns "$ns"
      ip -n "$hub" link set "ve$((i + 1))" master br0
      ip -n "$hub" link set "ve$((i + 1))" up
      ip -n "$ns" addr add "$NET.$((11 + i))/24" dev eth0
      ip -n "$ns" link set eth0 up
    done
  2>&1)
  rc=$?
  # The subshell's namespaces: recorded from what exists, so that cleanup finds each.
  for ns in "${spokes[@]}"; do ip netns list | awk '{print $1}' | grep -qx "$ns" && created_ns+=("$ns"); done
  if ((rc != 0 || ${#created_ns[@]} != ${#spokes[@]} + 1)); then
    skip "cannot set up the namespace network (bridge and veth): ${err:-missing namespaces}"
  fi
}
