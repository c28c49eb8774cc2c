#!/usr/bin/env bash
# `podshim run` as a pod supervisor, measured on real busybox containers (docs/benchmarks.md):
#  1. start-up: from launching `podshim run` to the app's ContainerStarted event, for a pod of one
#     init (exits at once), two sidecars and one app; RUNS repetitions (default 20), alternating
#     with as many `crun run`s of /bin/true in the same rootfs (the unit the target is set in);
#  2. memory: the shim's VmRSS, VmHWM, Pss and RSS per mapping with five containers running
#     (2 sidecars + 3 apps); then the same pod under `podshim start`: the daemon and its keeper;
#  3. idle cost: the shim's CPU time (utime+stime) and context switches (= wake-ups) over
#     IDLE_SECONDS (default 10) with those five containers running and nothing happening;
#  4. SIGKILL lateness: an app that ignores SIGTERM in a pod with terminationGracePeriodSeconds: 1;
#     the plan sends SIGKILL max(grace, 2 s) after TerminationStarted; lateness = the SIGKILL
#     SignalSent event's time minus that; KILL_RUNS repetitions (default 10).
# Works from a temp dir it removes. Needs root. Installs missing packages (setup.sh --bench) and
# builds podshim (target `podshim` in build/) when PODSHIM is not set and build/src/podshim is missing.
# Usage: scripts/bench-pod.sh     env: PODSHIM, RUNS, KILL_RUNS, IDLE_SECONDS
set -euo pipefail

runs=${RUNS:-20}
kill_runs=${KILL_RUNS:-10}
idle_seconds=${IDLE_SECONDS:-10}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
cgroup_parent=podshim-bench

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-pod: needs root (namespaces, mounts, cgroups)" >&2
  exit 1
fi
"$here/setup.sh" --bench
if [ -z "${PODSHIM:-}" ]; then
  PODSHIM=$repo/build/src/podshim
  if [ ! -x "$PODSHIM" ]; then
    echo "bench-pod: building podshim in $repo/build"
    cmake -S "$repo" -B "$repo/build" >/dev/null
    cmake --build "$repo/build" --target podshim -j"$(nproc)" >/dev/null
  fi
fi
podshim=$PODSHIM
if [ ! -x "$podshim" ]; then
  echo "bench-pod: $podshim is not an executable" >&2
  exit 1
fi

work=$(mktemp -d /tmp/podshim-benchpod.XXXXXX)
shim_pid=""
daemon_sock="" # the control socket of a `podshim start` pod still running
cleanup() {
  [ -n "$daemon_sock" ] && "$podshim" ctl --socket "$daemon_sock" stop >/dev/null 2>&1
  if [ -n "$shim_pid" ] && kill -0 "$shim_pid" 2>/dev/null; then
    kill -KILL "$shim_pid" 2>/dev/null || true # a second signal: the shim SIGKILLs its pod
    wait "$shim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# One busybox bundle shared by every container; the manifests override the command.
PODSHIM=$podshim "$here/make-bundle.sh" "$work/bundle" >/dev/null

# Runs until SIGTERM, then exits 0 at once (`wait` is interrupted by the trapped signal; the
# sleep dies with the container's PID namespace).
until_term='["sh", "-c", "trap \"exit 0\" TERM; sleep 3600 & wait"]'
# Ignores SIGTERM: only SIGKILL ends it.
ignore_term='["sh", "-c", "trap \"\" TERM; while :; do sleep 1; done"]'

container() { # NAME COMMAND-JSON [sidecar]
  echo "  - name: $1"
  echo "    bundle: bundle"
  [ "${3:-}" = sidecar ] && echo "    restartPolicy: Always"
  echo "    command: $2"
}
pod() { # NAME GRACE ; then the spec body on stdin
  echo "apiVersion: v1"
  echo "kind: Pod"
  echo "metadata: {name: $1}"
  echo "spec:"
  echo "  restartPolicy: Never"
  echo "  terminationGracePeriodSeconds: $2"
  cat
}

{
  echo "  initContainers:"
  container init '["/bin/true"]'
  container sidecar-a "$until_term" sidecar
  container sidecar-b "$until_term" sidecar
  echo "  containers:"
  container app "$until_term"
} | pod bench-start 5 >"$work/start.yaml"

{
  echo "  initContainers:"
  container sidecar-a "$until_term" sidecar
  container sidecar-b "$until_term" sidecar
  echo "  containers:"
  container app-1 "$until_term"
  container app-2 "$until_term"
  container app-3 "$until_term"
} | pod bench-idle 5 >"$work/idle.yaml"

{
  echo "  containers:"
  container app "$ignore_term"
} | pod bench-kill 1 >"$work/kill.yaml"

for m in start idle kill; do
  "$podshim" validate "$work/$m.yaml" >/dev/null
done

# Event-time arithmetic (RFC 3339 with nanoseconds) and the statistics.
cat >"$work/ev.py" <<'EOF'
import calendar, json, statistics, sys, time

def ns(t):  # "2026-11-22T12:08:01.123456789Z" -> ns since the epoch
    t = t.rstrip("Z")
    whole, _, frac = t.partition(".")
    secs = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])

