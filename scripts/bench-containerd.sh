#!/usr/bin/env bash
# containerd-shim-podshim-v2 against containerd's runc shim, side by side in one run
# (docs/benchmarks.md). A private containerd in a temp dir (own root, state and sockets, no CRI)
# with a busybox-static image from scripts/mk-oci-image.py; for each runtime:
#   1. `ctr run --rm --runtime R IMG idN /bin/true` timed by hyperfine, RUNS runs (default 20,
#      after WARMUP=2) in ROUNDS (default 4) turns of the runtimes, a fresh container id per run;
#   2. the shim's Rss and Pss (/proc/PID/smaps_rollup), RssAnon and threads (/proc/PID/status),
#      with 1 `-d sleep` container started, then with 5 containers of one group (annotation
#      io.containerd.runc.v2.group) on the same shim: right after a `ctr task ls` (a State RPC
#      per task) and IDLE seconds (default 6) later, with no RPC in between;
#   3. `ctr task exec /bin/true` into one running container started with `ctr run --seccomp`
#      (containerd's default profile, ~300 syscalls), RUNS runs in the same ROUNDS turns.
# Prints a markdown table with the ratios to runc's shim (targets: time <= 1/2, RSS <= 1/4).
# Needs root. Uses SHIM, or BUILD/src/containerd-shim-podshim-v2 (BUILD defaults to build/;
# the script never builds). Without that binary it measures runc's shim only and says so.
# SHIM_BASE: a second build of the shim (say, before a change), measured in the same rounds.
# Removes everything it made: tasks, containers, containerd, mounts, cgroups, its temp dir.
# Usage: scripts/bench-containerd.sh     env: BUILD, SHIM, SHIM_BASE, RUNS, ROUNDS, WARMUP, IDLE
set -euo pipefail

runs=${RUNS:-20}
rounds=${ROUNDS:-4}
warmup=${WARMUP:-2}
idle=${IDLE:-6}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${BUILD:-$repo/build}
shim=${SHIM:-$build/src/containerd-shim-podshim-v2}
runc_name=io.containerd.runc.v2
image=localhost/busybox:local

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-containerd: needs root (containerd, mounts, cgroups)" >&2
  exit 1
fi
"$here/setup.sh" --bench
for b in containerd ctr containerd-shim-runc-v2 runc hyperfine busybox python3; do
  if ! command -v "$b" >/dev/null; then
    echo "bench-containerd: $b is missing (scripts/setup.sh --bench installs it)" >&2
    exit 1
  fi
done
runtimes=("$runc_name")
if [ -x "$shim" ]; then
  shim=$(realpath "$shim")
  runtimes+=("$shim")
else
  echo "bench-containerd: $shim is not built: measuring runc's shim only" >&2
fi
base=""
if [ -n "${SHIM_BASE:-}" ]; then
  base=$(realpath "$SHIM_BASE")
  runtimes+=("$base")
fi

# The podshim binaries' page cache is dropped first: a file just written by the linker sits in
# page-cache folios that the shim's page faults map far more of than of the same bytes copied by
# cp or read back from disk (idle Pss 1.7 against 0.7 MiB on a 6.18 kernel); an installed binary
# is the latter.
for r in "${runtimes[@]}"; do
  [ "$r" = "$runc_name" ] && continue
  python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)  # dirty pages are not dropped
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$r"
done

work=$(mktemp -d /tmp/pcb.XXXXXX) # short: the sockets' paths stay far below 107 bytes
ns=bench$(basename "$work" | tr -dc 'a-zA-Z0-9')
containerd_pid=""
ctr() { command ctr --address "$work/c.sock" -n "$ns" "$@"; }

# Live processes with our work dir in their command line or environment (containerd's shims:
# -address, TTRPC_ADDRESS), not zombies.
our_processes() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(awk '{print $3}' "$p/stat" 2>/dev/null)" = Z ] && continue
    if grep -qsF "$work" "$p/cmdline" "$p/environ" 2>/dev/null; then
      echo "${p#/proc/}"
    fi
  done | grep -vx "$$" || true
}

