#!/usr/bin/env bash
# Starts meterd on its embedded LMDB store with demo reference data and a gentle demo feed,
# then shows where to look. Ctrl-C stops both. Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
listen=${METERD_DEMO_LISTEN:-127.0.0.1:8787}
data_dir=${METERD_DEMO_DATA:-$PWD/build/demo-data}
url="http://$listen"
mkdir -p "$data_dir"

"$build_dir/daemon/meterd" --listen "$listen" --data-dir "$data_dir" &
meterd_pid=$!
loadgen_pid=
cleanup() {
  [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2>/dev/null || true
  kill -TERM "$meterd_pid" 2>/dev/null || true
  wait "$meterd_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/readyz" >/dev/null || { echo "meterd did not become ready" >&2; exit 1; }
token=$(cat "$data_dir/admin.token")

# Reference data, price sheet, FX and budgets for five customers in five currencies, then a
# feed of about 20 events/s with duplicates and late events, until Ctrl-C. The store is kept
# between runs, so each run's event ids get a prefix of their own: a rerun within the same
# hours would otherwise re-send the first run's ids, all answered as duplicates, and spend
# would not move.
"$build_dir/tools/loadgen/meter-loadgen" load --demo --setup --url "$url" \
  --id-prefix "demo-$(date +%s)-" \
  --token-file "$data_dir/admin.token" > "$data_dir/loadgen.log" 2>&1 &
loadgen_pid=$!

cat <<TXT

meterd is running on $url with its store in $data_dir; a demo feed is flowing.
The admin token is in $data_dir/admin.token.

  export T=\$(cat $data_dir/admin.token)
  curl -s -H "Authorization: Bearer \$T" $url/v1/spend                 # spending overview
  curl -s -H "Authorization: Bearer \$T" $url/v1/customers             # customers
  curl -s -H "Authorization: Bearer \$T" $url/v1/customers/ID/spend    # one customer's spend
  curl -s -H "Authorization: Bearer \$T" "$url/v1/alerts?wait=30"      # alerts as they fire
  curl -s $url/metrics | grep ^meterd_                                  # operator metrics

The feed's own report goes to $data_dir/loadgen.log. Ctrl-C stops everything.
TXT
wait "$meterd_pid"
