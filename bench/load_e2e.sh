#!/usr/bin/env bash
# End-to-end load benchmark: meter-loadgen against meterd on loopback with durable commits
# (sync = full), both on this machine. Usage:
#   bench/load_e2e.sh BUILD_DIR [DURATION_S] [extra meter-loadgen flags...]
# Prints the load generator's report (events/s, acknowledgement latency p50/p99/p999), a
# spend-read probe taken while ingest runs (bench/spend_probe.py: client-side latency; and the
# daemon's own histogram of those reads), and the writer's commit counters. METERD_* variables
# (METERD_WORKERS, METERD_IO_THREADS, ...) configure the daemon; CONNECTIONS, BATCH, CUSTOMERS
# and LOADGEN_NICE the generator; SPEND_PROBE=0 runs ingest alone; METRICS_OUT=FILE keeps the
# daemon's final /metrics. With wrk installed, spend reads are also timed by wrk (PY_PROBE=0:
# by wrk alone; WRK_RT=1: wrk as a real-time task, a client whose own wake-up does not wait for
# these 2 cores). Exits non-zero when anything failed.
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
# SPEND_PROBE=0 leaves both read probes out (ingest alone: they take CPU from the same 2 cores).
# PY_PROBE=0 keeps only the wrk reads (the Python probe costs ingest a few percent of CPU).
probe=
py_probe=
if [ "${SPEND_PROBE:-1}" != 0 ] && [ "${PY_PROBE:-1}" != 0 ]; then
  python3 "$(dirname "$0")/spend_probe.py" "$url" "$work/data/admin.token" \
    "$(( duration > 3 ? duration - 1 : 1 ))" > "$work/probe.txt" 2>&1 &
  probe=$!
  py_probe=$probe
elif [ "${SPEND_PROBE:-1}" != 0 ]; then
  probe=none
fi
# With wrk installed (apt-get install wrk), the same reads from a C client too: Python's own
# overhead is most of spend_probe.py's tail, wrk's is microseconds.
wrk_pid=
if [ -n "$probe" ] && command -v wrk > /dev/null; then
  (
    token=$(cat "$work/data/admin.token" 2>/dev/null || true)
    for _ in $(seq 1 300); do
      [ -n "$token" ] || token=$(cat "$work/data/admin.token" 2>/dev/null || true)
      customer=$(curl -s -H "Authorization: Bearer $token" "$url/v1/customers?limit=1" |
                 sed -n 's/.*"customer_id":"\([^"]*\)".*/\1/p')
      [ -n "$customer" ] && break
      sleep 0.1
    done
    # WRK_RT=1 runs wrk as a real-time (SCHED_FIFO) task: a client on another machine does not
    # wait for these 2 cores, so its own wake-up delay is not the daemon's answer time.
    ${WRK_RT:+chrt -f 10} wrk -t1 -c1 -d"$(( duration > 4 ? duration - 3 : 1 ))s" --latency \
      -s "$(dirname "$0")/spend_wrk.lua" -H "Authorization: Bearer $token" \
      "$url/v1/customers/$customer/spend?month=2026-11"
  ) > "$work/wrk.txt" 2>&1 &
  wrk_pid=$!
fi
# The machine's CPU split over the load (/proc/stat), steal included: on a VM, time the
# hypervisor gave to other guests slows every thread alike and is no property of meterd.
cpu_split() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $5 + $6, $9}' /proc/stat; }
cpu_before=$(cpu_split)
# LOADGEN_NICE=N runs the generator at nice N: in service the feed comes from other machines,
# here it competes with the daemon for the same 2 cores.
nice -n "${LOADGEN_NICE:-0}" "$loadgen" load --url "$url" --token-file "$work/data/admin.token" --setup --now "$now" \
  --customers "${CUSTOMERS:-200}" --connections "${CONNECTIONS:-4}" --batch "${BATCH:-1000}" \
  --rate 0 --duration "$duration" "$@" | tee "$work/report.txt"
echo "$cpu_before $(cpu_split)" | awk '{busy = $4 - $1; idle = $5 - $2; steal = $6 - $3;
  all = busy + idle + steal; if (all > 0) printf "machine cpu    busy %.1f %%, idle %.1f %%, " \
  "steal %.1f %% (the hypervisor'"'"'s share: runs with much of it measure the host)\n",
  100 * busy / all, 100 * idle / all, 100 * steal / all}'
probe_status=0
if [ -n "$py_probe" ]; then
  wait "$py_probe" || probe_status=$?
  cat "$work/probe.txt"
fi
if [ -n "$wrk_pid" ]; then
  wait "$wrk_pid" || true
  echo "spend reads by wrk (one connection, one read per 5 ms, during the load):"
  cat "$work/wrk.txt"
fi
# What the writer did: commits, their mean latency, events per commit.
curl -s "$url/metrics" > "$work/metrics.txt" || true
cp "$work/metrics.txt" "${METRICS_OUT:-/dev/null}" 2>/dev/null || true
# Server-side latency of the spend reads (request read to answer written), per bucket.
grep -E '^meterd_http_request_duration_seconds_bucket\{.*spend' "$work/metrics.txt" | grep -v overview || true
grep -E '^meterd_(storage_commits_total|storage_commit_seconds_(sum|count)|storage_batch_jobs_(sum|count)|storage_batch_seconds_(sum|count)|events_total|storage_queue[a-z_]*|storage_map[a-z_]*|storage_fold_[a-z_]*)' "$work/metrics.txt" || true

kill -TERM "$pid"
wait "$pid"
echo "meterd exited cleanly"
exit "$probe_status"
