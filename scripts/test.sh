#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), PODSHIM_SANITIZE (e.g. address,undefined)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --vm
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPODSHIM_SANITIZE="${PODSHIM_SANITIZE:-}" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
