#!/usr/bin/env bash
# Probe timing of `podshim run` on real busybox containers (docs/benchmarks.md): a pod of
# CONTAINERS (default 10) app containers, each with an always-failing readiness probe at
# periodSeconds 1, runs for DURATION seconds (default 12), then gets SIGTERM. From events.jsonl,
# per container: the intervals between consecutive ProbeFailed events (lateness = interval - 1 s)
# and each result's lateness against the fixed schedule (ContainerStarted + k s); from
# /proc/<shim pid>/stat: the shim's CPU time (utime+stime) as % of one core over the measured
# window; and its VmRSS at the end of the window. Three variants: exec probes (`false` run in the
# container), httpGet probes (a 404 from the container's own busybox httpd) and HTTPS httpGet
# probes (a 404 from test_proc's TLS server, copied into the bundle). Needs root; builds podshim
# (target `podshim` in build/) when PODSHIM is not set and build/src/podshim is missing, and
# test_proc for https likewise (TEST_PROC). Works in a temp dir it removes.
# Usage: scripts/bench-probes.sh [exec|http|https]...   env: PODSHIM, TEST_PROC, CONTAINERS,
# DURATION
set -euo pipefail

containers=${CONTAINERS:-10}
duration=${DURATION:-12}
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(exec http)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cgroup_parent=podshim-bench

for v in "${variants[@]}"; do
  case $v in
    exec | http | https) ;;
    *)
      echo "bench-probes: unknown variant \"$v\" (exec, http or https)" >&2
      exit 2
      ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-probes: needs root (namespaces, mounts, cgroups)" >&2
  exit 1
fi
if [ -z "${PODSHIM:-}" ]; then
  PODSHIM=$repo/build/src/podshim
  if [ ! -x "$PODSHIM" ]; then
    echo "bench-probes: building podshim in $repo/build"
    cmake -S "$repo" -B "$repo/build" >/dev/null
    cmake --build "$repo/build" --target podshim -j"$(nproc)" >/dev/null
  fi
fi
podshim=$PODSHIM
if [[ " ${variants[*]} " == *" https "* ]] && [ -z "${TEST_PROC:-}" ]; then
  TEST_PROC=$repo/build/tests/test_proc
  if [ ! -x "$TEST_PROC" ]; then
    echo "bench-probes: building test_proc in $repo/build"
    cmake -S "$repo" -B "$repo/build" >/dev/null
    cmake --build "$repo/build" --target test_proc -j"$(nproc)" >/dev/null
  fi
fi
if [ ! -x "$podshim" ]; then
  echo "bench-probes: $podshim is not an executable" >&2
  exit 1
fi

work=$(mktemp -d /tmp/podshim-benchprobes.XXXXXX)
shim_pid=""
cleanup() {
  if [ -n "$shim_pid" ] && kill -0 "$shim_pid" 2>/dev/null; then
    kill -TERM "$shim_pid" 2>/dev/null || true
    sleep 0.2
    kill -INT "$shim_pid" 2>/dev/null || true # a second signal: the shim SIGKILLs its pod
    wait "$shim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# One busybox bundle shared by every container; the manifests override the command.
PODSHIM=$podshim "$here/make-bundle.sh" "$work/bundle" >/dev/null
if [ -n "${TEST_PROC:-}" ]; then
  cp "$TEST_PROC" "$work/bundle/rootfs/test_proc"
fi

# The pod of one variant: CONTAINERS apps that run until SIGTERM, each probed every second.
# exec: `false` in the container. http: GET /missing from the container's own httpd (port
# 8081, 8082, ... in the shared network namespace), answered 404. https: GET /status/404 from
# the container's own `test_proc https` (same ports), answered 404 over TLS.
manifest() { # VARIANT
  echo "apiVersion: v1"
  echo "kind: Pod"
  echo "metadata: {name: bench-probes-$1}"
  echo "spec:"
  echo "  restartPolicy: Always"
  echo "  terminationGracePeriodSeconds: 2"
  echo "  containers:"
  for i in $(seq 1 "$containers"); do
    echo "  - name: c$i"
    echo "    bundle: bundle"
    if [ "$1" = exec ]; then
      echo '    command: ["sh", "-c", "trap \"exit 0\" TERM; sleep 3600 & wait"]'
      echo '    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 1}'
    elif [ "$1" = https ]; then
      local port=$((8080 + i))
      echo "    command: [\"/test_proc\", \"https\", \"$port\", \"-\"]"
      echo "    readinessProbe: {httpGet: {port: $port, path: /status/404, scheme: HTTPS}," \
        "periodSeconds: 1, failureThreshold: 1}"
    else
      local port=$((8080 + i))
      echo "    command: [\"sh\", \"-c\", \"mkdir -p /dev/shm/www; trap \\\"exit 0\\\" TERM;" \
        "httpd -f -p $port -h /dev/shm/www & wait\"]"
      echo "    readinessProbe: {httpGet: {port: $port, path: /missing}, periodSeconds: 1," \
        "failureThreshold: 1}"
    fi
  done
}

cat >"$work/ev.py" <<'EOF'
import calendar, collections, json, statistics, sys, time

def ns(t):  # "2026-11-22T12:08:01.123456789Z" -> ns since the epoch
    t = t.rstrip("Z")
    whole, _, frac = t.partition(".")
    secs = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])

