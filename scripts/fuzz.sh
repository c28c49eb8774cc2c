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
# Symbolized reports (llvm-19's symbolizer reads clang 19's DWARF 5; llvm-14's prints no lines);
# a UBSan finding aborts like an ASan one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
if [ -x /usr/lib/llvm-19/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-19/bin/llvm-symbolizer}
  export UBSAN_SYMBOLIZER_PATH=${UBSAN_SYMBOLIZER_PATH:-/usr/lib/llvm-19/bin/llvm-symbolizer}
fi

# Runs one target for up to $2 seconds, appending to the log; its exit status goes to LOG.rc.
run_target() {  # run_target TARGET SECONDS LOG
  local bin="$build/tests/fuzz/${1}_fuzz"
  mkdir -p "$build/corpus/$1" "tests/fuzz/corpus/$1"
  set +e
  "$bin" -max_total_time="$2" -timeout=1 -rss_limit_mb="$rss_mb" -print_final_stats=1 \
    -artifact_prefix="$artifacts/${1}-" "$build/corpus/$1" "tests/fuzz/corpus/$1" >>"$3" 2>&1
  echo $? >"$3.rc"
  set -e
}

# -timeout counts wall-clock time: on a loaded machine a process can be descheduled for a second.
# A timeout whose input then runs in well under a second, three times, was such a stall: its
# artifact is dropped and the target goes on for the rest of its time (three stalls fail).
stalled() {  # stalled TARGET ARTIFACT
  local i ms
  for i in 1 2 3; do
    ms=$("$build/tests/fuzz/${1}_fuzz" -timeout=10 "$2" 2>&1 |
      sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p')
    [ -n "$ms" ] && [ "$ms" -lt 500 ] || return 1
  done
  return 0
}

failed=0
rows=()
for t in "${targets[@]}"; do
  log="$build/fuzz-logs/$t.log"
  : >"$log"
  echo "fuzz: $t for ${seconds}s (log: $log)"
  stalls=0
  cpu_total=0
  begin=$(date +%s)
  left=$seconds
  while :; do
    before=$(ls "$artifacts" | wc -l)
    TIMEFORMAT='%U %S'
    cpu=$( { time run_target "$t" "$left" "$log"; } 2>&1)
    cpu_total=$(awk -v c="$cpu_total" '{ printf "%.1f", c + $1 + $2 }' <<<"$cpu")
    after=$(ls "$artifacts" | wc -l)
    newest=""
    [ "$after" -eq "$before" ] || newest=$(ls -t "$artifacts" | head -1)
    rc=$(cat "$log.rc")
    if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
      status=ok
      break
    fi
    if [[ "$newest" == "$t"-timeout-* ]] && [ "$stalls" -lt 2 ] &&
      stalled "$t" "$artifacts/$newest"; then
      stalls=$((stalls + 1))
      echo "fuzz: $t: a timeout that does not reproduce (the machine stalled); going on" >&2
      rm -f "$artifacts/$newest"
      sed -i -e 's/^SUMMARY: libFuzzer: timeout/(stall, not reproduced) &/' \
        -e 's/^==\([0-9]*\)== ERROR: libFuzzer: timeout/(stall) &/' "$log"
      left=$((seconds - ($(date +%s) - begin)))
      [ "$left" -gt 0 ] || { status=ok; break; }
      continue
    fi
    failed=1
    status="FAILED (exit $rc${newest:+, $artifacts/$newest})"
    grep -m3 -E '^==[0-9]+==.*ERROR|runtime error|^SUMMARY' "$log" | sed 's/^/  /' || true
    break
  done
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
    awk '{ s += $1 } END { print s + 0 }')
  execs=$((runs / ($(date +%s) - begin > 0 ? $(date +%s) - begin : 1)))  # per wall-clock second
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[bKM]*b*' "$log" | tail -1 | sed 's/corp: //')
  [ "$stalls" -eq 0 ] || status="$status ($stalls stalls)"
  rows+=("$(printf '%-18s %12s %8s %14s %7s  %s' "$t" "${runs:--}" "${execs:--}" "${corpus:--}" \
           "${cpu_total%.*}" "$status")")
done

printf '\n%-18s %12s %8s %14s %7s  %s\n' target runs exec/s "corpus(n/size)" cpu_s status
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: reproduce with $build/tests/fuzz/<target>_fuzz $artifacts/<file>" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s clean"