def events(path):
    return [json.loads(line) for line in open(path) if line.strip()]

def find(ev, type_, container=None, **fields):
    for e in ev:
        if e["type"] != type_ or (container and e.get("container") != container):
            continue
        if all(e.get(k) == v for k, v in fields.items()):
            return e
    sys.exit(f"bench-pod: no {type_} {container or ''} {fields} event")

def startup(path, t0_us):  # ms from t0 (EPOCHREALTIME) to the app's ContainerStarted
    e = find(events(path), "ContainerStarted", "app")
    print(f"{(ns(e['time']) - int(t0_us.replace('.', '')) * 1000) / 1e6:.3f}")

def kill(path):  # SIGTERM and SIGKILL after TerminationStarted (ms), lateness (ms), exit code
    ev = events(path)
    ts = find(ev, "TerminationStarted")
    grace_ns = max(ts["gracePeriodSeconds"], 2) * 10**9  # SIGKILL max(grace, 2 s) after SIGTERM
    term = find(ev, "SignalSent", "app", signal="SIGTERM")
    k = find(ev, "SignalSent", "app", signal="SIGKILL")
    exited = find(ev, "ContainerExited", "app")
    t0 = ns(ts["time"])
    print(f"{(ns(term['time']) - t0) / 1e6:.3f} {(ns(k['time']) - t0) / 1e6:.3f} "
          f"{(ns(k['time']) - t0 - grace_ns) / 1e6:.3f} {exited['exitCode']}")

def stats(values):
    v = [float(x) for x in values]
    return statistics.mean(v), min(v), max(v)

def summary(work, runs, kill_runs, idle_s):
    up = open(f"{work}/startup.txt").read().split()
    crun_mean, crun_lo, crun_hi = stats(open(f"{work}/crun.txt").read().split())
    m = dict(line.split("=") for line in open(f"{work}/idle.txt").read().split())
    kills = [line.split() for line in open(f"{work}/kill.txt") if line.strip()]
    late = [k[2] for k in kills]
    mean, lo, hi = stats(up)
    lmean, llo, lhi = stats(late)
    rows = [
        ("start-up to app running", f"{mean:.1f} ms mean",
         f"min {lo:.1f}, max {hi:.1f} ms, n={runs}; {mean / crun_mean:.2f} crun starts"),
        ("one `crun run` (/bin/true)", f"{crun_mean:.1f} ms mean",
         f"min {crun_lo:.1f}, max {crun_hi:.1f} ms, n={runs}, in the same run"),
        ("shim VmRSS, 5 containers", f"{int(m['rss_kb']) / 1024:.2f} MiB",
         f"VmHWM {int(m['hwm_kb']) / 1024:.2f} MiB (RssAnon {int(m['anon_kb']) / 1024:.2f}, "
         f"RssFile {int(m['file_kb']) / 1024:.2f}); target <= 1.5 MiB"),
        ("shim Pss / private, 5 containers", f"{int(m['pss_kb']) / 1024:.2f} MiB",
         f"private {int(m['private_kb']) / 1024:.2f} MiB (not shared with any other process); "
         "target <= 1.0 MiB"),
        (f"shim CPU over {idle_s} s idle", f"{float(m['cpu_ms']):.0f} ms",
         f"{m['threads']} thread(s)"),
        (f"shim wake-ups over {idle_s} s idle", m["wakeups"],
         f"voluntary {m['vol']}, involuntary {m['invol']}; target 0"),
        ("SIGKILL lateness", f"{lmean:.2f} ms mean",
         f"worst {lhi:.2f}, best {llo:.2f} ms, n={kill_runs}; target < 5 ms"),
    ]
    print()
    print(f"{'measure':<34}{'result':<16}notes")
    for r in rows:
        print(f"{r[0]:<34}{r[1]:<16}{r[2]}")
    codes = sorted({k[3] for k in kills})
    print(f"(SIGKILLed app exit codes: {', '.join(codes)}; SIGTERM "
          f"{stats([k[0] for k in kills])[0]:.2f} ms and SIGKILL "
          f"{stats([k[1] for k in kills])[0]:.2f} ms after TerminationStarted on average)")

cmd = sys.argv[1]
if cmd == "startup":
    startup(sys.argv[2], sys.argv[3])
elif cmd == "kill":
    kill(sys.argv[2])
