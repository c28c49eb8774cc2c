#!/usr/bin/env bash
# Installs what is missing, builds podshim, and runs every test tier through ctest:
# unit (no privileges), integration (root, this host) and vm (scripts/vm-test.sh in qemu).
# Warnings are errors here (never in a user's default build).
# A full run (no arguments, as CI) adds three tiers: an -O3 Release build of the binary, the unit
# and integration tiers again built with ASan+UBSan (build-sanitize/, ctest label `sanitize`), and
# every fuzz target for FUZZ_SECONDS (default 20) each (scripts/fuzz.sh, build-fuzz/). Its builds
# overlap the test tiers: the sanitizer build (nice 19) the main tiers, the Release build and the
# fuzz tier (nice 10) the sanitizer tier; a failed build fails the run, its log printed.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
# Env: BUILD_DIR (default build), PODSHIM_SANITIZE (e.g. address,undefined: the main build too),
#      PODSHIM_SKIP_FUZZ=1 (a full run without the fuzz targets), FUZZ_SECONDS
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --vm
build=${BUILD_DIR:-build}
# Line tables only (-g1): the test binaries' own sources (-DPODSHIM_TEST_LINE_TABLES=ON) and the
# code under test (-O2 -g1, CMake's RelWithDebInfo flags otherwise), as nobody steps through them
# here: the same code and warnings, backtraces keep file and line, and the compile of src/ takes
# a sixth less (docs/decisions.md, "CI run time").
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPODSHIM_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DPODSHIM_TEST_LINE_TABLES=ON \
  -DPODSHIM_SANITIZE="${PODSHIM_SANITIZE:-}" >/dev/null
cmake --build "$build" -j"$(nproc)"

status=0
full=0
[ $# -ne 0 ] || full=1
# A full run overlaps its builds with the test tiers, which mostly wait on containers (docs/
# decisions.md, "CI run time"): the sanitizer build runs at nice 19 beside the main tiers, then
# the -O3 Release build at nice 10 beside the sanitizer tier (with the fuzz tier). Each runs in a
# session of its own (setsid), so that it can be reniced and, on an early exit, killed as a whole.
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
  # The sanitizer tier: only what the unit and integration tiers run, at -O1 with line tables
  # (-g1) to keep its build short. test_proc stays static and unsanitized (tests/CMakeLists.txt).
  sanitize=${SANITIZE_BUILD_DIR:-build-sanitize}
  cmake -S . -B "$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DPODSHIM_WERROR=ON \
    -DPODSHIM_SANITIZE=address,undefined >/dev/null
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

# The tests are done: the sanitizer build gets the CPU at normal priority (matters on a shared
# machine; renice may refuse without root, then it just finishes at nice 19).
renice --priority 0 -g "$sanitize_pid" >/dev/null 2>&1 || true
sanitize_built=1
wait_build "$sanitize_pid" "$sanitize_log" "sanitizer build ($sanitize)" || sanitize_built=0

# A full run also compiles the binaries at -O3 (podshim and the containerd shim): some warnings
# appear only there, and a user's Release build must stay clean.
release=${RELEASE_BUILD_DIR:-build-release}
cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release -DPODSHIM_WERROR=ON >/dev/null
release_log="$release/build.log"
setsid -w nice -n 10 cmake --build "$release" -j"$(nproc)" --target podshim \
  containerd-shim-podshim-v2 >"$release_log" 2>&1 &
release_pid=$!
bg_groups+=("$release_pid")

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
echo "== Release build (-O3, $release, log $release_log)"
wait_build "$release_pid" "$release_log" "Release build ($release)" || status=1
exit "$status"
