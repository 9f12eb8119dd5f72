#!/usr/bin/env bash
# The one test command: installs what is missing, builds everything (Release, warnings as
# errors) and runs every test, the fuzz/crash/bench smokes included. CI calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Money never goes near binary floating point: rating/ must not even mention the types.
if grep -rnwE 'float|double|long double|strtod|stod|stof|atof' rating/ --include='*.h' --include='*.cc'; then
  echo "error: floating point in rating/ (see above)" >&2
  exit 1
fi

build_dir=${METERD_BUILD_DIR:-build/release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
# Fuzz smoke: the libFuzzer targets (clang, ASan+UBSan) replay their seed corpora and then
# mutate for a short while; long runs are scripts/fuzz.sh.
fuzz_dir=${METERD_FUZZ_BUILD_DIR:-build/fuzz}
CXX=clang++ cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMETERD_FUZZ=ON -DMETERD_BUILD_BENCH=OFF >/dev/null
cmake --build "$fuzz_dir" -j "$(nproc)" --target usage_parser_fuzz reference_parser_fuzz \
  price_sheet_fuzz decimal_fuzz http_fuzz
# Five targets x 15 s: the smoke stays near 75 s.
bash scripts/fuzz.sh "$fuzz_dir" "${METERD_FUZZ_SECONDS:-15}"

# Last, so its summary closes the output.
(cd "$build_dir" && ctest --output-on-failure -j "$(nproc)" --timeout 600)