def analyse(path, containers, duration, cpu_ticks, child_ticks, hz, window_s, variant):
    ev = [json.loads(line) for line in open(path) if line.strip()]
    started, results = {}, {}
    for e in ev:
        c = e.get("container")
        if e["type"] == "ContainerStarted" and c not in started:
            started[c] = ns(e["time"])
        elif e["type"] == "ProbeFailed" and e.get("probe") == "readiness":
            results.setdefault(c, []).append((ns(e["time"]), e.get("message", "")))
    intervals, schedule, first = [], [], []
    for c in sorted(started):
        r = results.get(c, [])
        if len(r) < duration - 2:
            sys.exit(f"bench-probes: {c}: only {len(r)} ProbeFailed events in {duration} s")
        times = [t for t, _ in r]
        intervals += [(b - a) / 1e6 - 1000 for a, b in zip(times, times[1:])]
        # The k-th result (k = 0, 1, ...) is due at ContainerStarted + k s (initialDelay 0).
        late = [(t - started[c]) / 1e6 - 1000 * k for k, t in enumerate(times)]
        first.append(late[0])
        schedule += late[1:]
    if len(started) != containers:
        sys.exit(f"bench-probes: {len(started)} containers started, expected {containers}")
    messages = collections.Counter(m for r in results.values() for _, m in r)
    print(f"variant {variant}: {len(intervals)} intervals over {len(started)} containers; "
          f"messages: " + "; ".join(f"{n} x {m!r}" for m, n in messages.most_common(3)))
    print(f"  interval lateness vs 1 s (ms): mean {statistics.mean(intervals):.2f}, "
          f"worst {max(intervals):.2f}, best {min(intervals):.2f}, "
          f"mean |lateness| {statistics.mean(abs(x) for x in intervals):.2f}")
    print(f"  result lateness vs schedule (ms): first results mean {statistics.mean(first):.2f}, "
          f"worst {max(first):.2f}; later results mean {statistics.mean(schedule):.2f}, "
          f"worst {max(schedule):.2f}, best {min(schedule):.2f}")
    print(f"  shim CPU: {cpu_ticks * 1000 / hz:.0f} ms over {window_s:.1f} s = "
          f"{cpu_ticks / hz / window_s * 100:.2f} % of one core (reaped children: "
          f"{child_ticks * 1000 / hz:.0f} ms)")

a = sys.argv
analyse(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]), float(a[7]), a[8])
EOF

# Waits (at most 20 s) until events.jsonl holds COUNT events of TYPE.
wait_events() { # STATE-DIR TYPE COUNT
  local file=$1/events.jsonl n
  for _ in $(seq 1 2000); do
    if [ -f "$file" ]; then
      n=$(grep -cF "\"type\":\"$2\"" "$file" || true)
      [ "$n" -ge "$3" ] && return 0
    fi
    kill -0 "$shim_pid" 2>/dev/null || break
    sleep 0.01
  done
  echo "bench-probes: no $3 $2 event(s) in $file; shim stderr:" >&2
  cat "$work/shim.err" >&2
  exit 1
}
# Sum of field FIELD and the next one of /proc/PID/stat (14: utime+stime, 16: cutime+cstime), in
# clock ticks; the command name in parentheses may hold spaces, so count after it.
ticks() { # PID FIELD
  sed 's/.*) //' /proc/"$1"/stat | awk -v f="$(($2 - 2))" '{print $f + $(f + 1)}'
}

hz=$(getconf CLK_TCK)
echo "bench-probes: $podshim; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$containers containers, $duration s"
for v in "${variants[@]}"; do
  manifest "$v" >"$work/$v.yaml"
  "$podshim" validate "$work/$v.yaml" >/dev/null
  state=$work/state-$v
  "$podshim" run --state-dir "$state" --cgroup-parent "$cgroup_parent" --log-level=warn \
    "$work/$v.yaml" </dev/null >/dev/null 2>>"$work/shim.err" &
  shim_pid=$!
  wait_events "$state" ContainerStarted "$containers"
  t0=$EPOCHREALTIME
  cpu0=$(ticks "$shim_pid" 14)
  child0=$(ticks "$shim_pid" 16)
  sleep "$duration"
  cpu1=$(ticks "$shim_pid" 14)
  child1=$(ticks "$shim_pid" 16)
  t1=$EPOCHREALTIME
  rss=$(awk '/^VmRSS/ {print $2, $3}' /proc/"$shim_pid"/status)
  rc=0
  kill -TERM "$shim_pid"
  wait "$shim_pid" || rc=$?
  shim_pid=""
  if [ "$rc" -ne 143 ]; then
    echo "bench-probes: podshim run exited $rc after SIGTERM, expected 143; stderr:" >&2
    cat "$work/shim.err" >&2
    exit 1
  fi
  window=$(python3 -c "print(${t1} - ${t0})")
  python3 "$work/ev.py" "$state/events.jsonl" "$containers" "$duration" \
    "$((cpu1 - cpu0))" "$((child1 - child0))" "$hz" "$window" "$v"
  echo "  shim VmRSS at the end: $rss"
done