elif cmd == "summary":
    summary(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
EOF

# Starts `podshim run MANIFEST` with its own state dir; sets shim_pid.
start_shim() { # NAME STATE-DIR
  "$podshim" run --state-dir "$2" --cgroup-parent "$cgroup_parent" --log-level=warn \
    "$work/$1.yaml" </dev/null >/dev/null 2>>"$work/shim.err" &
  shim_pid=$!
}
# Waits (at most 20 s) until events.jsonl holds COUNT events of TYPE (for CONTAINER if given).
# Every 50 ms: the times measured come from the events, not from this loop, and each poll forks
# two greps, which at every 10 ms took CPU from the pod being timed (2 CPUs).
wait_events() { # STATE-DIR TYPE COUNT [CONTAINER]
  local file=$1/events.jsonl pattern="\"type\":\"$2\"" n
  for _ in $(seq 1 400); do
    if [ -f "$file" ]; then
      if [ -n "${4:-}" ]; then
        n=$(grep -F "$pattern" "$file" | grep -cF "\"container\":\"$4\"" || true)
      else
        n=$(grep -cF "$pattern" "$file" || true)
      fi
      [ "$n" -ge "$3" ] && return 0
    fi
    kill -0 "$shim_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench-pod: no $3 $2 event(s) in $file; shim stderr:" >&2
  cat "$work/shim.err" >&2
  exit 1
}
# SIGTERM to the shim (graceful pod stop); expects exit status 143.
stop_shim() {
  local rc=0
  kill -TERM "$shim_pid"
  wait "$shim_pid" || rc=$?
  shim_pid=""
  if [ "$rc" -ne 143 ]; then
    echo "bench-pod: podshim run exited $rc after SIGTERM, expected 143; stderr:" >&2
    cat "$work/shim.err" >&2
    exit 1
  fi
}

echo "bench-pod: $podshim; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Start-up latency, beside crun's: one `crun run` of /bin/true in the same busybox rootfs
#    (crun's own `spec`, no terminal), timed around the command (create, start, exit, delete).
#    crun refuses this host's hybrid cgroups: it runs in a private mount namespace with
#    /sys/fs/cgroup as cgroup2 and --cgroup-manager=disabled, as in bench-oci.sh. The runs
#    alternate (5 rounds), so a change in the machine's load hits both alike.
mkdir -p "$work/crun"
(cd "$work/crun" && crun spec)
python3 - "$work/crun/config.json" "$work/bundle/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["path"] = sys.argv[2]
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(sys.argv[1], "w"))
PY
crun_runs() { # FIRST LAST: prints the ms of each `crun run`
  unshare -m --propagation private bash -c '
    mount -t cgroup2 none /sys/fs/cgroup || exit 1
    for ((i = $1; i <= $2; i++)); do
      t0=$EPOCHREALTIME
      crun --cgroup-manager=disabled --root "$3/crun-state" run --bundle "$3/crun" "bench-$i" \
        || exit 1
      t1=$EPOCHREALTIME
      echo "$(( (${t1/./} - ${t0/./}) / 1000 )).$(( (${t1/./} - ${t0/./}) % 1000 / 100 ))"
    done' bash "$1" "$2" "$work"
}
crun_runs 0 0 >/dev/null # crun works (and its files are cached) before it is timed
: >"$work/startup.txt"
: >"$work/crun.txt"
rounds=5
[ "$runs" -lt "$rounds" ] && rounds=$runs
for ((r = 0; r < rounds; r++)); do
  first=$((r * runs / rounds + 1))
  last=$(((r + 1) * runs / rounds))
  crun_runs "$first" "$last" >>"$work/crun.txt"
  for i in $(seq "$first" "$last"); do
    state=$work/state-start-$i
    t0=$EPOCHREALTIME
    start_shim start "$state"
    wait_events "$state" ContainerStarted 1 app
    python3 "$work/ev.py" startup "$state/events.jsonl" "$t0" >>"$work/startup.txt"
    stop_shim
    rm -rf "$state"
  done
done
echo "start-up (ms): $(tr '\n' ' ' <"$work/startup.txt")"
echo "crun run (ms): $(tr '\n' ' ' <"$work/crun.txt")"

