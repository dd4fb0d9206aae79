#!/usr/bin/env bash
# spate-launch for real, with a stand-in for ssh that runs the remote command on this host:
# a job on two executors returns what local[2] returns, the remote side leaves no secret file,
# and a failing driver's status comes back promptly with its executors stopped.
# usage: local_run.sh LAUNCHER BIN_DIR
set -uo pipefail
launch=$1 bin=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() {
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

# ssh [-T] [-o OPTION]... HOST COMMAND...: runs COMMAND with sh here, as sshd would there.
cat >"$work/ssh" <<'SSH'
#!/usr/bin/env bash
while [[ ${1:-} == -* ]]; do case $1 in -o) shift 2 ;; *) shift ;; esac; done
shift
exec sh -c "$*"
SSH
chmod +x "$work/ssh"
printf 'host-a\nhost-b\n' >"$work/hosts"
mkdir "$work/remote-tmp"

"$bin/spate-gen-clicks" --rows 20000 --seed 5 --bad-rate 0.01 --users 3000 --out "$work/clicks.tsv" \
  >/dev/null 2>&1 || { echo "FAIL spate-gen-clicks"; exit 1; }
"$bin/spate-clicks" join --input "$work/clicks.tsv" --out "$work/expected" --master 'local[2]' 2>/dev/null ||
  { echo "FAIL the local[2] run"; exit 1; }

TMPDIR=$work/remote-tmp timeout 120 "$launch" --hosts "$work/hosts" --ssh "$work/ssh" \
  --driver-host 127.0.0.1 -- "$bin/spate-clicks" join --input "$work/clicks.tsv" --out "$work/got" \
  >"$work/log" 2>&1
rc=$?
cat "$work/log"
check "the launched job succeeds" test "$rc" -eq 0
check "its output equals local[2]'s" cmp -s "$work/expected" "$work/got"
check "no secret file is left on the executor side" \
  test -z "$(ls -A "$work/remote-tmp")"

start=$SECONDS
TMPDIR=$work/remote-tmp timeout 120 "$launch" --hosts "$work/hosts" --ssh "$work/ssh" \
  --driver-host 127.0.0.1 -- "$bin/spate-clicks" nosuchjob --input "$work/clicks.tsv" \
  >"$work/log" 2>&1
rc=$?
check "a failing driver's status is the launcher's (2, got $rc)" test "$rc" -eq 2
check "and its executors are stopped at once ($((SECONDS - start)) s)" test $((SECONDS - start)) -lt 8
check "no secret file is left after the failure" test -z "$(ls -A "$work/remote-tmp")"

if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
