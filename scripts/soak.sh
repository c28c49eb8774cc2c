#!/usr/bin/env bash
# Soak test: runs many pods and OCI containers and fails on anything they leave behind.
#   1. N pod lifecycles of an init container, 2 sidecars and an app (busybox bundles, as the
#      integration tests build them): odd ones end normally (`podshim run`, the app exits 0),
#      even ones are started detached and stopped mid-run with `podshim ctl stop`;
#   2. N `podshim oci run`s of a trivial bundle;
#   3. 20 pods at once.
# Meanwhile one long pod (an app restarting every few hundred ms, a sidecar) runs throughout:
# its shim's open fds are sampled after each step and must not grow, and it must have no zombie
# children. After each phase it counts what is left: processes, zombies, mounts, cgroups and
# state files (sockets, *.tmp, volumes, OCI state). Prints a table; exits 1 on any leftover or
# failed run. Root only (real containers and cgroups).
# Usage: scripts/soak.sh [N]   (default 1000)
# Env: PODSHIM  the binary to soak (default: build/src/podshim, built if missing)
#      KEEP=1   keep the work directory (printed) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

n=${1:-1000}
if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 2 ]; then
  echo "usage: scripts/soak.sh [N]  (N: an integer >= 2, got \"$n\")" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "soak: needs root (containers, cgroups)" >&2
  exit 2
fi
if [ -z "${PODSHIM:-}" ]; then
  scripts/setup.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target podshim >/dev/null
  PODSHIM="$repo/build/src/podshim"
fi
export PODSHIM
podshim=$PODSHIM

token="soak$$"
work=$(mktemp -d "/tmp/podshim-$token.XXXXXX")
chmod 755 "$work"
cgparent="podshim-$token"
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
long_pid=""
# Waits up to 20 s for a process to exit.
wait_gone() {
  local i
  for i in $(seq 200); do
    [ -d "/proc/$1" ] || return 0
    sleep 0.1
  done
  return 1
}
long_sock=""
# On an early exit: stop the long pod, then kill and remove whatever is left in our cgroup parent.
cleanup() {
  if [ -n "$long_pid" ] && [ -d "/proc/$long_pid" ]; then
    "$podshim" ctl --socket "$long_sock" stop >/dev/null 2>&1 || true
    wait_gone "$long_pid" || kill -KILL "$long_pid" 2>/dev/null || true
  fi
  if [ -d "$cgroot/$cgparent" ]; then
    find "$cgroot/$cgparent" -depth -type d -exec sh -c 'echo 1 >"$1/cgroup.kill"' _ {} \; \
      2>/dev/null || true
    sleep 0.5
    find "$cgroot/$cgparent" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "soak: kept $work"; fi
}
trap cleanup EXIT

echo "soak: N=$n, work dir $work, cgroup parent $cgparent, binary $podshim"
for b in init sidecar app; do
  scripts/make-bundle.sh "$work/bundles/$b" >/dev/null
  scripts/make-bundle.sh "$work/long/bundles/$b" >/dev/null  # the long pod's own
done
scripts/make-bundle.sh "$work/bundles/oci" true >/dev/null

# APP_COMMAND is the app's shell command; sidecars end at SIGTERM at once.
write_pod() {  # write_pod FILE NAME RESTART_POLICY APP_COMMAND
  local sidecar="trap 'exit 0' TERM; while true; do sleep 1 \\& wait \$!; done"
  sed -e "s|@NAME@|$2|" -e "s|@POLICY@|$3|" -e "s|@APP@|$4|" -e "s|@SIDECAR@|$sidecar|" \
    >"$1" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: @NAME@}
spec:
  restartPolicy: @POLICY@
  terminationGracePeriodSeconds: 2
  volumes: [{name: shared, emptyDir: {}}]
  initContainers:
  - name: init
    bundle: bundles/init
    command: [/bin/sh, -c, "echo ready > /data/ready"]
    volumeMounts: [{name: shared, mountPath: /data}]
  - name: sidecar-a
    bundle: bundles/sidecar
    restartPolicy: Always
    command: [/bin/sh, -c, "@SIDECAR@"]
  - name: sidecar-b
    bundle: bundles/sidecar
    restartPolicy: Always
    command: [/bin/sh, -c, "@SIDECAR@"]
  containers:
  - name: app
    bundle: bundles/app
    command: [/bin/sh, -c, "@APP@"]
    volumeMounts: [{name: shared, mountPath: /data}]
EOF
}
write_pod "$work/short.yaml" soak Never "test -f /data/ready \\&\\& sleep 0.2"
write_pod "$work/stopped.yaml" soak Never "trap 'exit 0' TERM; sleep 30 \\& wait \$!"
write_pod "$work/together.yaml" soak Never "sleep 1"
write_pod "$work/long/long.yaml" soak-long Always "sleep 0.3; exit 1"

