#!/usr/bin/env python3
"""The `containerd` tier, CRI part: Kubernetes' CRI through containerd 1.6 runs a pod on a
runtime handler, as a kubelet would (hostNetwork pods only: no CNI here).

Each test starts a private containerd in a short temp dir with the CRI plugin on (its namespace
k8s.io, its sockets, root and state in the temp dir; cri/cri_fixture.py on
tests/clients/client_fixtures.py) and the runtime handlers `podshim` (io.containerd.podshim.v2, which containerd finds on its PATH as
<build>/src/containerd-shim-podshim-v2, with pod_annotations ["podshim.io/*"]) and `runc`
(io.containerd.runc.v2, the reference). The sandbox image is Debian's static catatonit run as
`catatonit -P` (a pause process), the containers' image busybox-static, both made offline by
scripts/mk-oci-image.py. The client (cri/cri_client.py) speaks runtime.v1 over gRPC with the
project's own proto subset (cri/runtime_v1.proto).

The third handler, `podshim-runc`, is mode B (docs/oci.md): runc's shim with the build's
podshim-runc as its runc binary (options BinaryName).

One pod per handler, with the same assertions: RunPodSandbox (network NODE, pid and ipc POD, a
log directory, no hostname), an init-style container that runs to completion, a sidecar that
exits on SIGTERM and an app that ignores it; ExecSync (output, exit code 7, a timeout),
ContainerStats and ListContainerStats (cpu and memory present), UpdateContainerResources,
StopContainer with a timeout (SIGTERM, then SIGKILL: 137), StopPodSandbox, RemovePodSandbox.
ONE shim process must serve the whole pod (containerd starts one per container and the shim
groups them by io.kubernetes.cri.sandbox-id), and nothing is left afterwards: no shim process,
mount under the temp dir, cgroup of the pod's containers or shim socket. The parts that need
shim features (exec, stats, update) are sub-tests: a failure names the part and the RPC's error,
and the pod goes on to the end.

CriShimStopTest (podshim only): SIGTERM to the pod's shim, with no kubelet driving, stops the
app, then the sidecar named in the pod annotation podshim.io/sidecars, then the sandbox.

Usage: cri_test.py --build BUILD_DIR [--require-shim] [--proto-dir DIR] [--list | TEST...]
Exit 77 (ctest's SKIP_RETURN_CODE) when containerd, catatonit or python3-grpcio is not
installed or (without --require-shim) the shim is not built.
"""
import json
import os
import shutil
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-grpcio and python3-protobuf are its


def reexec_with_system_python():
    """Debian's grpc is installed for Debian's python3; a python3 first on PATH (pyenv, a venv)
    may not see it: run again under /usr/bin/python3 (once)."""
    try:
        import grpc  # noqa: F401
    except ImportError:
        if (os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable)
                != os.path.realpath(SYSTEM_PYTHON) and "--list" not in sys.argv):
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, "-B", *sys.argv])


sys.path.insert(0, os.path.join(HERE, "cri"))
from cri_fixture import HANDLERS, PAUSE_IMAGE, CriFixture, shim_dir  # noqa: E402
import client_fixtures as fx  # noqa: E402  (cri_fixture put tests/clients on the path)
from client_fixtures import (cgroups_named, mounts_under, parent_pid,  # noqa: E402
                             processes_mentioning, start_time, wait_for)

ARGS = None  # set by fx.run_main
MiB = 1024 * 1024
# The app ignores SIGTERM (exec keeps the ignored disposition): StopContainer must SIGKILL it.
APP_CMD = ["sh", "-c", "trap '' TERM; exec sleep 3600"]
# The sidecar exits on SIGTERM: not pid 1 of the pod's pid namespace (catatonit is), so the
# default action applies: 128 + 15.
SIDECAR_CMD = ["sleep", "3600"]