cleanup() {
  set +e
  if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
    for t in $(ctr task ls -q 2>/dev/null); do
      ctr task kill -a -s SIGKILL "$t" >/dev/null 2>&1
    done
    sleep 0.5
    for t in $(ctr task ls -q 2>/dev/null); do ctr task delete "$t" >/dev/null 2>&1; done
    for c in $(ctr containers ls -q 2>/dev/null); do ctr containers rm "$c" >/dev/null 2>&1; done
    kill -TERM "$containerd_pid"
    wait "$containerd_pid" 2>/dev/null
  fi
  for p in $(our_processes); do kill -KILL "$p" 2>/dev/null; done # a shim left by a failure
  grep -F " $work/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
    while read -r m; do umount -l "$m"; done
  for root in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do # cgroupsPath /<ns>/<id>
    [ -d "$root$ns" ] && find "$root$ns" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rmdir "/run/containerd/runc/$ns" 2>/dev/null # runc's --root for our namespace
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
EOF
containerd --config "$work/config.toml" </dev/null >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 1 200); do
  ctr version >/dev/null 2>&1 && break
  kill -0 "$containerd_pid" 2>/dev/null || break
  sleep 0.05
done
if ! ctr version >/dev/null 2>&1; then
  echo "bench-containerd: containerd did not come up:" >&2
  cat "$work/containerd.log" >&2
  exit 1
fi

mkdir -p "$work"/R/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,tmp}
cp "$(command -v busybox)" "$work/R/bin/busybox"
chroot "$work/R" /bin/busybox --install -s
python3 "$repo/scripts/mk-oci-image.py" "$work/R" "$work/bb.tar" "$image" sh >/dev/null
ctr image import "$work/bb.tar" >/dev/null

label() {
  if [ "$1" = "$runc_name" ]; then
    echo "runc shim"
  elif [ "$1" = "$base" ]; then
    echo "podshim v2 base"
  else
    echo "podshim v2"
  fi
}

# 1. start-up: a counter file gives each run its own container id (read/echo are dash
# builtins: no extra process inside the timed command).
echo "bench-containerd: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$runs runs of ctr run --rm /bin/true per runtime (+$warmup warm-up), $rounds rounds"
names=()
commands=()
for r in "${runtimes[@]}"; do
  key=$(label "$r" | tr ' ' _)
  echo 0 >"$work/n.$key"
  names+=(-n "$(label "$r")")
  commands+=("read n <$work/n.$key; echo \$((n+1)) >$work/n.$key; command ctr --address \
$work/c.sock -n $ns run --rm --fifo-dir $work/fifo --runtime $r $image $key\$n /bin/true")
done
# containerd's events of every run: where the time goes (shim start + Create, Start, ...).
command ctr --address "$work/c.sock" -n "$ns" events >"$work/events" 2>&1 &
events_pid=$!
sleep 0.3
# In ROUNDS rounds of RUNS/ROUNDS runs each, the runtimes taking turns, so that a change of the
# machine's load hits both (hyperfine alone runs all of one command, then all of the next).
per_round=$(((runs + rounds - 1) / rounds))
timed_rounds() { # NAME: names[] and commands[] in ROUNDS hyperfine calls -> $work/NAME.<round>.json
  local round w
  for round in $(seq 1 "$rounds"); do
    w=0
    [ "$round" = 1 ] && w=$warmup
    hyperfine --style none --runs "$per_round" --warmup "$w" \
      --export-json "$work/$1.$round.json" "${names[@]}" "${commands[@]}"
  done
}
timed_rounds start

kill "$events_pid"
wait "$events_pid" 2>/dev/null || true

# Ends the tasks IDS... (killed, waited for STOPPED, deleted) and removes their containers.
remove_tasks() {
  local id
  for id in "$@"; do ctr task kill -s SIGKILL "$id" >/dev/null; done
  for id in "$@"; do
    for _ in $(seq 1 100); do
      [ "$(ctr task ls | awk -v id="$id" '$1 == id {print $3}')" = STOPPED ] && break
      sleep 0.05
    done
    ctr task delete "$id" >/dev/null 2>&1 || true
    ctr containers rm "$id" >/dev/null
  done
}

