#!/usr/bin/env bash
# spate-launch --dry-run: the printed commands start the driver with the right master and one
# executor per host with the --executor URL, and never contain the secret.
# usage: dry_run.sh LAUNCHER BIN_DIR
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

cat >"$work/hosts" <<'HOSTS'
# executors
node-a.example
   alice@node-b.example   # a user and a trailing comment

HOSTS
secret=s3cr3t-$RANDOM-$RANDOM-do-not-print
(umask 077 && printf '%s\n' "$secret" >"$work/secret")
prog=$bin/spate-clicks
url=spate://192.0.2.10:7177

run() { "$launch" --dry-run "$@" 2>&1; }

out=$(run --hosts "$work/hosts" --secret-file "$work/secret" --cores 3 --driver-host 192.0.2.10 \
  --port 7177 -- "$prog" ctr --input /data/clicks.tsv --out /data/ctr.tsv)
rc=$?
echo "$out"
check "exits 0" test "$rc" -eq 0
check "one ssh line per host (comments, blank lines skipped)" \
  test "$(grep -c '^ssh ' <<<"$out")" -eq 2
check "ssh to node-a" has "$out" "ssh -T -o BatchMode=yes node-a.example "
check "ssh to alice@node-b" has "$out" "ssh -T -o BatchMode=yes alice@node-b.example "
check "each executor gets --executor $url" \
  test "$(grep '^ssh ' <<<"$out" | grep -cF -- "--executor $url --executor-cores 3")" -eq 2
check "the executors run the same program path" \
  test "$(grep '^ssh ' <<<"$out" | grep -cF -- " $prog --executor")" -eq 2
check "the driver gets the master and waits for 2 executors" \
  has "$out" "$prog ctr --input /data/clicks.tsv --out /data/ctr.tsv --master $url --min-executors 2"
check "the driver reads the secret file" has "$out" "SPATE_SECRET_FILE=$work/secret"
check "the secret is never printed (--secret-file)" lacks "$out" "$secret"

out=$(SPATE_SECRET=$secret run --hosts "$work/hosts" --driver-host 192.0.2.10 --port 7177 -- "$prog" uniques --input x)
check "the secret is never printed (SPATE_SECRET)" lacks "$out" "$secret"
check "executor URL with SPATE_SECRET" has "$out" "--executor $url"

out=$(SPATE_SECRET_FILE=$work/secret run --hosts "$work/hosts" --driver-host 192.0.2.10 --port 7177 -- "$prog" uniques --input x)
check "the secret is never printed (SPATE_SECRET_FILE)" lacks "$out" "$secret"

out=$(run --hosts "$work/hosts" --driver-host 192.0.2.10 -- "$prog" ctr --input x)
check "no secret is made up for a dry run" has "$out" "env SPATE_SECRET_FD=<a pipe holding a random one> $prog ctr"
check "a port is picked" grep -qE -- "--executor spate://192\.0\.2\.10:[0-9]+ " <<<"$out"

out=$(run --hosts "$work/hosts" --driver-host fd00::7 --port 7177 --min-executors 1 -- "$prog" ctr --input x)
check "an IPv6 driver address is bracketed (driver)" has "$out" "--master 'spate://[fd00::7]:7177'"
check "an IPv6 driver address is bracketed (executors)" \
  test "$(grep '^ssh ' <<<"$out" | grep -cF -- "spate://[fd00::7]:7177")" -eq 2
check "--min-executors is passed on" has "$out" "--min-executors 1"

if addr=$(hostname -I 2>/dev/null | awk '{print $1}') && [[ -n $addr ]]; then
  out=$(run --hosts "$work/hosts" --port 7177 -- "$prog" ctr --input x)
  check "the driver host defaults to hostname -I's first address" has "$out" "--executor spate://$addr:7177"
fi

out=$(run --hosts "$work/hosts" -- "$prog" ctr --input x --master 'local[2]')
check "a --master among the program's arguments is refused" test $? -eq 2
check "... saying why" has "$out" "spate-launch sets the master"
out=$(printf '# nothing\n' >"$work/empty" && run --hosts "$work/empty" -- "$prog" ctr)
check "a hosts file without hosts is refused" test $? -eq 2

if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
