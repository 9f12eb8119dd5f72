#!/usr/bin/env bash
# Soak run: meter-loadgen feeds meterd (sync = full) at a fixed rate for a long time while the
# daemon's memory is sampled from /proc every SAMPLE_S seconds. The point is a flat curve:
# anything that grows per event (a cache without a bound, a leak per request) shows up here
# long before production finds it. Results go to docs/reliability.md by hand.
#
# Usage: scripts/soak.sh BUILD_DIR [DURATION_S] [RATE] [extra meter-loadgen flags...]
#   defaults: 1800 s at 95,000 events/s (about half of the ~170-200k/s maximum measured in
#   docs/benchmarks.md at 8 x 5,000), 8 connections x 5,000-event batches, 200 customers.
# Env: SOAK_DIR (default: a new temp dir), SOAK_KEEP_DATA=1 (keep the store, which grows by
#      gigabytes), SAMPLE_S (10), CUSTOMERS (200), CONNECTIONS (8), BATCH (5000).
# Writes SOAK_DIR/rss.csv (elapsed_s, VmRSS, RssAnon, RssFile in KiB, data.mdb bytes, and from
# /metrics: malloc heap in use and held, cached month ledgers and lines, events accepted),
# SOAK_DIR/report.json (loadgen's report) and prints a summary. Exits non-zero when the load
# generator reported failures or meterd did not exit cleanly.
set -euo pipefail
build_dir=${1:?build dir with daemon/meterd and tools/loadgen/meter-loadgen}
duration=${2:-1800}
rate=${3:-95000}
shift $(( $# >= 3 ? 3 : $# ))
meterd="$build_dir/daemon/meterd"
loadgen="$build_dir/tools/loadgen/meter-loadgen"
sample_s=${SAMPLE_S:-10}
if [ -n "${SOAK_DIR:-}" ]; then
  work=$SOAK_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/meterd-soak.XXXXXX)
fi
keep=${SOAK_KEEP_DATA:-0}
pid=
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  # The store grows by gigabytes over a soak; only keep it when asked to.
  if [ "$keep" = 0 ]; then rm -rf "$work/data"; fi
}
trap cleanup EXIT

now="2026-11-20T12:00:00Z"
"$meterd" --listen 127.0.0.1:0 --port-file "$work/port" --data-dir "$work/data" \
  --fixed-clock "$now" > "$work/meterd.log" 2>&1 &
pid=$!
for _ in $(seq 1 400); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

# One sample line per SAMPLE_S; RssFile is LMDB's mapped file pages (they grow with the store
# and the kernel may drop them at will), RssAnon is the daemon's own heap: the leak signal.
sample() {
  local start=$SECONDS
  echo "elapsed_s,vmrss_kib,rss_anon_kib,rss_file_kib,data_mdb_bytes,heap_in_use_bytes,heap_held_bytes,cached_ledgers,cached_lines,events_accepted" > "$work/rss.csv"
  while kill -0 "$pid" 2>/dev/null; do
    local rss anon file size m
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    anon=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    file=$(awk '/^RssFile:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    size=$(stat -c %s "$work/data/data.mdb" 2>/dev/null || echo 0)
    # The daemon's own view: what malloc has in use (a leak grows it) against what it holds,
    # and what the shards cache.
    m=$(curl -s --max-time 5 "http://127.0.0.1:$port/metrics" | awk '
      /^meterd_process_heap_bytes\{kind="in_use"\}/ {u=$2}
      /^meterd_process_heap_bytes\{kind="held"\}/ {h=$2}
      /^meterd_cache_entries\{kind="ledgers"\}/ {l=$2}
      /^meterd_cache_entries\{kind="lines"\}/ {n=$2}
      /^meterd_events_total\{result="accepted"\}/ {a=$2}
      END {printf "%d,%d,%d,%d,%d", u, h, l, n, a}' || echo "0,0,0,0,0")
    echo "$((SECONDS - start)),$rss,$anon,$file,$size,$m" >> "$work/rss.csv"
    sleep "$sample_s"
  done
}
sample &
sampler=$!

echo "soak: meterd pid $pid on port $port, ${duration}s at ${rate} events/s, dir $work"
status=0
"$loadgen" load --url "http://127.0.0.1:$port" --token-file "$work/data/admin.token" --setup \
  --now "$now" --customers "${CUSTOMERS:-200}" --connections "${CONNECTIONS:-8}" \
  --batch "${BATCH:-5000}" --rate "$rate" --duration "$duration" --json "$@" \
  > "$work/report.json" || status=$?

kill -TERM "$pid"
if ! wait "$pid"; then
  echo "soak: meterd did not exit cleanly" >&2
  status=1
fi
pid=
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
sampler=

echo "soak: loadgen report:"
cat "$work/report.json"
echo
# First, middle and last sample plus the extremes of the heap after the first minute.
python3 - "$work/rss.csv" <<'EOF'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if int(r["vmrss_kib"]) > 0]
if not rows:
    sys.exit("no samples")
def show(label, r):
    print(f"{label:>6}: t={r['elapsed_s']:>5}s VmRSS={int(r['vmrss_kib'])//1024} MiB "
          f"RssAnon={int(r['rss_anon_kib'])//1024} MiB RssFile={int(r['rss_file_kib'])//1024} MiB "
          f"data.mdb={int(r['data_mdb_bytes'])//(1<<20)} MiB")
show("start", rows[0]); show("middle", rows[len(rows)//2]); show("end", rows[-1])
warm = [r for r in rows if int(r["elapsed_s"]) >= 60] or rows
anon = [int(r["rss_anon_kib"]) for r in warm]
heap = [int(r["heap_in_use_bytes"]) for r in warm]
lines = [int(r["cached_lines"]) for r in warm]
print(f"RssAnon after the first minute: min {min(anon)//1024} MiB, max {max(anon)//1024} MiB, "
      f"{len(rows)} samples")
print(f"malloc in use after the first minute: min {min(heap)>>20} MiB, max {max(heap)>>20} MiB; "
      f"cached lines min {min(lines)}, max {max(lines)}")
# Thirds of the warm run: a leak shows as a rising median from one third to the next.
third = max(1, len(warm) // 3)
for i in range(3):
    part = warm[i * third:(i + 1) * third] or warm[-1:]
    med = lambda k: sorted(int(r[k]) for r in part)[len(part) // 2]
    print(f"third {i + 1}: t={part[0]['elapsed_s']}..{part[-1]['elapsed_s']}s median RssAnon "
          f"{med('rss_anon_kib')//1024} MiB, malloc in use {med('heap_in_use_bytes')>>20} MiB, "
          f"held {med('heap_held_bytes')>>20} MiB")
EOF
echo "soak: samples in $work/rss.csv"
exit $status
