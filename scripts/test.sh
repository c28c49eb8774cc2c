#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Warnings are errors here (never in a user's default build).
# The main build compiles the code at -O3 (a Release build's optimizer, plus line tables), so an
# -O3-only warning fails here rather than in a user's Release build. A full run (no arguments, as
# CI) adds two tiers: the unit and integration tiers again built by clang 19 with ASan+UBSan at -O0
# (build-sanitize/, ctest label `sanitize`), and every fuzz target for FUZZ_SECONDS (default 20)
# each (scripts/fuzz.sh, build-fuzz/). The sanitizer build (nice 19) overlaps the main tiers, and
# its unit test binaries the sanitized host tests; the fuzz tier (nice 10) starts when that build
# ends. A failed build fails the run, its log printed.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), PODSHIM_SANITIZE (e.g. address,undefined: the main build too),
#      PODSHIM_SKIP_FUZZ=1 (a full run without the fuzz targets), FUZZ_SECONDS
set -euo pipefail
cd "$(dirname "$0")/.."

full=0
[ $# -ne 0 ] || full=1
if [ "$full" -eq 1 ]; then
  scripts/setup.sh --vm --fuzz  # --fuzz: clang 19, the sanitizer build's compiler too
else
  scripts/setup.sh --vm
fi
build=${BUILD_DIR:-build}
# -O3 -g1: the optimizer of a Release build (so this one build also sees its warnings; the CMake
# default for RelWithDebInfo is -O2 -g) with line tables only, as nobody steps through these
# binaries: backtraces keep file and line. The test binaries' own sources get -O1 -g1
# (-DPODSHIM_TEST_LINE_TABLES=ON, tests/CMakeLists.txt; docs/decisions.md, "CI run time").
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPODSHIM_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O3 -g1 -DNDEBUG" -DPODSHIM_TEST_LINE_TABLES=ON \
  -DPODSHIM_SANITIZE="${PODSHIM_SANITIZE:-}" >/dev/null
cmake --build "$build" -j"$(nproc)"
# Phase marks with the run's seconds so far: where a CI run's time went.
mark() { echo "== $* (at ${SECONDS} s)"; }
mark "main build done"

status=0
# A full run overlaps its sanitizer build with the main tiers, which mostly wait on containers
# (docs/decisions.md, "CI run time"), at nice 19. It runs in a session of its own (setsid), so that
# it can be reniced and, on an early exit, killed as a whole (as the fuzz tier).
bg_groups=()
stop_background() {
  local g
  for g in "${bg_groups[@]}"; do kill -- -"$g" 2>/dev/null || true; done
}
trap stop_background EXIT
trap 'exit 130' INT TERM
# Waits for a background build; on failure prints the end of its log and returns 1.
wait_build() {  # wait_build PID LOG WHAT
  local rc=0
  wait "$1" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "== $3 FAILED (exit $rc, log $2):"
    grep -v '^\[ *[0-9]*%\]' "$2" | tail -40
    return 1
  fi
}
if [ "$full" -eq 1 ]; then
  # The sanitizer tier: only what the unit and integration tiers run, by clang 19 at -O0 with
  # line tables: a third of g++'s CPU at -O1 for the same checks (docs/decisions.md, "CI run
  # time"), and a second compiler's warnings. test_proc stays static and unsanitized.
  sanitize=${SANITIZE_BUILD_DIR:-build-sanitize}
  cmake -S . -B "$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" -DPODSHIM_WERROR=ON \
    -DPODSHIM_SANITIZE=address,undefined -DPODSHIM_PCH=ON >/dev/null
  sanitize_log="$sanitize/build.log"
  # In two parts: first what the host tests (integration, clients, containerd) run, then the unit
  # test binaries, which build beside those tests (tests/CMakeLists.txt, tier_host_tests).
  # Markers, not `kill -0`: an ended job stays a zombie until this script waits for it.
  host_built="$sanitize/.tier-host-tests-built"
  build_ended="$sanitize/.build-ended"
  rm -f "$host_built" "$build_ended"
  setsid -w nice -n 19 bash -c 'cmake --build "$1" -j"$2" --target tier_host_tests &&
    touch "$3" && cmake --build "$1" -j"$2" --target tier_tests; rc=$?; touch "$4"; exit $rc' \
    sh "$sanitize" "$(nproc)" "$host_built" "$build_ended" >"$sanitize_log" 2>&1 &
  sanitize_pid=$!
  bg_groups+=("$sanitize_pid")
  # The fuzz tier (CPU-bound, its own clang build, independent of the others) starts at nice 10
  # once the sanitizer build has ended; its report is printed at the end.
  fuzz_log="$sanitize/fuzz-tier.log"
  fuzz_pid=""
  if [ "${PODSHIM_SKIP_FUZZ:-}" != 1 ]; then
    setsid -w nice -n 10 bash -c 'while [ ! -e "$1" ]; do sleep 2; done
      exec scripts/fuzz.sh "$2"' sh "$build_ended" "${FUZZ_SECONDS:-20}" >"$fuzz_log" 2>&1 &
    fuzz_pid=$!
    bg_groups+=("$fuzz_pid")
  fi
fi

# -j: the VM tier (qemu) runs beside the host tests, which hold one RESOURCE_LOCK and so run one
# at a time (tests/CMakeLists.txt).
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$(nproc)" "$@") || status=1
[ "$full" -eq 1 ] || exit "$status"
mark "main tiers done"

# The main tests are done: the sanitizer build gets the CPU at normal priority until the host
# tests' binaries are built (renice may refuse without root; then it stays at nice 19).
renice --priority 0 -g "$sanitize_pid" >/dev/null 2>&1 || true
while [ ! -e "$host_built" ] && [ ! -e "$build_ended" ]; do sleep 1; done
sanitize_built=1
if [ -e "$host_built" ]; then
  mark "sanitizer build: host test binaries done"
  # The unit binaries go on building at nice 19 beside the host tests, which mostly wait on
  # containers. -E _NOT_BUILT: the placeholders ctest lists for unit binaries not built yet.
  renice --priority 19 -g "$sanitize_pid" >/dev/null 2>&1 || true
  echo "== sanitizer tier, host tests (ASan+UBSan, $sanitize)"
  (cd "$sanitize" && ctest --output-on-failure --timeout 900 -L sanitize -LE unit \
    -E '_NOT_BUILT$') || status=1
  mark "sanitizer host tests done"
  renice --priority 0 -g "$sanitize_pid" >/dev/null 2>&1 || true
fi
wait_build "$sanitize_pid" "$sanitize_log" "sanitizer build ($sanitize)" || sanitize_built=0
mark "sanitizer build done"
if [ "$sanitize_built" -eq 1 ]; then
  echo "== sanitizer tier, unit tests (ASan+UBSan, $sanitize)"
  (cd "$sanitize" && ctest --output-on-failure --timeout 900 -L sanitize -L unit) || status=1
  mark "sanitizer tier done"
else
  status=1
fi
if [ -z "$fuzz_pid" ]; then
  echo "== fuzz tier skipped (PODSHIM_SKIP_FUZZ=1)"
else
  fuzz_status=0
  wait "$fuzz_pid" || fuzz_status=$?
  echo "== fuzz tier (scripts/fuzz.sh ${FUZZ_SECONDS:-20}, log $fuzz_log)"
  grep -v '^\[ *[0-9]*%\]' "$fuzz_log" || true
  [ "$fuzz_status" -eq 0 ] || status=1
fi
mark "done, exit $status"
exit "$status"
