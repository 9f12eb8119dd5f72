#!/usr/bin/env bash
# End-to-end load benchmark: meter-loadgen against meterd on loopback with durable commits
# (sync = full), both on this machine. Usage:
#   bench/load_e2e.sh BUILD_DIR [DURATION_S] [extra meter-loadgen flags...]
# Prints the load generator's report (events/s, acknowledgement latency p50/p99/p999), a
# spend-read probe taken while ingest runs (bench/spend_probe.py: client-side latency; and the
# daemon's own histogram of those reads), and the writer's commit counters. METERD_* variables
# (METERD_WORKERS, METERD_IO_THREADS, ...) configure the daemon. Exits non-zero when anything
# failed.
set -euo pipefail
build_dir=${1:?build dir}
duration=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
meterd="$build_dir/daemon/meterd"
loadgen="$build_dir/tools/loadgen/meter-loadgen"
work=$(mktemp -d)
trap 'kill -9 "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

now="2026-11-20T12:00:00Z"
"$meterd" --listen 127.0.0.1:0 --port-file "$work/port" --data-dir "$work/data" \
  --fixed-clock "$now" --workers "${METERD_WORKERS:-2}" > "$work/meterd.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
url="http://127.0.0.1:$port"

# The spend probe starts reading once --setup has created the customers; it stops a second
# before the load does, so every read it times happens under full ingest.
python3 "$(dirname "$0")/spend_probe.py" "$url" "$work/data/admin.token" \
  "$(( duration > 3 ? duration - 1 : 1 ))" > "$work/probe.txt" 2>&1 &
probe=$!
"$loadgen" load --url "$url" --token-file "$work/data/admin.token" --setup --now "$now" \
  --customers "${CUSTOMERS:-200}" --connections "${CONNECTIONS:-4}" --batch "${BATCH:-1000}" \
  --rate 0 --duration "$duration" "$@" | tee "$work/report.txt"
probe_status=0
wait "$probe" || probe_status=$?
cat "$work/probe.txt"
# What the writer did: commits, their mean latency, events per commit.
curl -s "$url/metrics" > "$work/metrics.txt" || true
# Server-side latency of the spend reads (request read to answer written), per bucket.
grep -E '^meterd_http_request_duration_seconds_bucket\{.*spend' "$work/metrics.txt" | grep -v overview || true
grep -E '^meterd_(storage_commits_total|storage_commit_seconds_(sum|count)|storage_batch_jobs_(sum|count)|storage_batch_seconds_(sum|count)|events_total|storage_queue[a-z_]*|storage_map[a-z_]*)' "$work/metrics.txt" || true

kill -TERM "$pid"
wait "$pid"
echo "meterd exited cleanly"
exit "$probe_status"
