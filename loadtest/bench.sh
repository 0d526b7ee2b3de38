#!/usr/bin/env bash
# Side-by-side benchmark of numbers on this machine, repeated RUNS times:
#   1. raw limits: the local SQS's batched send and receive+delete rates, and
#      Postgres's ingest rate for 1-row and 500-row inserts (Go benchmarks);
#   2. the product: `loadtest` at RATE/s for DURATION against the async proxy;
#   3. the synchronous baseline: the same load against a proxy with
#      WRITE_MODE=sync (insert per request, as the original app did);
#   4. both ceilings: `loadtest` at MAX_RATE/s against each.
# Everything runs against one `make run`-style stack (Postgres with default,
# durable settings), so the figures are comparable. Output: build/bench/.
#
#   make bench [RUNS=3 RATE=2000 DURATION=30s MAX_RATE=12000]
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
MAX_RATE=${MAX_RATE:-12000}
OUT=build/bench
STATE=$PWD/build/bench/stack
mkdir -p "$OUT/bin"
rm -rf "$STATE" "$OUT"/*.json "$OUT"/*.txt

go build -o "$OUT/bin/" ./local ./loadtest ./proxy
go test -c -o "$OUT/bin/sqsbench.test" ./shared/sqsqueue
go test -c -o "$OUT/bin/pgbench.test" ./shared/pgstore

HTTP_PORT=${HTTP_PORT:-48080}
SYNC_PORT=${SYNC_PORT:-48081}
LOCAL_STATE_DIR=$STATE HTTP_ADDR=127.0.0.1:$HTTP_PORT LOG_LEVEL=warn "$OUT/bin/local" run >"$OUT/stack.log" 2>&1 &
STACK=$!
SYNC=
cleanup() {
  [ -n "$SYNC" ] && kill "$SYNC" 2>/dev/null || true
  kill -INT "$STACK" 2>/dev/null || true
  wait "$STACK" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 120); do [ -f "$STATE/stack.env" ] && break; sleep 0.5; done
[ -f "$STATE/stack.env" ] || { echo "stack did not start; see $OUT/stack.log"; exit 1; }
set -a; . "$STATE/stack.env"; set +a
TARGET=http://$HTTP_ADDR
for _ in $(seq 60); do curl -sf "$TARGET/readyz" >/dev/null && break; sleep 0.5; done

rss() { # peak RSS in MB of the process whose command line matches $1
  local pid; pid=$(pgrep -f "$1" | head -1)
  awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$pid/status"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)" | tee "$OUT/machine.txt"
for run in $(seq "$RUNS"); do
  echo "== run $run of $RUNS"
  NUMBERS_TEST_SQS_ENDPOINT=$SQS_ENDPOINT "$OUT/bin/sqsbench.test" -test.run '^$' -test.bench Raw -test.benchtime 3s | tee "$OUT/raw-sqs-$run.txt"
  NUMBERS_TEST_DATABASE_URL=$DATABASE_URL "$OUT/bin/pgbench.test" -test.run '^$' -test.bench Raw -test.benchtime 3s | tee "$OUT/raw-pg-$run.txt"

  "$OUT/bin/loadtest" -quiet -target "$TARGET" -rate "$RATE" -duration "$DURATION" -report "$OUT/async-$run.json" -database-url "$DATABASE_URL"
  echo "{\"proxy_mb\": $(rss "$STATE/bin/proxy"), \"worker_mb\": $(rss "$STATE/bin/worker")}" | tee "$OUT/rss-$run.json"

  WRITE_MODE=sync HTTP_ADDR=127.0.0.1:$SYNC_PORT LOG_LEVEL=warn "$OUT/bin/proxy" 2>>"$OUT/sync-proxy.log" &
  SYNC=$!
  for _ in $(seq 60); do curl -sf "http://127.0.0.1:$SYNC_PORT/healthz" >/dev/null && break; sleep 0.2; done
  "$OUT/bin/loadtest" -quiet -target "http://127.0.0.1:$SYNC_PORT" -rate "$RATE" -duration "$DURATION" -report "$OUT/sync-$run.json" -database-url "$DATABASE_URL" || true
  kill "$SYNC"; wait "$SYNC" 2>/dev/null || true; SYNC=
done
# The ceilings last: an overload run leaves the proxy's peak RSS high, and
# the 2000/s figures above must not carry it.
for run in $(seq "$RUNS"); do
  echo "== ceiling run $run of $RUNS"
  "$OUT/bin/loadtest" -quiet -target "$TARGET" -rate "$MAX_RATE" -duration 20s -report "$OUT/max-$run.json" -database-url "$DATABASE_URL" -workers 256
  WRITE_MODE=sync HTTP_ADDR=127.0.0.1:$SYNC_PORT LOG_LEVEL=warn "$OUT/bin/proxy" 2>>"$OUT/sync-proxy.log" &
  SYNC=$!
  for _ in $(seq 60); do curl -sf "http://127.0.0.1:$SYNC_PORT/healthz" >/dev/null && break; sleep 0.2; done
  "$OUT/bin/loadtest" -quiet -target "http://127.0.0.1:$SYNC_PORT" -rate "$MAX_RATE" -duration 20s -report "$OUT/syncmax-$run.json" -database-url "$DATABASE_URL" -workers 256 || true
  kill "$SYNC"; wait "$SYNC" 2>/dev/null || true; SYNC=
done
python3 loadtest/benchsummary.py "$OUT" | tee "$OUT/summary.md"
