#!/usr/bin/env bash
# The one run command: installs what is missing, builds, starts meterd on its embedded LMDB
# with demo reference data and a gentle demo feed, and prints how to watch spend and alerts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build_dir=${METERD_BUILD_DIR:-build/release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target meterd meter-loadgen

exec bash scripts/demo.sh "$build_dir"