# 1b. exec into a running container under containerd's default seccomp profile.
names=()
commands=()
for r in "${runtimes[@]}"; do
  key=$(label "$r" | tr ' ' _)
  ctr run -d --seccomp --fifo-dir "$work/fifo" --runtime "$r" "$image" "exec-$key" sleep 3600 \
    >/dev/null
  echo 0 >"$work/e.$key"
  names+=(-n "$(label "$r")")
  commands+=("read n <$work/e.$key; echo \$((n+1)) >$work/e.$key; command ctr --address \
$work/c.sock -n $ns task exec --fifo-dir $work/fifo --exec-id e\$n exec-$key /bin/true")
done
timed_rounds exec
for r in "${runtimes[@]}"; do remove_tasks "exec-$(label "$r" | tr ' ' _)"; done

# 2. memory of an idle shim: 1 container, then 5 of one group.
field() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }
sample() { # shim pid -> "rss_kb pss_kb threads anon_kb"
  echo "$(field Rss /proc/"$1"/smaps_rollup) $(field Pss /proc/"$1"/smaps_rollup)" \
    "$(field Threads /proc/"$1"/status) $(field RssAnon /proc/"$1"/status)"
}
for r in "${runtimes[@]}"; do
  key=$(label "$r" | tr ' ' _)
  for i in 1 2 3 4 5; do
    ctr run -d --fifo-dir "$work/fifo" --runtime "$r" \
      --annotation io.containerd.runc.v2.group="g-$key" "$image" "mem-$key-$i" sleep 3600 \
      >/dev/null
    if [ "$i" = 1 ] || [ "$i" = 5 ]; then
      # `ctr task ls` asks every shim for State; the sample is taken IDLE s after it, of a shim
      # nobody asks anything (podshim's drops the pages an RPC touched 5 s after the last one).
      pid=$(ctr task ls | awk -v id="mem-$key-$i" '$1 == id {print $2}')
      shim_pid=$(awk '{print $4}' /proc/"$pid"/stat)
      echo "$(sample "$shim_pid") $shim_pid" >"$work/mem-busy.$key.$i"
      sleep "$idle"
      echo "$(sample "$shim_pid") $shim_pid" >"$work/mem.$key.$i"
    fi
  done
  shims=$(for i in 1 2 3 4 5; do
    pid=$(ctr task ls | awk -v id="mem-$key-$i" '$1 == id {print $2}')
    awk '{print $4}' /proc/"$pid"/stat
  done | sort -u | wc -l)
  echo "$shims" >"$work/shims.$key"
  remove_tasks "mem-$key-"{1..5}
done

# 3. the table
python3 - "$work" "$base" "${runtimes[@]}" <<'EOF'
import json, sys
work, base, runtimes = sys.argv[1], sys.argv[2], sys.argv[3:]
import glob, statistics
def timed(prefix):
    times = {}
    for path in sorted(glob.glob(f"{work}/{prefix}.*.json")):
        for r in json.load(open(path))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    return {name: {"mean": statistics.mean(t), "min": min(t), "max": max(t), "runs": len(t),
                   "stddev": statistics.stdev(t) if len(t) > 1 else 0.0}
            for name, t in times.items()}
start = timed("start")
execs = timed("exec")
rows = []
def label(r):
    return "runc shim" if r == "io.containerd.runc.v2" else (
        "podshim v2 base" if r == base else "podshim v2")
for r in runtimes:
    name = label(r)
    key = name.replace(" ", "_")
    t = start[name]
    mem = {i: open(f"{work}/mem.{key}.{i}").read().split() for i in (1, 5)}
    mem["busy"] = open(f"{work}/mem-busy.{key}.5").read().split()
    shims = open(f"{work}/shims.{key}").read().strip()
    rows.append((name, t, mem, shims))
