#!/usr/bin/env bash
# Slurm test: a real Slurm cluster (slurmctld and three slurmd from Debian's slurm-wlm, munge for
# authentication), each daemon in its own network namespace with its own host name. The
# click-log jobs are submitted with sbatch through scripts/spate.sbatch (spate-launch --slurm)
# and must write exactly what `--master local[2]` writes; a job whose node is lost mid-job must
# still finish with the right answer; a job ended by scancel must leave no process behind.
#
# usage: run.sh LAUNCH_DIR [BIN_DIR]   (LAUNCH_DIR holds spate-launch and spate.sbatch; BIN_DIR
#                                      holds spate-clicks and spate-gen-clicks; default build/bin)
#
# Topology: namespace spate-slurm-PID-c holds slurmctld (host name "ctl") and a bridge at
# 10.214.0.1/24; namespaces -n1..-n3 hold one slurmd each (host names n1..n3, 10.214.0.11..13),
# joined to the bridge by veth pairs created inside the namespaces: nothing changes on the host's
# interfaces. One munged (in the controller's namespace) serves all of them: its socket is a
# file, and a file is reachable from every network namespace. Slurm's commands (sbatch, scontrol, scancel)
# run in the controller's namespace; slurm.conf, state, spool, logs, input and outputs live in
# one temporary directory, the cluster's shared filesystem.
#
# SPATE_SLURM_KEEP=1 keeps the temporary directory (slurm.conf, every daemon's and job's log).
# Needs root, iproute2, unshare (util-linux), slurmctld, slurmd, the Slurm client commands and
# munged; otherwise prints why and exits 77 (ctest: skipped). Cleanup (daemons and jobs by PID,
# namespaces, temporary files) runs on every exit path. Every wait is bounded; the whole run stays
# within BUDGET seconds, under ctest's own timeout.
set -uo pipefail

SKIP=77
BUDGET=${SPATE_SLURM_BUDGET:-200}
JOBS=(ctr uniques join sessions wordcount)
NET=10.214.0

script_dir=$(cd "$(dirname "$0")" && pwd)
launch_dir=${1:-$script_dir/../../scripts}
bin=${2:-$script_dir/../../build/bin}
start=$SECONDS

