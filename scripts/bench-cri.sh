#!/usr/bin/env bash
# A 4-container CRI pod on containerd-shim-podshim-v2 and on containerd's runc shim, side by
# side in one run (docs/benchmarks.md). A private containerd in a temp dir with the CRI plugin on
# and two runtime handlers, `podshim` (io.containerd.podshim.v2, found on containerd's PATH in
# BUILD/src) and `runc` (io.containerd.runc.v2); the sandbox image is Debian's static
# `catatonit -P`, the containers' image busybox-static (scripts/mk-oci-image.py). The client is
# the CRI test's (tests/containerd/cri). For each handler, ROUNDS times (default 5, the handlers
# taking turns):
#   RunPodSandbox (hostNetwork) -> init (`true`, waited for) -> sidecar -> app (`sleep 3600`):
#   the time from RunPodSandbox to the app's StartContainer returning; then IDLE seconds
#   (default 2) later, the shim process(es) serving the pod: VmRSS and RssAnon, Threads
#   (/proc/PID/status), Pss (/proc/PID/smaps_rollup), and how many there are (must be 1);
#   then StopPodSandbox and RemovePodSandbox.
# Prints a markdown table: mean (min-max) per handler, and podshim's ratios to runc's shim
# (issue 16's target: an Rss of at most a quarter of runc's shim's).
# Needs root. Uses BUILD/src/containerd-shim-podshim-v2 (BUILD defaults to build/; the script
# never builds) and the proto module in BUILD/tests/containerd/cri (else it runs protoc).
# Removes everything it made: pods, containerd, mounts, cgroups, its temp dir.
# Usage: scripts/bench-cri.sh     env: BUILD, ROUNDS, IDLE
set -euo pipefail

rounds=${ROUNDS:-5}
idle=${IDLE:-2}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=$(realpath "${BUILD:-$repo/build}")
shim=$build/src/containerd-shim-podshim-v2
python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3 # Debian's python3-grpcio is for it

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-cri: needs root (containerd, mounts, cgroups)" >&2
  exit 1
fi
"$here/setup.sh"
for b in containerd ctr containerd-shim-runc-v2 runc busybox catatonit protoc; do
  if ! command -v "$b" >/dev/null; then
    echo "bench-cri: $b is missing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
done
if [ ! -x "$shim" ]; then
  echo "bench-cri: $shim is not built (cmake --build build --target containerd-shim-podshim-v2)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/pcr.XXXXXX) # short: the sockets' paths stay far below 107 bytes
tag=bench$(basename "$work" | tr -dc 'a-zA-Z0-9' | tr 'A-Z' 'a-z')
containerd_pid=""
ctr() { command ctr --address "$work/c.sock" -n k8s.io "$@"; }

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

runc_root_existed=no
[ -d /run/containerd/runc/k8s.io ] && runc_root_existed=yes
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
  for root in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do # the pods' cgroup parent /<tag>
    [ -d "$root$tag" ] && find "$root$tag" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  [ "$runc_root_existed" = no ] && rmdir /run/containerd/runc/k8s.io 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/cni" "$work/logs"
cri='plugins."io.containerd.grpc.v1.cri"'
cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
[$cri]
  disable_tcp_service = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  sandbox_image = "localhost/pause:local"
[$cri.cni]
  conf_dir = "$work/cni"
[$cri.containerd.runtimes]
  runc = { runtime_type = "io.containerd.runc.v2" }
  podshim = { runtime_type = "io.containerd.podshim.v2", pod_annotations = ["podshim.io/*"] }
EOF
PATH="$build/src:$PATH" containerd --config "$work/config.toml" </dev/null \
  >"$work/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 1 200); do
  [ -S "$work/c.sock" ] && ctr version >/dev/null 2>&1 && break
  kill -0 "$containerd_pid" 2>/dev/null || break
  sleep 0.05
done
if ! ctr version >/dev/null 2>&1; then
  echo "bench-cri: containerd did not come up:" >&2
  cat "$work/containerd.log" >&2
  exit 1
fi

mkdir -p "$work"/R/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,tmp} "$work"/P/{dev,proc,sys,etc,tmp}
cp "$(command -v busybox)" "$work/R/bin/busybox"
chroot "$work/R" /bin/busybox --install -s
cp "$(command -v catatonit)" "$work/P/catatonit"
"$python" "$repo/scripts/mk-oci-image.py" "$work/R" "$work/bb.tar" localhost/busybox:local sh
"$python" "$repo/scripts/mk-oci-image.py" "$work/P" "$work/pause.tar" localhost/pause:local \
  /catatonit -P
ctr image import "$work/bb.tar" >/dev/null
ctr image import "$work/pause.tar" >/dev/null

echo "bench-cri: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $rounds pods per" \
  "handler, handlers taking turns, memory sampled ${idle}s after the pod is up"
"$python" - "$work" "$tag" "$rounds" "$idle" "$build" "$repo" "$shim" \
  "$(command -v containerd-shim-runc-v2)" <<'EOF'
import json, os, statistics, sys, time
work, tag, rounds, idle, build, repo, shim, runc_shim = sys.argv[1:]
rounds, idle = int(rounds), float(idle)
sys.path.insert(0, f"{repo}/tests/containerd/cri")
import cri_client

