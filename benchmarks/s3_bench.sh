#!/usr/bin/env bash
# Runs spate-bench-s3 against s3rver (tests/s3, installed by scripts/setup --test) started here
# on a free loopback port with a fresh data directory, and stops it by its pid at the end.
#   benchmarks/s3_bench.sh BIN_DIR [spate-bench-s3 flags...]
set -euo pipefail
bin=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
s3rver="$root/tests/s3/node_modules/s3rver/bin/s3rver.js"
if [[ ! -f $s3rver ]] || ! command -v node >/dev/null; then
  echo "(not run: s3rver is not installed; run scripts/setup --test)"
  exit 0
fi
data=$(mktemp -d /tmp/spate-bench-s3rver.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# --openssl-legacy-provider: s3rver ciphers its listing continuation tokens with DES.
node --openssl-legacy-provider "$s3rver" -d "$data" -a 127.0.0.1 -p "$port" --silent --configure-bucket bench &
pid=$!
trap 'kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" "$bin/spate-bench-s3" "$@"
