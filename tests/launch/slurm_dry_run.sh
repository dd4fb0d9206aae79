#!/usr/bin/env bash
# spate-launch --slurm --dry-run, in a made-up allocation (Slurm's variables set by hand): one
# srun step with an executor on every node, the driver with the master and the node count, the
# launcher moving itself to the first node when it is not there, and the secret never printed;
# and the clear errors outside an allocation or with --hosts. The real thing runs in
# tests/slurm/run.sh.
# usage: slurm_dry_run.sh LAUNCHER BIN_DIR
set -uo pipefail
launch=$1 bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
has() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
prog=$bin/spate-clicks
secret=s3cr3t-$RANDOM-$RANDOM-do-not-print
unset SLURM_JOB_ID SLURM_JOB_NODELIST SLURMD_NODENAME SLURM_JOB_CPUS_PER_NODE SPATE_SECRET_FILE

out=$("$launch" --slurm --dry-run -- "$prog" ctr --input x 2>&1)
rc=$?
check "outside an allocation: exit 2 ($rc)" test "$rc" -eq 2
check "outside an allocation: says so and how to run it" \
  has "$out" "--slurm: not inside a Slurm allocation (SLURM_JOB_ID is not set); run it from a batch script (sbatch"
out=$(SLURM_JOB_ID=42 "$launch" --slurm --hosts /dev/null --dry-run -- "$prog" ctr 2>&1)
check "--hosts with --slurm is refused" has "$out" "--hosts and --slurm exclude each other"

if ! command -v scontrol >/dev/null 2>&1; then
  echo "skip the allocation checks: Slurm's scontrol is not installed (scripts/setup --test)"
else
  # scontrol expands the node list without a controller, but wants a configuration to read.
  printf 'ClusterName=dry\nSlurmctldHost=localhost\nNodeName=n[1-3] CPUs=2\nPartitionName=p Nodes=n[1-3]\n' \
    >"$work/slurm.conf"
  export SLURM_CONF=$work/slurm.conf SLURM_JOB_ID=42 SLURM_JOB_NODELIST='n[1-3]'
  export SLURM_JOB_CPUS_PER_NODE='2(x2),1'

  out=$(SLURMD_NODENAME=n1 SPATE_SECRET=$secret "$launch" --slurm --dry-run --driver-host 192.0.2.10 \
    --port 7177 -- "$prog" ctr --input /data/clicks.tsv 2>&1)
  rc=$?
  echo "$out"
  check "on the first node: exit 0 ($rc)" test "$rc" -eq 0
  check "names the job and the nodes" has "$out" "Slurm job 42, executors on n1 n2 n3, driver at spate://192.0.2.10:7177"
  check "one srun step, one task on each of the 3 nodes" \
    has "$out" "srun --nodes=3 --ntasks=3 --ntasks-per-node=1 '--nodelist=n[1-3]' --overlap --no-kill"
  check "srun broadcasts its standard input (the secret) to every task" has "$out" "--input=all"
  check "srun runs without the secret in its environment" \
    has "$out" "env -u SPATE_SECRET -u SPATE_SECRET_FILE -u SPATE_SECRET_FD srun"
  check "each task runs the program as an executor of the driver, cores per node from the job" \
    has "$out" "spate-executor $prog spate://192.0.2.10:7177 '' 2,2,1  # stdin: the secret"
  check "each task reads the secret from standard input" has "$out" "SPATE_SECRET_FILE=-"
  check "the driver gets the master and waits for 3 executors" \
    has "$out" "$prog ctr --input /data/clicks.tsv --master spate://192.0.2.10:7177 --min-executors 3"
  check "the secret is never printed" lacks "$out" "$secret"

  out=$(SLURMD_NODENAME=n1 "$launch" --slurm --dry-run --cores 4 --min-executors 2 -- "$prog" ctr 2>&1)
  check "--cores overrides the job's CPUs" grep -qE "spate-executor $prog spate://[^ ]+ 4 2,2,1" <<<"$out"
  check "--min-executors is the driver's" has "$out" "--min-executors 2"

  out=$(SPATE_SECRET=$secret "$launch" --slurm --dry-run --cores 4 -- "$prog" ctr 2>&1)
  rc=$?
  echo "$out"
  check "away from the first node (salloc's shell): exit 0 ($rc)" test "$rc" -eq 0
  check "the launcher moves to n1 as a one-task step, without the secret in its environment" \
    has "$out" "env -u SPATE_SECRET -u SPATE_SECRET_FILE -u SPATE_SECRET_FD srun --nodes=1 --ntasks=1 --nodelist=n1 --overlap --no-kill --input=all"
  check "and hands itself the secret on standard input, with its options" \
    grep -qE -- "spate-launch --slurm --secret-stdin --cores 4 -- $prog ctr  # stdin: the secret" <<<"$out"
  check "the secret is never printed (moving)" lacks "$out" "$secret"
fi

if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
