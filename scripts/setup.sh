#!/usr/bin/env bash
# Installs every Debian 12 package meterd needs to build, test and run. Idempotent: packages
# already present are skipped, and apt-get update runs at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libboost1.81-dev libsimdjson-dev liblmdb-dev lmdb-utils prometheus-cpp-dev
  libtomlplusplus-dev libssl-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-jsonschema curl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