skip() { echo "slurm: SKIPPED: $*"; exit "$SKIP"; }
note() { echo "slurm: $*"; }
fail_now() { echo "slurm: FAIL: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces and run slurmd (running as uid $(id -u))"
for c in ip nsenter unshare timeout hostname slurmctld slurmd sbatch salloc srun scontrol scancel squeue munged; do
  command -v "$c" >/dev/null 2>&1 ||
    skip "the '$c' command is not installed (scripts/setup --test installs it)"
done
for p in spate-clicks spate-gen-clicks; do
  [[ -x $bin/$p ]] || fail_now "$bin/$p is missing; build first (scripts/build)"
done
for p in spate-launch spate.sbatch; do
  [[ -f $launch_dir/$p ]] || fail_now "$launch_dir/$p is missing"
done
bin=$(cd "$bin" && pwd)
launch_dir=$(cd "$launch_dir" && pwd)

source "$script_dir/../netns_support.sh"

ns_c="spate-slurm-$$-c"
ns_n=("spate-slurm-$$-n1" "spate-slurm-$$-n2" "spate-slurm-$$-n3")
work=""
munged_pid=""
freezer=""  # the freezer cgroup of n3's processes (node-lost), and how to freeze and thaw it
freeze_file="" frozen_word="" thawed_word=""

# Every process of this run lives in one of our namespaces: munged, the Slurm daemons, the jobs.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  [[ -z $freezer ]] || thaw  # a frozen process cannot die; SIGTERM and SIGKILL wait for a thaw
  remove_namespaces 30
  [[ -z $freezer ]] || rmdir "$freezer" 2>/dev/null
  if [[ -n $munged_pid ]]; then
    kill -TERM "$munged_pid" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$munged_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$munged_pid" 2>/dev/null
  fi
  if [[ -n $work && -d $work ]]; then
    if [[ -n ${SPATE_SLURM_KEEP:-} ]]; then echo "slurm: kept $work"; else rm -rf "$work"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Namespaces left by an earlier run that was killed before its cleanup.
remove_stale_namespaces '^spate-slurm-[0-9]+-(c|n[0-9]+)$' spate-slurm-

# --- network -------------------------------------------------------------------------------
make_star "$ns_c" "${ns_n[@]}"
for i in 1 2 3; do
  for _ in $(seq 1 50); do
    [[ $(ip -n "${ns_n[i - 1]}" -br link show eth0 2>/dev/null) == *UP* ]] && break
    sleep 0.1
  done
done

# --- munge and slurm.conf ------------------------------------------------------------------
# Runs a command in a namespace. Not `ip netns exec`, which mounts a sysfs of the namespace's
# own over /sys and so hides /sys/fs/cgroup: slurmd 22.05 initialises its cgroup plugin even
# when no cgroup plugin is configured, and fails without a cgroup filesystem.
in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/spate-slurm.XXXXXX")
chmod 755 "$work"
mkdir -p "$work/munge" "$work/state" "$work/log" "$work/spool" "$work/jobs"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
socket=$work/munge/munge.socket
in_ns "$ns_c" munged --foreground --force --socket="$socket" --key-file="$work/munge/munge.key" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
  --seed-file="$work/munge/munged.seed" >"$work/log/munged.out" 2>&1 &
munged_pid=$!
for _ in $(seq 1 50); do [[ -S $socket ]] && break; kill -0 "$munged_pid" 2>/dev/null || break; sleep 0.1; done
[[ -S $socket ]] || { cat "$work/log/munged.out" "$work/log/munged.log" 2>/dev/null; fail_now "munged did not start"; }

conf=$work/slurm.conf
cat >"$conf" <<CONF
# A three-node test cluster; every path is under $work.
ClusterName=spatetest
SlurmctldHost=ctl($NET.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/spool/slurmd-%n.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: processes are tracked by their parent chain, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
SlurmdTimeout=10
MinJobAge=600
KillWait=30
InactiveLimit=0
PropagateResourceLimits=NONE
NodeName=n1 NodeAddr=$NET.11 CPUs=2 State=UNKNOWN
NodeName=n2 NodeAddr=$NET.12 CPUs=2 State=UNKNOWN
NodeName=n3 NodeAddr=$NET.13 CPUs=2 State=UNKNOWN
PartitionName=spate Nodes=n1,n2,n3 Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf

# Runs a Slurm command in the controller's namespace (where the cluster is reachable).
in_ctl() { in_ns "$ns_c" "$@"; }

# --- daemons -------------------------------------------------------------------------------
in_ctl unshare --uts sh -c 'hostname ctl && exec slurmctld -D -i -f "$1"' slurmctld "$conf" \
  >"$work/log/slurmctld.out" 2>&1 &
start_slurmd() {
  local i=$1
  mkdir -p "$work/spool/n$i"
  in_ns "${ns_n[i - 1]}" unshare --uts sh -c 'hostname "$1" && exec slurmd -D -N "$1" -f "$2"' \
    slurmd "n$i" "$conf" >>"$work/log/slurmd-n$i.out" 2>&1 &
}
for i in 1 2 3; do start_slurmd "$i"; done

show_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "----- ${f#$work/} (last 30 lines)"
    tail -n 30 "$f"
  done
}

# Waits until N nodes are idle.
wait_idle() {
  local n=$1 limit=$2 deadline=$((SECONDS + $2)) idle
  while ((SECONDS < deadline)); do
    idle=$(in_ctl sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | wc -l)
    ((idle >= n)) && return 0
    sleep 0.3
  done
  return 1
}
if ! wait_idle 3 "$(left 40)"; then
  in_ctl sinfo -N -l 2>&1
  show_logs "$work/log/slurmctld.out" "$work/log/slurmctld.log" "$work/log/slurmd-n1.out" "$work/log/slurmd-n1.log"
  fail_now "the cluster did not come up (three idle nodes) within 40 s"
fi
note "cluster up: slurmctld on ctl ($NET.1), slurmd on n1..n3 ($NET.11-13) ($((SECONDS - start)) s)"

# --- data and the local[2] references --------------------------------------------------------
data=$work/data
mkdir -p "$data"
gen() {  # gen ROWS FILE
  "$bin/spate-gen-clicks" --rows "$1" --seed 3 --bad-rate 0.01 --users 5000 --out "$2" >>"$work/log/gen.log" 2>&1 ||
    { cat "$work/log/gen.log"; fail_now "spate-gen-clicks failed"; }
}
gen 30000 "$data/clicks.tsv"
reference() {  # reference JOB INPUT OUT
  timeout "$(left 60)" "$bin/spate-clicks" "$1" --input "$2" --out "$3" --master 'local[2]' --no-ui \
    >"$3.log" 2>&1 || { cat "$3.log"; fail_now "the local[2] reference run of $1 failed"; }
}
for job in "${JOBS[@]}"; do reference "$job" "$data/clicks.tsv" "$work/jobs/$job.expected"; done

export SPATE_LAUNCH=$launch_dir/spate-launch
unset SPATE_SECRET SPATE_SECRET_FILE SPATE_SECRET_FD SPATE_MASTER SPATE_EXECUTOR SPATE_LAUNCH_OPTIONS

# Submits the batch template for a spate-clicks job on the three nodes; prints the job id.
submit() {  # submit NAME JOB INPUT [spate-clicks flags...]
  local name=$1 job=$2 input=$3
  shift 3
  in_ctl sbatch --parsable --job-name="$name" --nodes=3 --time=3 --chdir="$work/jobs" \
    --output="$work/jobs/$name.out" "$launch_dir/spate.sbatch" "$bin/spate-clicks" "$job" \
    --input "$input" --out "$work/jobs/$name.txt" --event-log "$work/jobs/$name.events" "$@"
}
# A job's field from scontrol (JobState, ExitCode, ...).
job_field() { in_ctl scontrol -o show job "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -n 1 | cut -d= -f2; }
# Waits until a job has ended; prints its final state.
wait_job() {  # wait_job ID SECONDS
  local deadline=$((SECONDS + $2)) state
  while :; do
    state=$(job_field "$1" JobState)
    case $state in
      PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|"") ;;
      *) echo "$state"; return 0 ;;
    esac
    ((SECONDS >= deadline)) && { echo "${state:-unknown}"; return 1; }
    sleep 0.3
  done
}
events() { cat "$work/jobs/$1.events"/*.jsonl 2>/dev/null; }

# Checks one finished job: COMPLETED with exit 0, output equal to local[2]'s, and three executors
# on n1..n3 with the node's two CPUs each as task slots.
check_job() {  # check_job NAME JOB STATE
  local name=$1 job=$2 state=$3 out=$work/jobs/$1.txt ok=1 n
  if [[ $state != COMPLETED ]]; then
    echo "FAIL $name: the Slurm job ended $state (exit $(job_field "$(cat "$work/jobs/$name.id")" ExitCode))"; ok=0
  elif [[ ! -f $out ]]; then
    echo "FAIL $name: no output file"; ok=0
  elif ! cmp -s "$work/jobs/$job.expected" "$out"; then
    echo "FAIL $name: output differs from local[2] ($(wc -l <"$out") vs $(wc -l <"$work/jobs/$job.expected") lines):"
    diff "$work/jobs/$job.expected" "$out" | head -n 20
    ok=0
  fi
  if ! events "$name" | grep '"event":"log_start"' | grep -q '"host":"n1"'; then
    echo "FAIL $name: the driver did not run on the first node, n1"; ok=0
  fi
  for n in 1 2 3; do
    if ! events "$name" | grep '"event":"executor_added"' | grep '"executor":"n'$n'"' |
        grep -q "\"address\":\"$NET.1$n:[0-9]*\",\"cores\":2"; then
      echo "FAIL $name: no executor n$n at $NET.1$n with 2 cores (the node's CPUs) in its event log"; ok=0
    fi
  done
  if ((ok)); then
    echo "PASS $name ($(wc -l <"$out") lines, identical to local[2]; driver on n1, executors n1..n3 with 2 cores each)"
    return 0
  fi
  show_logs "$work/jobs/$name.out"
  return 1
}

failures=0
# The five jobs at once: Slurm queues them and runs one at a time (each takes all three nodes).
ids=()
for job in "${JOBS[@]}"; do
  id=$(submit "$job" "$job" "$data/clicks.tsv") || fail_now "sbatch refused $job: $id"
  echo "$id" >"$work/jobs/$job.id"
  ids+=("$id")
done
note "submitted ${JOBS[*]} as jobs ${ids[*]}"
for i in "${!JOBS[@]}"; do
  state=$(wait_job "${ids[i]}" "$(left 120)")
  check_job "${JOBS[i]}" "${JOBS[i]}" "$state" || failures=$((failures + 1))
done

# --- salloc: the launcher moves itself to the first node --------------------------------------
run_salloc() {
  local name=salloc-ctr rc
  timeout "$(left 60)" nsenter --net="/run/netns/$ns_c" salloc --nodes=3 --exclusive --no-kill --time=3 \
    --job-name="$name" "$launch_dir/spate-launch" --slurm -- "$bin/spate-clicks" ctr \
    --input "$data/clicks.tsv" --out "$work/jobs/$name.txt" --event-log "$work/jobs/$name.events" \
    >"$work/jobs/$name.out" 2>&1
  rc=$?
  grep -o 'Granted job allocation [0-9]*' "$work/jobs/$name.out" | awk '{print $4}' >"$work/jobs/$name.id"
  check_job "$name" ctr "$( ((rc == 0)) && echo COMPLETED || echo "exit-$rc")"
}
run_salloc || failures=$((failures + 1))

# Processes left in the nodes' namespaces other than their slurmd.
leftovers() {
  local i pid d comm out=""
  for i in 1 2 3; do
    d=$(cat "$work/spool/slurmd-n$i.pid" 2>/dev/null)
    for pid in $(ip netns pids "${ns_n[i - 1]}" 2>/dev/null); do
      [[ $pid == "$d" ]] && continue
      comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
      out+="${out:+ }n$i:$comm($pid)"
    done
  done
  echo "$out"
}

# --- scancel: nothing of the job is left --------------------------------------------------------
# The driver waits for a fourth executor that never comes, so the job runs until cancelled,
# with the launcher, the driver, both srun steps and the three executors alive. The job's
# environment holds the secret (SPATE_SECRET, passed on by sbatch): no started process may have
# it in its arguments or environment.
run_scancel() {
  local name=scancel secret id ok=1 n pid comm deadline left_over state
  secret=spate-slurm-secret-$RANDOM$RANDOM$RANDOM
  id=$(SPATE_SECRET=$secret SPATE_LAUNCH_OPTIONS="--min-executors 4" submit "$name" sessions "$data/clicks.tsv") ||
    { echo "FAIL $name: sbatch refused it: $id"; return 1; }
  echo "$id" >"$work/jobs/$name.id"
  deadline=$((SECONDS + $(left 30)))
  while (($(events "$name" | grep -c '"event":"executor_added"') < 3)) && ((SECONDS < deadline)); do sleep 0.2; done
  if (($(events "$name" | grep -c '"event":"executor_added"') < 3)); then
    echo "FAIL $name: three executors did not register within 30 s"; show_logs "$work/jobs/$name.out"; return 1
  fi
  local seen=""
  for n in 1 2 3; do
    for pid in $(ip netns pids "${ns_n[n - 1]}" 2>/dev/null); do
      comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
      case $comm in slurmd|slurmstepd) continue ;; esac
      seen+=" n$n:$comm"
      # The launcher (the batch script exec's it) holds it: the job was given it.
      tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q spate-launch && continue
      if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$secret"; then
        echo "FAIL $name: the secret is on the command line of n$n:$comm ($pid)"; ok=0
      fi
      if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qF "$secret"; then
        echo "FAIL $name: the secret is in the environment of n$n:$comm ($pid)"; ok=0
      fi
    done
  done
  note "running job $id:$seen"
  in_ctl scancel "$id" || { echo "FAIL $name: scancel $id failed"; ok=0; }
  deadline=$((SECONDS + $(left 20)))
  while left_over=$(leftovers) && [[ -n $left_over ]] && ((SECONDS < deadline)); do sleep 0.2; done
  if [[ -n $left_over ]]; then
    echo "FAIL $name: 20 s after scancel, processes are left: $left_over"; ok=0
  fi
  state=$(wait_job "$id" "$(left 20)")
  [[ $state == CANCELLED* ]] || { echo "FAIL $name: the job ended $state, not CANCELLED"; ok=0; }
  if ((ok)); then
    echo "PASS $name (no process of the job left on any node; the secret in no argument or environment)"
    return 0
  fi
  show_logs "$work/jobs/$name.out"
  return 1
}
run_scancel || failures=$((failures + 1))

# --- a node lost mid-job ----------------------------------------------------------------------
# A freezer cgroup (v1's freezer controller, or v2's cgroup.freeze) holding n3's processes:
# what they start is in it from birth. False when this kernel offers neither.
make_n3_freezer() {
  local dir pid v2
  if [[ -w /sys/fs/cgroup/freezer/cgroup.procs ]]; then
    dir=/sys/fs/cgroup/freezer/spate-slurm-$$-n3
    freeze_file=$dir/freezer.state frozen_word=FROZEN thawed_word=THAWED
  else
    v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
    [[ -n $v2 ]] || return 1
    dir=$v2/spate-slurm-$$-n3
    freeze_file=$dir/cgroup.freeze frozen_word=1 thawed_word=0
  fi
  mkdir "$dir" 2>/dev/null && [[ -e $freeze_file ]] || { rmdir "$dir" 2>/dev/null; return 1; }
  freezer=$dir
  for pid in $(ip netns pids "${ns_n[2]}" 2>/dev/null); do echo "$pid" >"$dir/cgroup.procs" 2>/dev/null; done
}
freeze() { echo "$frozen_word" >"$freeze_file" 2>/dev/null; }
thaw() { echo "$thawed_word" >"$freeze_file" 2>/dev/null; }

# Once the driver has started the job, every process of n3 (its slurmd, slurmstepd and the
# executor) is killed, as when a node crashes.
# The job must still finish with local[2]'s answer, the driver having taken n3's executor for
# lost; Slurm keeps the job (--no-kill) and marks n3 down.
# The job takes a fraction of a second, so n3 is slowed down before the job is submitted: its
# processes, and the executor from its birth, are frozen 90 ms in every 100. Its share of the
# job then takes ten times as long, and once its executor has registered (the job starts only
# once all three have) n3 is frozen for good: the job is certain to be running when the node
# goes, however fast or busy this machine is. Without a freezer cgroup, n3's executor is
# stopped (SIGSTOP) as soon as it is seen, which a busy machine can be too slow for.
run_node_lost() {
  local name=node-lost ok=1 id deadline state pids epid="" pid throttle
  gen 1000000 "$data/big/clicks.tsv"
  reference uniques "$data/big/clicks.tsv" "$work/jobs/uniques-big.expected"
  if make_n3_freezer; then
    (while freeze; do sleep 0.09; thaw; sleep 0.01; done) &
    throttle=$!
  fi
  id=$(submit "$name" uniques "$data/big/clicks.tsv") || { echo "FAIL $name: sbatch refused it: $id"; return 1; }
  echo "$id" >"$work/jobs/$name.id"
  deadline=$((SECONDS + $(left 30)))
  if [[ -z $freezer ]]; then
    while [[ -z $epid ]] && ((SECONDS < deadline)); do
      for pid in $(ip netns pids "${ns_n[2]}" 2>/dev/null); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == spate-clicks ]] && { epid=$pid; break; }
      done
      [[ -n $epid ]] || sleep 0.02
    done
    if [[ -z $epid ]]; then
      echo "FAIL $name: no executor seen on n3 within 30 s"; show_logs "$work/jobs/$name.out"; return 1
    fi
    (while kill -STOP "$epid" 2>/dev/null; do sleep 0.09; kill -CONT "$epid" 2>/dev/null; sleep 0.01; done) &
    throttle=$!
  fi
  until events "$name" | grep '"event":"executor_added"' | grep -q '"executor":"n3"' ||
      ((SECONDS >= deadline)); do
    sleep 0.02
  done
  kill "$throttle" 2>/dev/null
  wait "$throttle" 2>/dev/null
  # For good: what the driver gives n3 cannot finish now.
  if [[ -n $freezer ]]; then freeze; else kill -STOP "$epid" 2>/dev/null; fi
  until events "$name" | grep -q '"event":"job_start"' || ((SECONDS >= deadline)); do sleep 0.05; done
  if ! events "$name" | grep -q '"event":"job_start"'; then
    echo "FAIL $name: the job did not start within 30 s"; show_logs "$work/jobs/$name.out"; return 1
  fi
  pids=$(ip netns pids "${ns_n[2]}" | tr '\n' ' ')
  kill -KILL $pids 2>/dev/null
  [[ -z $freezer ]] || thaw  # frozen, they die only once thawed
  if events "$name" | grep -q '"event":"log_end"'; then
    echo "FAIL $name: the program had already ended when n3 was killed"; ok=0
  fi
  state=$(wait_job "$id" "$(left 60)")
  local out=$work/jobs/$name.txt
  if [[ $state != COMPLETED ]]; then
    echo "FAIL $name: the Slurm job ended $state (exit $(job_field "$id" ExitCode))"; ok=0
  elif ! cmp -s "$work/jobs/uniques-big.expected" "$out"; then
    echo "FAIL $name: output differs from local[2]"; diff "$work/jobs/uniques-big.expected" "$out" | head; ok=0
  fi
  if ! events "$name" | grep '"event":"executor_lost"' | grep -q '"executor":"n3"'; then
    echo "FAIL $name: the driver did not report n3's executor lost"; ok=0
  fi
  local lost_tasks
  lost_tasks=$(events "$name" | grep '"event":"task_end"' | grep '"executor":"n3"' | grep -c '"outcome":"lost"')
  ((lost_tasks > 0)) || { echo "FAIL $name: no task of n3's was lost and run again"; ok=0; }
  if ((ok)); then
    echo "PASS $name (n3 killed mid-job, $lost_tasks of its tasks run again; $(wc -l <"$out") lines, identical to local[2]; job $state)"
    return 0
  fi
  show_logs "$work/jobs/$name.out"
  return 1
}
mkdir -p "$data/big"
run_node_lost || failures=$((failures + 1))

checks=$((${#JOBS[@]} + 3))
if ((failures)); then
  note "$failures of $checks checks failed ($((SECONDS - start)) s)"
  exit 1
fi
note "all $checks checks passed: ${#JOBS[@]} sbatch jobs and one salloc job equal local[2]," \
  "scancel left nothing, a lost node was survived ($((SECONDS - start)) s)"
exit 0
