#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Warnings are errors here (never in a user's default build).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), PODSHIM_SANITIZE (e.g. address,undefined)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --vm
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPODSHIM_WERROR=ON \
  -DPODSHIM_SANITIZE="${PODSHIM_SANITIZE:-}" >/dev/null
cmake --build "$build" -j"$(nproc)"
# A full run (no ctest arguments, as CI) also compiles the binary at -O3: some warnings appear
# only there, and a user's Release build must stay clean.
if [ $# -eq 0 ]; then
  release=${RELEASE_BUILD_DIR:-build-release}
  cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release -DPODSHIM_WERROR=ON >/dev/null
  cmake --build "$release" -j"$(nproc)" --target podshim
fi
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