# 2 and 3. Memory and idle cost with five containers running.
task_switches() { # PID -> "VOLUNTARY INVOLUNTARY" summed over the shim's threads
  cat /proc/"$1"/task/*/status |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2}
         END {print v, n}'
}
cpu_ticks() { # PID -> utime+stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
  sed 's/.*) //' /proc/"$1"/stat | awk '{print $12 + $13}'
}
state=$work/state-idle
start_shim idle "$state"
wait_events "$state" ContainerStarted 5
sleep 1 # let the last start's work (status write, log pumps) finish
rss_kb=$(awk '/^VmRSS/ {print $2}' /proc/"$shim_pid"/status)
hwm_kb=$(awk '/^VmHWM/ {print $2}' /proc/"$shim_pid"/status)
anon_kb=$(awk '/^RssAnon/ {print $2}' /proc/"$shim_pid"/status)
file_kb=$(awk '/^RssFile/ {print $2}' /proc/"$shim_pid"/status)
# Proportional and private share (shared library pages count once per process mapping them).
pss_kb=$(awk '/^Pss:/ {print $2}' /proc/"$shim_pid"/smaps_rollup)
private_kb=$(awk '/^Private_(Clean|Dirty):/ {n += $2} END {print n}' /proc/"$shim_pid"/smaps_rollup)
threads=$(awk '/^Threads/ {print $2}' /proc/"$shim_pid"/status)
# Where the RSS is: each mapping's Rss and Anonymous kB, summed by what it maps.
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = (NF >= 6 ? $6 : "[anon]")}
     /^Rss:/ {rss[name] += $2} /^Anonymous:/ {anon[name] += $2}
     END {for (n in rss) if (rss[n] > 0) printf "  %6d kB (anonymous %d)  %s\n", rss[n], anon[n], n}' \
  /proc/"$shim_pid"/smaps | sort -rn >"$work/mappings.txt"
events_before=$(wc -l <"$state/events.jsonl")
read -r vol0 invol0 < <(task_switches "$shim_pid")
ticks0=$(cpu_ticks "$shim_pid")
sleep "$idle_seconds"
read -r vol1 invol1 < <(task_switches "$shim_pid")
ticks1=$(cpu_ticks "$shim_pid")
events_after=$(wc -l <"$state/events.jsonl")
hz=$(getconf CLK_TCK)
cat >"$work/idle.txt" <<EOF
rss_kb=$rss_kb
hwm_kb=$hwm_kb
anon_kb=$anon_kb
file_kb=$file_kb
pss_kb=$pss_kb
private_kb=$private_kb
threads=$threads
cpu_ms=$(((ticks1 - ticks0) * 1000 / hz))
vol=$((vol1 - vol0))
invol=$((invol1 - invol0))
wakeups=$((vol1 - vol0 + invol1 - invol0))
EOF
echo "idle: VmRSS ${rss_kb} kB, VmHWM ${hwm_kb} kB, $((events_after - events_before)) event(s)" \
  "while idle; $(tr '\n' ' ' <"$work/idle.txt")"
echo "shim RSS by mapping (kB), 5 containers:"
cat "$work/mappings.txt"
stop_shim
rm -rf "$state"

# 2b. The same pod under `podshim start` (the daemon and its keeper, podshim-keeper): the memory
#     of both resident processes, 1 s after the fifth ContainerStarted.
state=$work/state-daemon
sock=$("$podshim" start --state-dir "$state" --cgroup-parent "$cgroup_parent" --log-level=warn \
  "$work/idle.yaml" </dev/null 2>>"$work/shim.err")
daemon_sock=$sock
for _ in $(seq 1 2000); do
  [ "$(grep -cF '"type":"ContainerStarted"' "$state/events.jsonl" 2>/dev/null || echo 0)" -ge 5 ] &&
    break
  sleep 0.01
done
sleep 1
: >"$work/daemon.txt"
for pid in $(pgrep -f -- "--state-dir $state"); do
  printf '%s VmRSS %s kB, RssAnon %s kB, Pss %s kB\n' "$(cut -d' ' -f2 /proc/"$pid"/stat)" \
    "$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status)" \
    "$(awk '/^RssAnon/ {print $2}' /proc/"$pid"/status)" \
    "$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)" >>"$work/daemon.txt"
done
echo "podshim start, 5 containers:"
sed 's/^/  /' "$work/daemon.txt"
"$podshim" ctl --socket "$sock" stop >/dev/null
daemon_sock=""
for _ in $(seq 1 500); do
  pgrep -f -- "--state-dir $state" >/dev/null || break
  sleep 0.02
done
rm -rf "$state"

# 4. SIGKILL lateness.
: >"$work/kill.txt"
for i in $(seq 1 "$kill_runs"); do
  state=$work/state-kill-$i
  start_shim kill "$state"
  wait_events "$state" ContainerStarted 1 app
  stop_shim
  python3 "$work/ev.py" kill "$state/events.jsonl" >>"$work/kill.txt"
  rm -rf "$state"
done
echo "kill (SIGTERM ms, SIGKILL ms, lateness ms, exit code):"
sed 's/^/  /' "$work/kill.txt"

python3 "$work/ev.py" summary "$work" "$runs" "$kill_runs" "$idle_seconds"
