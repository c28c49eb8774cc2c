#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 60): an input that crashes, runs over 1 s (-timeout=1), exceeds the
# memory limit or leaks fails the run, and its input is left in build-fuzz/artifacts/.
# Prints, per target: runs, exec/s, corpus size and CPU seconds.
# Usage: scripts/fuzz.sh [SECONDS]
# Env: FUZZ_TARGETS   targets to run, without the _fuzz suffix (default: every tests/fuzz target)
#      FUZZ_RSS_MB    -rss_limit_mb (default 2048)
#      FUZZ_BUILD_DIR build directory (default build-fuzz)
#      FUZZ_CXX       the clang++ to use (default clang++-19: see tests/fuzz/CMakeLists.txt)
# The seed corpora (tests/fuzz/corpus/<target>/) are read, never written: what a run finds goes
# to build-fuzz/corpus/<target>/, which the next run starts from. To keep an input as a seed,
# copy it into tests/fuzz/corpus/<target>/.
# Reproduce a finding: build-fuzz/tests/fuzz/<target>_fuzz build-fuzz/artifacts/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (SECONDS: a positive integer, got \"$seconds\")" >&2
  exit 2
fi
rss_mb=${FUZZ_RSS_MB:-2048}
build=${FUZZ_BUILD_DIR:-build-fuzz}
cxx=${FUZZ_CXX:-clang++-19}

scripts/setup.sh --fuzz
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# -O1 and line tables only, as OSS-Fuzz builds: quick to build, fast enough to fuzz, and
# assertions stay on.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_CXX_COMPILER="$cxx" \
  -DPODSHIM_FUZZ=ON "${launcher[@]}" >/dev/null

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$src" .cc)
    targets+=("${name%_fuzz}")
  done
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzz"); done
cmake --build "$build" -j"$(nproc)" --target "${build_targets[@]}"

artifacts="$build/artifacts"
mkdir -p "$artifacts" "$build/fuzz-logs"
# Symbolized reports; a UBSan finding aborts like an ASan one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
rows=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/${t}_fuzz"
  seeds="tests/fuzz/corpus/$t"
  work="$build/corpus/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$seeds"
  echo "fuzz: $t for ${seconds}s (log: $log)"
  before=$(ls "$artifacts" | wc -l)
  TIMEFORMAT='%U %S'
  set +e
  cpu=$( { time "$bin" -max_total_time="$seconds" -timeout=1 -rss_limit_mb="$rss_mb" \
             -print_final_stats=1 -artifact_prefix="$artifacts/${t}-" "$work" "$seeds" \
             >"$log" 2>&1; } 2>&1)
  rc=$?
  set -e
  cpu_s=$(awk '{printf "%.0f", $1 + $2}' <<<"$cpu")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[bKM]*b*' "$log" | tail -1 | sed 's/corp: //')
  after=$(ls "$artifacts" | wc -l)
  status=ok
  if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
    failed=1
    newest=$(ls -t "$artifacts" | head -1)
    status="FAILED (exit $rc${newest:+, $artifacts/$newest})"
    grep -m3 -E '^==[0-9]+==ERROR|runtime error|ALARM|out-of-memory|Timeout|deadly signal' "$log" |
      sed 's/^/  /' || true
  fi
  rows+=("$(printf '%-18s %12s %8s %14s %7s  %s' "$t" "${runs:--}" "${execs:--}" "${corpus:--}" \
           "$cpu_s" "$status")")
done

printf '\n%-18s %12s %8s %14s %7s  %s\n' target runs exec/s "corpus(n/size)" cpu_s status
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: reproduce with $build/tests/fuzz/<target>_fuzz $artifacts/<file>" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s clean"