runc = rows[0]
print()
print(f"{rows[0][1]['runs']} runs per runtime")
print("| runtime | ctr run --rm /bin/true, mean ± σ (min-max) | shim Rss / Pss, 1 container "
      "| shim Rss / Pss, 5 grouped | the same right after State | RssAnon (1 / 5) "
      "| threads (1 / 5) | shims for the 5 |")
print("|---|---|---|---|---|---|---|---|")
for name, t, mem, shims in rows:
    ms = lambda s: f"{s * 1000:.1f}"
    mb = lambda kb: f"{int(kb) / 1024:.1f} MiB"
    print(f"| {name} | {ms(t['mean'])} ± {ms(t['stddev'])} ms ({ms(t['min'])}-{ms(t['max'])}) "
          f"| {mb(mem[1][0])} / {mb(mem[1][1])} | {mb(mem[5][0])} / {mb(mem[5][1])} "
          f"| {mb(mem['busy'][0])} / {mb(mem['busy'][1])} "
          f"| {mb(mem[1][3])} / {mb(mem[5][3])} | {mem[1][2]} / {mem[5][2]} | {shims} |")
if len(rows) == 1:
    print("| podshim v2 | not measured: the binary is not built | | | | | | |")
print("\n`ctr task exec /bin/true` into a container under containerd's default seccomp profile")
print("| runtime | mean ± σ (min-max) |")
print("|---|---|")
for name, *_ in rows:
    t = execs[name]
    ms = lambda s: f"{s * 1000:.1f}"
    print(f"| {name} | {ms(t['mean'])} ± {ms(t['stddev'])} ms ({ms(t['min'])}-{ms(t['max'])}) |")
# Per phase, from containerd's events (their publish times), mean over the timed runs.
import datetime
phases = ["/containers/create", "/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete",
          "/containers/delete"]
seen = {}
for line in open(f"{work}/events"):
    f = line.split(None, 6)
    if len(f) < 7 or f[5] not in phases:
        continue
    t = datetime.datetime.strptime((f[0] + " " + f[1])[:26], "%Y-%m-%d %H:%M:%S.%f").timestamp()
    p = json.loads(f[6])
    seen.setdefault(p.get("container_id") or p.get("id"), {}).setdefault(f[5], t)
print("\nFrom containerd's events, mean ms per run: containers/create -> tasks/create (shim "
      "start + Create) -> tasks/start -> tasks/exit -> tasks/delete -> containers/delete")
print("| runtime | -> tasks/create | -> tasks/start | -> tasks/exit | -> tasks/delete "
      "| -> containers/delete | containers/create -> containers/delete |")
print("|---|---|---|---|---|---|---|")
for name, *_ in rows:
    key = name.replace(" ", "_")
    runs = [r for cid, r in seen.items() if cid and cid.startswith(key) and len(r) == 6]
    if not runs:
        continue
    gaps = [statistics.mean((r[b] - r[a]) * 1000 for r in runs) for a, b in zip(phases, phases[1:])]
    total = statistics.mean((r[phases[-1]] - r[phases[0]]) * 1000 for r in runs)
    print(f"| {name} | " + " | ".join(f"{g:.1f}" for g in gaps) + f" | {total:.1f} |")
for name, t, mem, _ in rows[1:]:
    time_ratio = t["mean"] / runc[1]["mean"]
    rss1 = int(mem[1][0]) / int(runc[2][1][0])
    rss5 = int(mem[5][0]) / int(runc[2][5][0])
    print(f"\n{name} / runc shim: time {time_ratio:.2f} (target <= 0.50), Rss with 1 container "
          f"{rss1:.2f}, with 5 grouped {rss5:.2f} (target <= 0.25)")
EOF
left=$(our_processes | grep -vx "$containerd_pid" || true)
if [ -n "$left" ]; then
  echo "bench-containerd: shim processes still running after every task was deleted: $left" >&2
  exit 1
fi