class CriTest(CriFixture):
    """The command line's options for the fixture, and the shim a handler must have."""

    def proto_dir(self):
        return (ARGS and ARGS.proto_dir) or super().proto_dir()

    def shim_exes(self, handler):
        """({real path of the handler's shim binary}, its name); skips (or, for podshim with
        --require-shim, fails) when it or podshim-runc is not built."""
        name = HANDLERS[handler][1]
        binary = os.path.join(shim_dir(), name) if handler == "podshim" else shutil.which(name)
        if handler == "podshim-runc" and not os.access(f"{shim_dir()}/podshim-runc", os.X_OK):
            binary = None
        if not binary or not os.access(binary, os.X_OK):
            if handler == "podshim" and ARGS.require_shim:
                self.fail(f"{binary} is not built")
            fx.SKIPPED.append(self.id())
            self.skipTest(f"{name} or podshim-runc is not built or not installed")
        return {os.path.realpath(binary)}, name


class CriPodTest(CriTest):
    """One pod per handler, the same assertions; the ids of its sandbox and containers are
    self.sid, self.init, self.sidecar, self.app."""

    def test_pod_on_podshim(self):
        self.run_pod("podshim")

    def test_pod_on_runc(self):
        self.run_pod("runc")

    def test_pod_on_podshim_runc(self):
        self.run_pod("podshim-runc")

    def run_pod(self, handler):
        self.exes, self.shim_name = self.shim_exes(handler)
        self.shims_seen = {}  # pid -> start time, of every shim server seen in the pod's life
        self.addresses = {}  # task id -> its bundle's shim address
        self.assertEqual(self.cri.call("Version", version="v1").runtime_name, "containerd")
        self.wait_image(PAUSE_IMAGE)
        self.wait_image(fx.IMAGE)
        self.start_pod(handler)
        self.check_one_shim()
        with self.subTest("ExecSync: output and exit code"):
            self.check_exec_sync()
        with self.subTest("ExecSync: timeout"):
            self.check_exec_sync_timeout()
        with self.subTest("ContainerStats: cpu and memory"):
            self.check_container_stats()
        with self.subTest("ListContainerStats: every running container, cpu and memory"):
            self.check_list_container_stats()
        with self.subTest("UpdateContainerResources"):
            self.check_update()
        self.stop_containers()
        self.remove_pod()
        self.check_nothing_left()

    def note_shims(self):
        self.shims_seen.update(fx.shim_servers(self.exes, self.shim_name, self.dir))
        return self.shims_seen

    def start_pod(self, handler):
        """The sandbox (catatonit -P: own pid, ipc and mount namespaces, the host network),
        init run to completion (its output in the pod's log dir), then the sidecar and app."""
        api, cri = self.api, self.cri
        config = self.sandbox_config(handler)
        sid = cri.call("RunPodSandbox", config=config, runtime_handler=handler).pod_sandbox_id
        self.pods.append(sid)
        self.sid = sid
        sandbox = cri.call("PodSandboxStatus", pod_sandbox_id=sid).status
        self.assertEqual((sandbox.state, sandbox.runtime_handler), (api.SANDBOX_READY, handler))
        self.sandbox_pid = self.tasks()[sid][0]
        if handler == "podshim-runc":  # runc's shim ran the build's podshim-runc, not runc
            with open(f"/run/containerd/runc/{self.ns}/{sid}/state.json") as f:
                self.assertIn("cgroupPath", json.load(f), "not podshim oci's state")
        self.remember_pid(self.sandbox_pid)
        self.addresses[sid] = self.shim_address(sid)
        self.note_shims()

        self.init = self.start_container(sid, config, "init", ["sh", "-c", "echo init done"])
        self.addresses[self.init] = self.shim_address(self.init)
        status = self.wait_state(self.init, api.CONTAINER_EXITED)
        self.assertEqual((status.exit_code, status.reason), (0, "Completed"))
        with open(f"{self.dir}/logs/init.log") as f:
            self.assertIn(" stdout F init done\n", f.read())
        self.sidecar = self.start_container(sid, config, "sidecar", SIDECAR_CMD)
        self.app = self.start_container(sid, config, "app", APP_CMD)

    def check_one_shim(self):
        """One shim process is the parent of every running task and every bundle's address is
        the same; the app is in the sandbox's pid namespace; ListContainers has the states."""
        api = self.api
        for cid in (self.sidecar, self.app):
            self.assertEqual(self.status(cid).state, api.CONTAINER_RUNNING)
            self.addresses[cid] = self.shim_address(cid)
            pid = self.pid_of(cid)
            self.remember_pid(pid)
            self.assertIn(parent_pid(pid), self.note_shims(), f"the parent of {cid} is no shim")
        self.assertIn(parent_pid(self.sandbox_pid), self.note_shims())
        self.assertEqual(os.readlink(f"/proc/{self.pid_of(self.app)}/ns/pid"),
                         os.readlink(f"/proc/{self.sandbox_pid}/ns/pid"))
        self.assertEqual(len(self.note_shims()), 1, f"shims of the pod: {self.shims_seen}")
        live = {a for a in self.addresses.values() if a}
        self.assertEqual(len(live), 1, f"the pod's tasks have several shims: {self.addresses}")
        listed = self.cri.call("ListContainers",
                               filter=api.ContainerFilter(pod_sandbox_id=self.sid))
        self.assertEqual({(c.id, c.state) for c in listed.containers},
                         {(self.init, api.CONTAINER_EXITED),
                          (self.sidecar, api.CONTAINER_RUNNING),
                          (self.app, api.CONTAINER_RUNNING)})

    def check_exec_sync(self):
        error, reply = self.cri.error_of("ExecSync", container_id=self.app, timeout=10,
                                         cmd=["sh", "-c", "echo out; echo err >&2; exit 7"])
        self.assertIsNone(error, "ExecSync failed")
        self.assertEqual((reply.stdout, reply.stderr, reply.exit_code), (b"out\n", b"err\n", 7))

    def check_exec_sync_timeout(self):
        # One process (an exec'd sh's child would keep the output open past the kill), its
        # command line unique to this run.
        marker = f"30.{os.getpid()}"
        began = time.monotonic()
        error, _ = self.cri.error_of("ExecSync", container_id=self.app, timeout=1,
                                     cmd=["sleep", marker])
        took = time.monotonic() - began
        self.assertIsNotNone(error, "ExecSync of sleep 30 with timeout 1 returned")
        self.assertIn("timeout 1s exceeded", error)
        self.assertLess(took, 10, error)
        wait_for("the timed-out exec to be killed",
                 lambda: not processes_mentioning(f"sleep\0{marker}\0"))
        self.assertEqual(self.status(self.app).state, self.api.CONTAINER_RUNNING)

    def check_container_stats(self):
        error, reply = self.cri.error_of("ContainerStats", container_id=self.app)
        self.assertIsNone(error, "ContainerStats failed")
        stats = reply.stats
        self.assertEqual(stats.attributes.id, self.app)
        self.assertTrue(stats.HasField("cpu") and stats.cpu.timestamp > 0, stats)
        self.assertTrue(stats.cpu.HasField("usage_core_nano_seconds"), stats)
        self.assertTrue(stats.HasField("memory") and stats.memory.timestamp > 0, stats)

    def check_list_container_stats(self):
        error, reply = self.cri.error_of(
            "ListContainerStats", filter=self.api.ContainerStatsFilter(pod_sandbox_id=self.sid))
        self.assertIsNone(error, "ListContainerStats failed")
        # A task whose Stats fails is silently left out by containerd (1.6 also lists the
        # exited init, with no figures).
        ids = {s.attributes.id for s in reply.stats}
        self.assertLessEqual({self.sidecar, self.app}, ids)
        self.assertLessEqual(ids, {self.init, self.sidecar, self.app})
        for s in reply.stats:
            if s.attributes.id != self.init:
                self.assertTrue(s.HasField("cpu") and s.HasField("memory"), s)

    def check_update(self):
        wanted = self.api.LinuxContainerResources(cpu_period=100000, cpu_quota=50000,
                                                  cpu_shares=256,
                                                  memory_limit_in_bytes=96 * MiB)
        error, _ = self.cri.error_of("UpdateContainerResources", container_id=self.app,
                                     linux=wanted)
        self.assertIsNone(error, "UpdateContainerResources failed")
        # containerd keeps the new resources in the container's spec once the shim took them.
        info = json.loads(self.ctr("containers", "info", self.app, check=True).stdout)
        resources = info["Spec"]["linux"]["resources"]
        self.assertEqual((resources["cpu"]["quota"], resources["cpu"]["period"],
                          resources["memory"]["limit"]), (50000, 100000, 96 * MiB))
        # Where the container's own cgroup has the controller, the limit is applied.
        applied = self.cgroup_values(self.pid_of(self.app), self.app)
        expect = {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
                  "cpu.shares": "256", "memory.limit_in_bytes": str(96 * MiB),
                  "cpu.max": "50000 100000", "memory.max": str(96 * MiB)}
        self.assertEqual(applied, {k: expect[k] for k in applied})

    def stop_containers(self):
        """The app ignores SIGTERM: SIGKILL after the 2 s timeout, 137. The sidecar exits on
        SIGTERM well before its timeout: 143."""
        api = self.api
        for cid, timeout, code, at_least, below in ((self.app, 2, 137, 1.9, 10),
                                                    (self.sidecar, 10, 143, 0, 5)):
            began = time.monotonic()
            self.cri.call("StopContainer", container_id=cid, timeout=timeout)
            took = time.monotonic() - began
            status = self.status(cid)
            self.assertEqual((status.state, status.exit_code), (api.CONTAINER_EXITED, code))
            self.assertGreaterEqual(took, at_least)
            self.assertLess(took, below)
        self.assertEqual(len(self.note_shims()), 1, f"shims of the pod: {self.shims_seen}")

    def remove_pod(self):
        api, cri = self.api, self.cri
        cri.call("StopPodSandbox", pod_sandbox_id=self.sid)
        sandbox = cri.call("PodSandboxStatus", pod_sandbox_id=self.sid).status
        self.assertEqual(sandbox.state, api.SANDBOX_NOTREADY)
        for cid in (self.init, self.sidecar, self.app):
            cri.call("RemoveContainer", container_id=cid)
        cri.call("RemovePodSandbox", pod_sandbox_id=self.sid)
        self.pods.remove(self.sid)
        listed = cri.call("ListContainers", filter=api.ContainerFilter(pod_sandbox_id=self.sid))
        self.assertEqual(list(listed.containers), [])

    def check_nothing_left(self):
        """One shim served the whole pod, and nothing of the pod is left."""
        wait_for("the pod's shim to exit",
                 lambda: not fx.shim_servers(self.exes, self.shim_name, self.dir), timeout=10)
        self.assertEqual(len(self.shims_seen), 1, f"shims of the pod: {self.shims_seen}")
        wait_for("the pod's processes to exit", lambda: not [
            p for p, t in self.pids.items() if t and start_time(p) == t])
        self.assertEqual(self.tasks(), {})
        self.assertEqual(self.ctr("containers", "ls", "-q").stdout.split(), [])
        self.assertEqual(mounts_under(self.dir), [], "mounts left")
        for cid in (self.sid, self.init, self.sidecar, self.app):
            self.assertEqual(cgroups_named(cid), [], f"cgroups of {cid} left")
            self.assertFalse(os.path.exists(self.bundle(cid)), f"bundle of {cid} left")
        for root in fx.cgroup_hierarchies():  # the pod's parent: no cgroup left below it
            parent = os.path.join(root, self.tag)
            left = [e.name for e in os.scandir(parent) if e.is_dir()] \
                if os.path.isdir(parent) else []
            self.assertEqual(left, [], f"cgroups left in {parent}")
        for address in {a for a in self.addresses.values() if a}:
            path = address[len("unix://"):] if address.startswith("unix://") else None
            self.assertTrue(path is None or not os.path.exists(path), f"socket {address} left")


