#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Warnings are errors here (never in a user's default build).
# The main build compiles the code at -O3 (a Release build's optimizer, plus line tables), so an
# -O3-only warning fails here rather than in a user's Release build. A full run (no arguments, as
# CI) adds two tiers: the unit and integration tiers again built by clang 19 with ASan+UBSan at -O0
# (build-sanitize/, ctest label `sanitize`), and every fuzz target for FUZZ_SECONDS (default 20)
# each (scripts/fuzz.sh, build-fuzz/). The sanitizer build (nice 19) overlaps the main tiers, the
# fuzz tier (nice 10) the sanitizer tier; a failed build fails the run, its log printed.
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
  setsid -w nice -n 19 cmake --build "$sanitize" -j"$(nproc)" --target tier_tests \
    >"$sanitize_log" 2>&1 &
  sanitize_pid=$!
  bg_groups+=("$sanitize_pid")
fi

# -j: the VM tier (qemu) runs beside the host tests, which hold one RESOURCE_LOCK and so run one
# at a time (tests/CMakeLists.txt).
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$(nproc)" "$@") || status=1
[ "$full" -eq 1 ] || exit "$status"
mark "main tiers done"

# The tests are done: the sanitizer build gets the CPU at normal priority (matters on a shared
# machine; renice may refuse without root, then it just finishes at nice 19).
renice --priority 0 -g "$sanitize_pid" >/dev/null 2>&1 || true
sanitize_built=1
wait_build "$sanitize_pid" "$sanitize_log" "sanitizer build ($sanitize)" || sanitize_built=0
mark "sanitizer build done"

# The fuzz tier (CPU-bound, its own clang build) runs at a lower priority beside the sanitizer
# tier (mostly waiting on containers); its report is printed after it.
fuzz_log="$sanitize/fuzz-tier.log"
fuzz_pid=""
if [ "${PODSHIM_SKIP_FUZZ:-}" != 1 ]; then
  setsid -w nice -n 10 scripts/fuzz.sh "${FUZZ_SECONDS:-20}" >"$fuzz_log" 2>&1 &
  fuzz_pid=$!
  bg_groups+=("$fuzz_pid")
fi
if [ "$sanitize_built" -eq 1 ]; then
  echo "== sanitizer tier (ASan+UBSan, $sanitize)"
  (cd "$sanitize" && ctest --output-on-failure --timeout 900 -L sanitize) || status=1
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
