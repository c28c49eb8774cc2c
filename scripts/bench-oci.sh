#!/usr/bin/env bash
# Container start-up cost, side by side: N sequential `run`s of /bin/true (default 100) with
# `podshim oci run`, `runc run`, `crun run`, and the floor `unshare -mpinu --fork chroot ROOTFS
# /bin/true`. Each iteration uses its own container id (hyperfine --parameter-scan). Prints ms
# per container and the ratio to crun. Then `exec` latency: `podshim oci exec` against `runc exec`
# of /bin/true in a running container of each, side by side in one hyperfine run. Needs root.
#   crun refuses this host's hybrid cgroups, so its hyperfine runs in a private mount namespace
#   where /sys/fs/cgroup is a cgroup2 mount, with --cgroup-manager=disabled.
# PODSHIM_BASE=another/podshim adds its `oci run` to the same rounds (a before/after comparison).
# Usage: scripts/bench-oci.sh [RUNS]     PODSHIM=path/to/podshim (default build/src/podshim)
set -euo pipefail

runs=${1:-100}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
podshim=${PODSHIM:-$repo/build/src/podshim}
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-oci: needs root" >&2
  exit 1
fi
if [ ! -x "$podshim" ]; then
  echo "bench-oci: $podshim not found; build podshim first or set PODSHIM" >&2
  exit 1
fi
"$here/setup.sh" --bench

work=$(mktemp -d /tmp/podshim-bench.XXXXXX)
# State roots on tmpfs (/run), as each runtime's default is.
state=$(mktemp -d /run/podshim-bench.XXXXXX)
cleanup() {
  for id in $(runc --root "$state/runc" list -q 2>/dev/null); do
    runc --root "$state/runc" delete -f "$id" >/dev/null 2>&1 || true
  done
  "$podshim" oci --root "$state/podshim" delete -f sleeper >/dev/null 2>&1 || true
  rm -rf "$work" "$state"
}
trap cleanup EXIT

# One rootfs for everyone; one bundle dir (config.json) per runtime beside it.
PODSHIM=$podshim "$here/make-bundle.sh" "$work/podshim" /bin/true >/dev/null
rootfs=$work/podshim/rootfs
# (podshim mounts the default spec's `cgroup` mount as cgroup2 itself, as crun does on v2.)
# runc and crun: their own `spec` defaults, made non-interactive (no terminal) and /bin/true.
for rt in runc crun; do
  mkdir -p "$work/$rt"
  (cd "$work/$rt" && "$rt" spec)
  python3 - "$work/$rt/config.json" "$rootfs" <<'EOF'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["root"]["path"] = sys.argv[2]  # the shared rootfs (runc refuses a symlinked one)
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(path, "w"), indent=2)
EOF
done

# Each runtime must work before it is timed.
"$podshim" oci --root "$state/podshim" run --bundle "$work/podshim" check
runc --root "$state/runc" run --bundle "$work/runc" check
crun_cmd() {
  echo "crun --cgroup-manager=disabled --root $state/crun run --bundle $work/crun"
}
in_cgroup2_ns() {  # runs "$@" in a private mount namespace with /sys/fs/cgroup as cgroup2
  unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' \
    sh "$@"
}
in_cgroup2_ns $(crun_cmd) check
unshare -mpinu --fork chroot "$rootfs" /bin/true

# The runs are split into rounds that alternate between the runtimes, so a change in the
# machine's load during the benchmark is shared by all of them instead of hitting one.
rounds=5
[ "$runs" -lt "$rounds" ] && rounds=$runs
hyperfine_scan() {  # NAME FIRST LAST COMMAND (COMMAND uses {i}: a unique container id)
  hyperfine -N --style none --runs 1 --parameter-scan i "$2" "$3" \
    --export-json "$work/$1.$2.json" "$4" >/dev/null
}
for ((r = 0; r < rounds; r++)); do
  first=$((r * runs / rounds + 1))
  last=$(((r + 1) * runs / rounds))
  hyperfine_scan podshim "$first" "$last" \
    "$podshim oci --root $state/podshim run --bundle $work/podshim bench-{i}"
  hyperfine_scan runc "$first" "$last" "runc --root $state/runc run --bundle $work/runc bench-{i}"
  in_cgroup2_ns hyperfine -N --style none --runs 1 --parameter-scan i "$first" "$last" \
    --export-json "$work/crun.$first.json" "$(crun_cmd) bench-{i}" >/dev/null
  hyperfine_scan floor "$first" "$last" "unshare -mpinu --fork chroot $rootfs /bin/true"
  if [ -n "${PODSHIM_BASE:-}" ]; then
    hyperfine_scan base "$first" "$last" \
      "$PODSHIM_BASE oci --root $state/base run --bundle $work/podshim base-{i}"
  fi
done

python3 - "$work" "$runs" "${PODSHIM_BASE:-}" <<'EOF'
import glob, json, statistics, sys
work, runs, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def per_container_ms(name):
    times = []
    for path in glob.glob(f"{work}/{name}.*.json"):
        times += [t for r in json.load(open(path))["results"] for t in r["times"]]
    return statistics.mean(times) * 1000, statistics.pstdev(times) * 1000, len(times)
rows = [("podshim oci run", "podshim"), ("runc run", "runc"), ("crun run", "crun"),
        ("floor (unshare+chroot)", "floor")]
if base:
    rows.append(("PODSHIM_BASE oci run", "base"))
data = {key: per_container_ms(key) for _, key in rows}
crun = data["crun"][0]
print(f"{runs} sequential runs of /bin/true per runtime, in rounds alternating the runtimes")
floor = data["floor"][0]
print(f"{'runtime':<24}{'ms/container':>14}{'stddev':>10}{'vs crun':>10}{'vs floor':>10}")
for label, key in rows:
    mean, sd, n = data[key]
    print(f"{label:<24}{mean:>14.2f}{sd:>10.2f}{mean / crun:>9.2f}x{mean / floor:>9.2f}x")
if base:
    print(f"(PODSHIM_BASE: {base})")
EOF

# exec latency: one running container per runtime (the same bundles, sleeping), then RUNS execs
# of /bin/true into each, one runtime after the other in one hyperfine run.
for rt in podshim runc; do
  python3 - "$work/$rt/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/sleep", "100000"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF
done
"$podshim" oci --root "$state/podshim" run -d --bundle "$work/podshim" sleeper </dev/null >/dev/null
runc --root "$state/runc" run -d --bundle "$work/runc" sleeper </dev/null >/dev/null 2>&1
"$podshim" oci --root "$state/podshim" exec sleeper /bin/true
runc --root "$state/runc" exec sleeper /bin/true
hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$work/exec.json" \
  -n "podshim oci exec" "$podshim oci --root $state/podshim exec sleeper /bin/true" \
  -n "runc exec" "runc --root $state/runc exec sleeper /bin/true" >/dev/null
python3 - "$work/exec.json" "$runs" <<'EOF'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
runc = statistics.mean(next(r for r in results if r["command"] == "runc exec")["times"]) * 1000
print()
print(f"{sys.argv[2]} execs of /bin/true into a running container, one runtime after the other")
print(f"{'runtime':<24}{'ms/exec':>14}{'stddev':>10}{'vs runc':>10}")
for r in results:
    mean, sd = statistics.mean(r["times"]) * 1000, statistics.pstdev(r["times"]) * 1000
    print(f"{r['command']:<24}{mean:>14.2f}{sd:>10.2f}{mean / runc:>9.2f}x")
EOF