class CriShimStopTest(CriTest):
    """What podshim adds when no kubelet drives the stop: SIGTERM to the pod's shim stops the
    apps, then the sidecars (named in the pod annotation podshim.io/sidecars, which the
    handler's pod_annotations copies into every container's spec), then the sandbox."""

    def test_sigterm_to_the_shim_stops_apps_then_sidecars(self):
        exes, name = self.shim_exes("podshim")
        api, cri = self.api, self.cri
        self.wait_image(PAUSE_IMAGE)
        self.wait_image(fx.IMAGE)
        config = self.sandbox_config("podshim", {
            "podshim.io/sidecars": "sidecar",
            "podshim.io/termination-grace-period-seconds": "10"})
        sid = cri.call("RunPodSandbox", config=config,
                       runtime_handler="podshim").pod_sandbox_id
        self.pods.append(sid)
        self.remember_pid(self.tasks()[sid][0])
        # The app takes a second to go after SIGTERM; the sidecar goes at once, so a sidecar
        # signalled together with the app would finish first.
        sidecar = self.start_container(sid, config, "sidecar", SIDECAR_CMD)
        app = self.start_container(sid, config, "app", [
            "sh", "-c", "trap 'sleep 1; exit 3' TERM; while :; do sleep 0.1; done"])
        for cid in (sidecar, app):
            self.remember_pid(self.pid_of(cid))
        shims = fx.shim_servers(exes, name, self.dir)
        self.assertEqual(len(shims), 1, shims)
        app_pid = self.pid_of(app)
        wait_for("the app's SIGTERM trap", lambda: int(dict(
            line.split(":\t") for line in fx.read_proc(app_pid, "status").decode().splitlines()
            if ":\t" in line).get("SigCgt", "0"), 16) & (1 << (signal.SIGTERM - 1)))

        os.kill(next(iter(shims)), signal.SIGTERM)
        app_status = self.wait_state(app, api.CONTAINER_EXITED)
        sidecar_status = self.wait_state(sidecar, api.CONTAINER_EXITED)
        self.assertEqual((app_status.exit_code, sidecar_status.exit_code), (3, 143))
        self.assertLess(app_status.finished_at, sidecar_status.finished_at,
                        "the sidecar stopped before the app")
        wait_for("the sandbox to stop", lambda: cri.call(
            "PodSandboxStatus", pod_sandbox_id=sid).status.state == api.SANDBOX_NOTREADY)

        cri.call("StopPodSandbox", pod_sandbox_id=sid)
        for cid in (sidecar, app):
            cri.call("RemoveContainer", container_id=cid)
        cri.call("RemovePodSandbox", pod_sandbox_id=sid)
        self.pods.remove(sid)
        wait_for("the shim to exit", lambda: not fx.shim_servers(
            exes, name, self.dir), timeout=10)
        self.assertEqual(mounts_under(self.dir), [], "mounts left")
        for cid in (sid, sidecar, app):
            self.assertEqual(cgroups_named(cid), [], f"cgroups of {cid} left")


if __name__ == "__main__":
    reexec_with_system_python()

    def options(ap):
        ap.add_argument("--require-shim", action="store_true",
                        help=f"fail, not skip, when {HANDLERS['podshim'][1]} is missing")
        ap.add_argument("--proto-dir", help="where runtime_v1_pb2.py is (default: "
                        "BUILD/tests/containerd/cri; else protoc compiles it into the temp dir)")

    sys.exit(fx.run_main(sys.modules[__name__], options))
