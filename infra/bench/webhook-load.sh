#!/usr/bin/env bash
# Load bench of webhook intake on the local runner (release build, embedded store, loopback):
# distinct signed single-message deliveries from 1,000 contacts (English, French, Arabic) posted
# with wrk at 4, 16 and 64 connections, DURATION seconds each. Every 200 is already durable.
# Prints deliveries/s, latency percentiles, non-2xx answers, the runner's resident memory, and how
# long after each level the change feed (ai-reply answers every message) took to catch up: the
# runner's stream consumers run at low priority, so under load they fall behind the webhook.
#
#   bash infra/bench/webhook-load.sh            # DURATION=10 by default
#   DURATION=5 bash infra/bench/webhook-load.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required: apt-get install curl" >&2; exit 1; }
DURATION=${DURATION:-10}
POOL=${POOL:-200000}

cargo build --profile bench -p mizan-local --quiet
BIN=target/release/mizan-local
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

RUST_LOG=warn "$BIN" serve --port 0 --data-dir "$WORK/data" >"$WORK/runner.out" 2>&1 &
RUNNER=$!
PIDS+=("$RUNNER")
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/runner.out" && break; sleep 0.1; done
URL=$(grep -m1 "listening on" "$WORK/runner.out" | awk '{print $3}')
[ -n "$URL" ] || { cat "$WORK/runner.out"; exit 1; }

python3 infra/bench/make_deliveries.py "$WORK/data/demo.json" "$POOL" "$WORK/deliveries.tsv"
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$RUNNER/status"; }
feed_pending() {
  curl -s "$URL/local/health" | python3 -c 'import json, sys; print(json.load(sys.stdin)["change_feed"]["pending"])'
}
# Seconds until the change feed has handled every change (at most 300).
catch_up() {
  local start pending
  start=$(date +%s.%N)
  for _ in $(seq 1 3000); do
    pending=$(feed_pending)
    [ "$pending" = 0 ] && break
    sleep 0.1
  done
  [ "$pending" = 0 ] || { echo "never ($pending pending)"; return; }
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)"
}

printf '\nrunner %s (pid %s), %s s per run, %s distinct deliveries in the pool\n' "$URL" "$RUNNER" "$DURATION" "$POOL"
printf 'rss at start: %s kB\n\n' "$(rss_kb)"
printf '%-12s %12s %10s %10s %10s %10s %12s %14s %10s\n' connections "deliveries/s" p50 p90 p99 non-2xx "rss max kB" "rss start→end" "feed s"
first=0
for connections in 4 16 64; do
  # Each run posts fresh deliveries: a slice of the pool nobody posted yet.
  python3 infra/bench/make_deliveries.py "$WORK/data/demo.json" "$((POOL / 3))" "$WORK/run.tsv" "$first"
  first=$((first + POOL / 3))
  rss_first=$(rss_kb); rss_max=$rss_first
  ( while kill -0 "$RUNNER" 2>/dev/null; do rss_kb; sleep 0.5; done ) >"$WORK/rss.log" &
  SAMPLER=$!
  DELIVERIES="$WORK/run.tsv" SLICES=2 wrk -t2 -c"$connections" -d"${DURATION}s" --latency \
    -s infra/bench/post_deliveries.lua "$URL" >"$WORK/wrk.out"
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true
  rss_max=$(sort -n "$WORK/rss.log" | tail -1)
  rss_last=$(rss_kb)
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.out")
  p90=$(awk '$1=="90%" {print $2}' "$WORK/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.out"); non2xx=${non2xx:-0}
  feed=$(catch_up)
  printf '%-12s %12s %10s %10s %10s %10s %12s %14s %10s\n' "$connections" "$rps" "$p50" "$p90" "$p99" "$non2xx" "$rss_max" "$rss_first→$rss_last" "$feed"
done
printf '\n(wrk and the runner share this machine'"'"'s %s cores; "feed s": seconds after the level until\n' "$(nproc)"
printf 'the change feed, ai-reply included, had handled every change)\n'
