#!/usr/bin/env bash
# The long crash-safety run: tests/e2e/crash_harness.py with hundreds of kill -9s against a
# real meterd (the CI smoke is tests/e2e/test_crash_resend.py with eight). Prints progress
# every ten kills and a JSON summary (kills, events, acknowledged, losses, duplicates) to put
# in docs/reliability.md. Exits non-zero on the first lost or double-counted event, keeping the
# data directory and printing the seed to replay it.
# Usage: scripts/crash_long.sh BUILD_DIR [KILLS] [extra crash_harness.py flags, e.g. --seed N]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?build dir with daemon/meterd}
kills=${2:-300}
shift $(( $# >= 2 ? 2 : 1 ))
METERD_BIN="$(cd "$build_dir" && pwd)/daemon/meterd" \
  exec python3 tests/e2e/crash_harness.py --kills "$kills" "$@"