api = cri_client.load_messages(f"{build}/tests/containerd/cri", f"{work}/proto")
cri = cri_client.CriClient(f"{work}/c.sock", api)
SHIMS = {"podshim": os.path.realpath(shim),
         "runc": os.path.realpath(runc_shim)}


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"bench-cri: timed out waiting for {what}")
        time.sleep(0.02)


def shim_pids(handler):
    """The shim servers of our containerd for handler (not its `delete` cleanups)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.path.realpath(f"/proc/{pid}/exe") != SHIMS[handler]:
                continue
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            env = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"delete" not in argv[-3:] and (work.encode() in b"".join(argv) or
                                           work.encode() in env):
            out.append(int(pid))
    return out


def field(path, key):
    for line in open(path):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def sample(pids):
    """Sums over pids: VmRSS, Pss, RssAnon (KiB), threads."""
    return {"rss": sum(field(f"/proc/{p}/status", "VmRSS") for p in pids),
            "pss": sum(field(f"/proc/{p}/smaps_rollup", "Pss") for p in pids),
            "anon": sum(field(f"/proc/{p}/status", "RssAnon") for p in pids),
            "threads": sum(field(f"/proc/{p}/status", "Threads") for p in pids),
            "shims": len(pids)}


def container(name, cmd):
    ns = api.NamespaceOption(network=api.NODE, pid=api.POD, ipc=api.POD)
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=name),
        image=api.ImageSpec(image="localhost/busybox:local"), command=cmd,
        log_path=f"{name}.log", linux=api.LinuxContainerConfig(
            security_context=api.LinuxContainerSecurityContext(namespace_options=ns)))


def one_pod(handler, n):
    ns = api.NamespaceOption(network=api.NODE, pid=api.POD, ipc=api.POD)
    config = api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=f"{handler}-{n}", uid=f"{tag}-{handler}-{n}",
                                        namespace="bench"),
        log_directory=f"{work}/logs/{handler}-{n}",
        linux=api.LinuxPodSandboxConfig(
            cgroup_parent=f"/{tag}",
            security_context=api.LinuxSandboxSecurityContext(namespace_options=ns)))
    os.makedirs(config.log_directory)
    began = time.monotonic()
    sid = cri.call("RunPodSandbox", config=config, runtime_handler=handler).pod_sandbox_id
    ids = []
    try:
        for name, cmd in (("init", ["true"]), ("sidecar", ["sleep", "3600"]),
                          ("app", ["sleep", "3600"])):
            cid = cri.call("CreateContainer", pod_sandbox_id=sid, config=container(name, cmd),
                           sandbox_config=config).container_id
            ids.append(cid)
            cri.call("StartContainer", container_id=cid)
            if name == "init":  # as a kubelet: the app containers start after it completed
                wait_for("init to exit", lambda: cri.call(
                    "ContainerStatus", container_id=cid).status.state == api.CONTAINER_EXITED)
        up = time.monotonic() - began
        time.sleep(idle)
        mem = sample(shim_pids(handler))
    finally:
        cri.call("StopPodSandbox", pod_sandbox_id=sid)
        for cid in ids:
            cri.call("RemoveContainer", container_id=cid)
        cri.call("RemovePodSandbox", pod_sandbox_id=sid)
    wait_for(f"the {handler} shim to exit", lambda: not shim_pids(handler))
    return {"up": up, **mem}


results = {"runc": [], "podshim": []}
for n in range(rounds):
    for handler in ("runc", "podshim") if n % 2 == 0 else ("podshim", "runc"):
        results[handler].append(one_pod(handler, n))


def stat(rows, key, scale=1.0, fmt="{:.1f}"):
    values = [r[key] * scale for r in rows]
    return (fmt.format(statistics.mean(values)) + " (" + fmt.format(min(values)) + "-" +
            fmt.format(max(values)) + ")")


print()
print(f"{rounds} pods per handler (sandbox + init + sidecar + app), mean (min-max)")
print("| handler | RunPodSandbox -> app started | shim VmRSS | shim Pss | shim RssAnon "
      "| threads | shim processes per pod |")
print("|---|---|---|---|---|---|---|")
mib = 1 / 1024
for handler, label in (("runc", "runc shim"), ("podshim", "podshim v2")):
    rows = results[handler]
    print(f"| {label} | {stat(rows, 'up', 1000)} ms | {stat(rows, 'rss', mib)} MiB "
          f"| {stat(rows, 'pss', mib)} MiB | {stat(rows, 'anon', mib)} MiB "
          f"| {stat(rows, 'threads', fmt='{:.0f}')} | {stat(rows, 'shims', fmt='{:.0f}')} |")
mean = lambda h, k: statistics.mean(r[k] for r in results[h])
print(f"\npodshim v2 / runc shim: VmRSS {mean('podshim', 'rss') / mean('runc', 'rss'):.2f} "
      f"(target <= 0.25), Pss {mean('podshim', 'pss') / mean('runc', 'pss'):.2f}, "
      f"RunPodSandbox -> app started {mean('podshim', 'up') / mean('runc', 'up'):.2f}")
json.dump(results, open(f"{work}/results.json", "w"))
EOF
left=$(our_processes | grep -vx "$containerd_pid" || true)
if [ -n "$left" ]; then
  echo "bench-cri: shim processes still running after every pod was removed: $left" >&2
  exit 1
fi
