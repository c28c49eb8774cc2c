#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Warnings are errors here (never in a user's default build).
# A full run (no arguments, as CI) adds three tiers: an -O3 Release build of the binary, the unit
# and integration tiers again built with ASan+UBSan (build-sanitize/, ctest label `sanitize`), and
# every fuzz target for FUZZ_SECONDS (default 20) each (scripts/fuzz.sh, build-fuzz/).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), PODSHIM_SANITIZE (e.g. address,undefined: the main build too),
#      PODSHIM_SKIP_FUZZ=1 (a full run without the fuzz targets), FUZZ_SECONDS
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
  # The sanitizer tier: only what the unit and integration tiers run, at -O1 with line tables
  # (-g1) to keep its build short. test_proc stays static and unsanitized (tests/CMakeLists.txt).
  sanitize=${SANITIZE_BUILD_DIR:-build-sanitize}
  cmake -S . -B "$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPODSHIM_WERROR=ON \
    -DPODSHIM_SANITIZE=address,undefined >/dev/null
  cmake --build "$sanitize" -j"$(nproc)" --target tier_tests
fi

status=0
# -j: the VM tier (qemu) runs beside the host tests, which hold one RESOURCE_LOCK and so run one
# at a time (tests/CMakeLists.txt).
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$(nproc)" "$@") || status=1
if [ $# -eq 0 ]; then
  # The fuzz tier (CPU-bound, its own clang build) runs at a lower priority beside the sanitizer
  # tier (mostly waiting on containers); its report is printed after it.
  fuzz_log="$sanitize/fuzz-tier.log"
  fuzz_pid=""
  if [ "${PODSHIM_SKIP_FUZZ:-}" != 1 ]; then
    nice -n 10 scripts/fuzz.sh "${FUZZ_SECONDS:-20}" >"$fuzz_log" 2>&1 &
    fuzz_pid=$!
  fi
  echo "== sanitizer tier (ASan+UBSan, $sanitize)"
  (cd "$sanitize" && ctest --output-on-failure --timeout 900 -L sanitize) || status=1
  if [ -z "$fuzz_pid" ]; then
    echo "== fuzz tier skipped (PODSHIM_SKIP_FUZZ=1)"
  else
    fuzz_status=0
    wait "$fuzz_pid" || fuzz_status=$?
    echo "== fuzz tier (scripts/fuzz.sh ${FUZZ_SECONDS:-20}, log $fuzz_log)"
    grep -v '^\[ *[0-9]*%\]' "$fuzz_log" || true
    [ "$fuzz_status" -eq 0 ] || status=1
  fi
fi
exit "$status"
