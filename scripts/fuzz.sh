#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, starting from its seed corpus (new inputs go to
# a scratch directory, so the checked-in corpus only changes by hand). Findings are written to
# build/fuzz-findings/ and make this script fail. Usage: scripts/fuzz.sh BUILD_DIR [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?build dir with -DMETERD_FUZZ=ON}
seconds=${2:-600}
findings=build/fuzz-findings
mkdir -p "$findings"
status=0
for target in usage_parser reference_parser; do
  scratch=$(mktemp -d)
  echo "fuzz: $target for ${seconds}s"
  if ! "$build_dir/fuzz/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$findings/${target}-" "$scratch" "fuzz/corpus/$target" \
      > "$findings/$target.log" 2>&1; then
    echo "fuzz: $target FAILED, see $findings/$target.log" >&2
    tail -30 "$findings/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$findings/$target.log" | tail -2
  fi
  rm -rf "$scratch"
done
exit $status