failures=0
fail() {
  echo "soak: FAIL: $*" >&2
  failures=$((failures + 1))
}

# --- counting what is left -----------------------------------------------------------------
# Our processes: a root or command line inside the work dir (containers and shims), except the
# long pod's (everything of it is under $work/long).
count_processes() {
  local c=0 p root cmd
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    root=$(readlink "$p/root" 2>/dev/null) || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ "$root" == "$work/long"/* ]] && continue
    [[ "$cmd" == *"$work/long"* ]] && continue
    if [[ "$root" == "$work"/* ]] || [[ "$cmd" == *"$work"* ]]; then
      c=$((c + 1))
      echo "  left process ${p#/proc/}: $cmd" >&2
    fi
  done
  echo "$c"
}
# Zombies whose parent is this script or the long pod's shim.
count_zombies() {
  ps -e -o stat=,ppid= | awk -v a="$$" -v b="${long_pid:-0}" \
    '$1 ~ /^Z/ && ($2 == a || $2 == b) { c++ } END { print c + 0 }'
}
count_mounts() { grep -F "$work" /proc/self/mountinfo | grep -vcF "$work/long" || true; }
count_cgroups() {
  find "$cgroot" -maxdepth 3 -type d -name "*$token*" ! -path "*pod-$token-long*" 2>/dev/null |
    { grep -v "^$cgroot/$cgparent\$" || true; } | wc -l
}
# State a finished pod or container must not leave: sockets, temporary files, volumes, OCI state.
count_state() {
  local c
  c=$(find "$work/state" \( -type s -o -name '*.tmp' -o -path '*/volumes/*' \) 2>/dev/null |
    wc -l)
  c=$((c + $(find "$work/ociroot" -mindepth 1 2>/dev/null | wc -l)))
  echo "$c"
}

rows=()
check_phase() {  # check_phase NAME RUNS SECONDS
  local p z m g s
  p=$(count_processes)
  z=$(count_zombies)
  m=$(count_mounts)
  g=$(count_cgroups)
  s=$(count_state)
  rows+=("$(printf '%-22s %6s %9s %9s %7s %7s %7s %7s' "$1" "$2" "$3" "$p" "$z" "$m" "$g" "$s")")
  if [ $((p + z + m + g + s)) -ne 0 ]; then
    fail "$1 left processes=$p zombies=$z mounts=$m cgroups=$g state=$s"
    find "$work/state" "$work/ociroot" \( -type s -o -name '*.tmp' -o -path '*/volumes/*' \) \
      2>/dev/null | head -5 | sed 's/^/  left: /' >&2
  fi
  rm -rf "$work/state" "$work/ociroot"
  mkdir -p "$work/state"
}

# --- the long pod: its shim's fds over time --------------------------------------------------
fd_samples=()
sample_fds() {
  local a b c
  [ -d "/proc/$long_pid" ] || { fail "the long pod's shim $long_pid is gone"; return; }
  # The least of three reads: a container being started holds a few fds for a moment.
  a=$(ls "/proc/$long_pid/fd" | wc -l)
  sleep 0.05
  b=$(ls "/proc/$long_pid/fd" | wc -l)
  sleep 0.05
  c=$(ls "/proc/$long_pid/fd" | wc -l)
  fd_samples+=("$(printf '%s\n' "$a" "$b" "$c" | sort -n | head -1)")
}
mkdir -p "$work/state"
long_sock=$("$podshim" start --id "$token-long" --state-dir "$work/long/state" \
  --cgroup-parent "$cgparent" --log-level warn --backoff-initial 100ms --backoff-max 100ms \
  "$work/long/long.yaml" 2>>"$work/long/start.err") || {
  cat "$work/long/start.err" >&2
  fail "the long pod did not start"
  exit 1
}
long_pid=$(cat "$work/long/state/podshim.pid")
sleep 1
sample_fds

# --- phase 1: pod lifecycles ------------------------------------------------------------------
start=$(date +%s.%N)
for i in $(seq "$n"); do
  id="$token-$i"
  if [ $((i % 2)) -eq 1 ]; then
    rc=0
    "$podshim" run --id "$id" --state-dir "$work/state/$id" --cgroup-parent "$cgparent" \
      --log-level warn "$work/short.yaml" 2>>"$work/run.err" || rc=$?
    [ "$rc" -eq 0 ] || fail "pod $i (normal end) exited $rc"
  else
    if sock=$("$podshim" start --id "$id" --state-dir "$work/state/$id" \
      --cgroup-parent "$cgparent" --log-level warn "$work/stopped.yaml" 2>>"$work/run.err"); then
      pid=$(cat "$work/state/$id/podshim.pid")
      "$podshim" ctl --socket "$sock" stop >/dev/null || fail "pod $i: ctl stop failed"
      wait_gone "$pid" || fail "pod $i: shim $pid still running 20 s after ctl stop"
    else
      fail "pod $i (stopped mid-run) did not start"
    fi
  fi
  rm -rf "$work/state/$id/logs" "$work/state/$id/containers" "$work/state/$id/events.jsonl"
  if [ $((i % 10)) -eq 0 ]; then sample_fds; fi
done
end=$(date +%s.%N)
pod_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
check_phase "pod lifecycles" "$n" "$pod_seconds"
sample_fds

# --- phase 2: podshim oci run -----------------------------------------------------------------
mkdir -p "$work/ociroot"
start=$(date +%s.%N)
for i in $(seq "$n"); do
  rc=0
  "$podshim" oci --root "$work/ociroot" run --bundle "$work/bundles/oci" "$token-oci-$i" \
    >/dev/null 2>>"$work/oci.err" || rc=$?
  [ "$rc" -eq 0 ] || fail "oci run $i exited $rc"
  if [ $((i % 50)) -eq 0 ]; then sample_fds; fi
done
end=$(date +%s.%N)
oci_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
check_phase "oci runs" "$n" "$oci_seconds"

# --- phase 3: 20 pods at once -----------------------------------------------------------------
start=$(date +%s.%N)
pids=()
for i in $(seq 20); do
  id="$token-together-$i"
  "$podshim" run --id "$id" --state-dir "$work/state/$id" --cgroup-parent "$cgparent" \
    --log-level warn "$work/together.yaml" 2>>"$work/run.err" &
  pids+=("$!")
done
for i in "${!pids[@]}"; do
  rc=0
  wait "${pids[$i]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "pod together-$((i + 1)) exited $rc"
done
end=$(date +%s.%N)
together_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
check_phase "20 pods at once" 20 "$together_seconds"
sample_fds

# --- the long pod ends ------------------------------------------------------------------------
restarts=$(grep -c '"type":"ContainerStarted","container":"app"' "$work/long/state/events.jsonl" ||
  true)
"$podshim" ctl --socket "$long_sock" stop >/dev/null || fail "the long pod: ctl stop failed"
wait_gone "$long_pid" || fail "the long pod's shim still running 20 s after ctl stop"
long_pid=""
# Now everything must be gone, the cgroup parent too.
p=$(count_processes)
z=$(count_zombies)
m=$(grep -cF "$work" /proc/self/mountinfo || true)
g=$(find "$cgroot" -maxdepth 3 -type d -name "*$token*" 2>/dev/null | wc -l)
s=$(find "$work/long/state" \( -type s -o -name '*.tmp' -o -path '*/volumes/*' \) | wc -l)
rows+=("$(printf '%-22s %6s %9s %9s %7s %7s %7s %7s' "at the end (all)" - - "$p" "$z" "$m" "$g" "$s")")
[ $((p + z + m + g + s)) -eq 0 ] || fail "at the end: processes=$p zombies=$z mounts=$m cgroups=$g (parent included) state=$s"
first_fd=${fd_samples[0]}
last_fd=${fd_samples[-1]}
max_fd=$(printf '%s\n' "${fd_samples[@]}" | sort -n | tail -1)
# A container being started holds its pipes for a moment: allow that much, no steady growth.
if [ "$last_fd" -gt $((first_fd + 4)) ]; then
  fail "the long pod's shim fds grew from $first_fd to $last_fd over $restarts app restarts"
fi

printf '\n%-22s %6s %9s %9s %7s %7s %7s %7s\n' phase runs seconds processes zombies mounts \
  cgroups state
printf '%s\n' "${rows[@]}"
printf '\nlong pod: %s app restarts; shim fds first %s, last %s, max %s (%s samples)\n' \
  "$restarts" "$first_fd" "$last_fd" "$max_fd" "${#fd_samples[@]}"
awk -v s="$pod_seconds" -v o="$oci_seconds" -v n="$n" \
  'BEGIN { printf "per pod lifecycle: %.3f s; per oci run: %.3f s\n", s / n, o / n }'
if [ "$failures" -ne 0 ]; then
  echo "soak: FAILED ($failures problems; stderr of the runs: $work/*.err, kept)" >&2
  KEEP=1
  exit 1
fi
echo "soak: nothing left after $n pod lifecycles, $n oci runs and 20 pods at once"
