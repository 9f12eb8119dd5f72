#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, starting from its seed corpus (new inputs go to
# a scratch directory, so the checked-in corpus only changes by hand). Findings are written to
# build/fuzz-findings/ and make this script fail. Usage: scripts/fuzz.sh BUILD_DIR [SECONDS]
# FUZZ_TARGETS="decimal http" limits the run to some targets; FUZZ_KEEP_CORPUS=DIR keeps each
# target's grown corpus in DIR/<target> (long runs continue from it). The long runs and their
# figures are in docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:?build dir with -DMETERD_FUZZ=ON}
seconds=${2:-600}
findings=build/fuzz-findings
mkdir -p "$findings"
status=0
for target in ${FUZZ_TARGETS:-usage_parser reference_parser price_sheet decimal http}; do
  if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
    scratch="$FUZZ_KEEP_CORPUS/$target"
    mkdir -p "$scratch"
  else
    scratch=$(mktemp -d)
  fi
  echo "fuzz: $target for ${seconds}s"
  # -timeout: one input taking longer than 25 s is a hang (the HTTP target waits up to 10 s
  # for an answer before it calls it one itself).
  if ! "$build_dir/fuzz/${target}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
      -timeout=25 -artifact_prefix="$findings/${target}-" "$scratch" "fuzz/corpus/$target" \
      > "$findings/$target.log" 2>&1; then
    echo "fuzz: $target FAILED, see $findings/$target.log" >&2
    tail -30 "$findings/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$findings/$target.log" | tail -2
  fi
  [ -n "${FUZZ_KEEP_CORPUS:-}" ] || rm -rf "$scratch"
done
exit $status
