#!/usr/bin/env python3
"""The `containerd` tier, CRI part: Kubernetes' CRI through containerd 1.6 runs a pod on a
runtime handler, as a kubelet would (hostNetwork pods only: no CNI here).

Each test starts a private containerd in a short temp dir with the CRI plugin on (its namespace
k8s.io, its sockets, root and state in the temp dir; tests/clients/client_fixtures.py) and two
runtime handlers: `podshim` (io.containerd.podshim.v2, which containerd finds on its PATH as
<build>/src/containerd-shim-podshim-v2, with pod_annotations ["podshim.io/*"]) and `runc`
(io.containerd.runc.v2, the reference). The sandbox image is Debian's static catatonit run as
`catatonit -P` (a pause process), the containers' image busybox-static, both made offline by
scripts/mk-oci-image.py. The client (cri/cri_client.py) speaks runtime.v1 over gRPC with the
project's own proto subset (cri/runtime_v1.proto).

A third handler, `podshim-runc`, is mode B (docs/oci.md): runc's shim with the build's
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


sys.path.insert(0, os.path.join(os.path.dirname(HERE), "clients"))
sys.path.insert(0, os.path.join(HERE, "cri"))
import client_fixtures as fx  # noqa: E402
import cri_client  # noqa: E402
from client_fixtures import (ContainerdFixture, cgroups_named, mounts_under,  # noqa: E402
                             parent_pid, processes_mentioning, run, start_time, wait_for)

ARGS = None  # set by fx.run_main
PODSHIM_SHIM = "containerd-shim-podshim-v2"
PAUSE_IMAGE = "localhost/pause:local"
HANDLERS = {  # handler -> (runtime_type, the shim binary's name)
    "podshim": ("io.containerd.podshim.v2", PODSHIM_SHIM),
    "runc": ("io.containerd.runc.v2", "containerd-shim-runc-v2"),
    # mode B: runc's shim running the build's podshim-runc as its runc binary
    "podshim-runc": ("io.containerd.runc.v2", "containerd-shim-runc-v2"),
}
MiB = 1024 * 1024
# The app ignores SIGTERM (exec keeps the ignored disposition): StopContainer must SIGKILL it.
APP_CMD = ["sh", "-c", "trap '' TERM; exec sleep 3600"]
# The sidecar exits on SIGTERM: not pid 1 of the pod's pid namespace (catatonit is), so the
# default action applies: 128 + 15.
SIDECAR_CMD = ["sleep", "3600"]


def shim_dir():
    return os.path.join(fx.BUILD, "src")


def proto_dir():
    return (ARGS and ARGS.proto_dir) or os.path.join(fx.BUILD, "tests", "containerd", "cri")


class CriFixture(ContainerdFixture):
    """The private containerd with the CRI plugin, the pause and busybox images in k8s.io, a
    CriClient as self.cri, and the pods to stop and remove if a test fails half-way."""

    PACKAGES = ("containerd", "ctr", "busybox", "catatonit", "protoc")
    NAMESPACE = "k8s.io"  # the CRI plugin's

    def cri_config(self):
        d = self.dir
        podshim, _ = HANDLERS["podshim"]
        runc, _ = HANDLERS["runc"]
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        return (f'[{cri}]\n'
                '  disable_tcp_service = true\n'
                '  restrict_oom_score_adj = true\n'  # no CAP_SYS_RESOURCE: -998 would fail
                '  stream_server_address = "127.0.0.1"\n'
                '  stream_server_port = "0"\n'
                f'  sandbox_image = "{PAUSE_IMAGE}"\n'
                f'[{cri}.cni]\n'
                f'  conf_dir = "{d}/cni"\n'  # empty: hostNetwork pods only
                f'[{cri}.containerd.runtimes]\n'
                f'  runc = {{ runtime_type = "{runc}" }}\n'
                f'  podshim = {{ runtime_type = "{podshim}", '
                'pod_annotations = ["podshim.io/*"] }\n'
                f'  podshim-runc = {{ runtime_type = "{runc}", options = {{ BinaryName = '
                f'"{shim_dir()}/podshim-runc" }} }}\n')

    def containerd_env(self):
        env = dict(os.environ)
        env["PATH"] = shim_dir() + ":" + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return env

    def setUp(self):
        try:
            import grpc  # noqa: F401
            import google.protobuf  # noqa: F401
        except ImportError as e:
            fx.SKIPPED.append(self.id())
            self.skipTest(f"{e.name} is missing (scripts/setup.sh installs python3-grpcio and "
                          "python3-protobuf)")
        super().setUp()
        d = self.dir
        os.makedirs(f"{d}/cni", exist_ok=True)
        os.makedirs(f"{d}/logs")
        self.cgroup_parent = f"/{self.tag}"  # the pod's cgroup parent, as a kubelet gives one
        for root in fx.cgroup_hierarchies():
            self.note_if_new(os.path.join(root, self.tag))
        self.make_pause_image()
        self.api = cri_client.load_messages(proto_dir(), f"{d}/proto")
        self.cri = cri_client.CriClient(self.address, self.api)
        self.addCleanup(self.cri.close)
        self.pods = []
        self.addCleanup(self.remove_pods)  # before the fixture's checks (cleanups are LIFO)

    def make_pause_image(self):
        """A one-file image: the static catatonit as /catatonit, CMD catatonit -P."""
        catatonit = shutil.which("catatonit")
        if "not a dynamic executable" not in run(["ldd", catatonit]).stdout + \
                run(["ldd", catatonit]).stderr:
            self.fail(f"{catatonit} is not statically linked: the pause image has no libc")
        root = f"{self.dir}/P"
        for sub in ("dev", "proc", "sys", "etc", "tmp"):
            os.makedirs(f"{root}/{sub}")
        shutil.copy2(catatonit, f"{root}/catatonit")
        run([sys.executable, fx.MK_IMAGE, root, f"{self.dir}/pause.tar", PAUSE_IMAGE,
             "/catatonit", "-P"], check=True)
        self.ctr("image", "import", f"{self.dir}/pause.tar", check=True)

    def remove_pods(self):
        for sid in self.pods:
            self.cri.error_of("StopPodSandbox", pod_sandbox_id=sid)
            self.cri.error_of("RemovePodSandbox", pod_sandbox_id=sid)

    # -- CRI helpers --------------------------------------------------------------------------

    def sandbox_config(self, handler, annotations=None):
        api = self.api
        ns = api.NamespaceOption(network=api.NODE, pid=api.POD, ipc=api.POD)
        return api.PodSandboxConfig(
            metadata=api.PodSandboxMetadata(name=f"{self.tag}-{handler}", uid=self.tag,
                                            namespace="podshim-test", attempt=0),
            log_directory=f"{self.dir}/logs",  # no hostname: the pod has no UTS namespace
            labels={"podshim.test": self.tag},
            annotations={"podshim.io/test": self.tag, **(annotations or {})},
            linux=api.LinuxPodSandboxConfig(
                cgroup_parent=self.cgroup_parent,
                security_context=api.LinuxSandboxSecurityContext(namespace_options=ns)))

    def container_config(self, name, cmd):
        api = self.api
        ns = api.NamespaceOption(network=api.NODE, pid=api.POD, ipc=api.POD)
        return api.ContainerConfig(
            metadata=api.ContainerMetadata(name=name), image=api.ImageSpec(image=fx.IMAGE),
            command=cmd, log_path=f"{name}.log", labels={"podshim.test": self.tag},
            linux=api.LinuxContainerConfig(
                security_context=api.LinuxContainerSecurityContext(namespace_options=ns)))

    def start_container(self, sid, sandbox_config, name, cmd):
        cid = self.cri.call("CreateContainer", pod_sandbox_id=sid,
                            config=self.container_config(name, cmd),
                            sandbox_config=sandbox_config).container_id
        self.cri.call("StartContainer", container_id=cid)
        return cid

    def status(self, cid):
        return self.cri.call("ContainerStatus", container_id=cid).status

    def pid_of(self, cid):
        reply = self.cri.call("ContainerStatus", container_id=cid, verbose=True)
        return json.loads(reply.info["info"])["pid"]

    def wait_state(self, cid, state, timeout=15):
        wait_for(f"{cid} to be {self.api.ContainerState.Name(state)}",
                 lambda: self.status(cid).state == state, timeout=timeout)
        return self.status(cid)

    def wait_image(self, name):
        """The CRI plugin learns of an image `ctr import`ed through containerd's events."""
        def known():
            reply = self.cri.call("ImageStatus", image=self.api.ImageSpec(image=name))
            return reply.image.id

        return wait_for(f"the CRI plugin to see {name}", known)

    def bundle(self, cid):
        return f"{self.dir}/state/io.containerd.runtime.v2.task/{self.ns}/{cid}"

    def shim_address(self, cid):
        try:
            with open(f"{self.bundle(cid)}/address") as f:
                return f.read().strip()
        except OSError:
            return None  # the task is gone already (an init container's)

    def cgroup_values(self, pid, cid):
        """{file: value} of the cpu and memory limits in the cgroups of pid that are the
        container's own (their path ends in cid): what the runtime could apply here."""
        files = {"cpu": ["cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares"],
                 "memory": ["memory.limit_in_bytes"], "": ["cpu.max", "memory.max"]}
        roots = {os.path.basename(r): r for r in fx.cgroup_hierarchies()}
        out = {}
        for line in fx.read_proc(pid, "cgroup").decode().splitlines():
            _, controllers, path = line.split(":", 2)
            if not path.endswith("/" + cid):
                continue
            for c in controllers.split(",") if controllers else [""]:
                root = fx.cgroup2_root() if c == "" else next(
                    (r for n, r in roots.items() if c in n.split(",")), None)
                for name in files.get(c, []):
                    if root and os.path.exists(f"{root}{path}/{name}"):
                        with open(f"{root}{path}/{name}") as f:
                            out[name] = f.read().strip()
        return out


class CriPodTest(CriFixture):

    def test_pod_on_podshim(self):
        self.run_pod("podshim")

    def test_pod_on_runc(self):
        self.run_pod("runc")

    def test_pod_on_podshim_runc(self):
        self.run_pod("podshim-runc")

    def shim_exes(self, handler):
        name = HANDLERS[handler][1]
        binary = os.path.join(shim_dir(), name) if handler == "podshim" else shutil.which(name)
        if handler == "podshim-runc" and not os.access(f"{shim_dir()}/podshim-runc", os.X_OK):
            binary = None
        if not binary or not os.access(binary, os.X_OK):
            if handler == "podshim" and ARGS.require_shim:
                self.fail(f"{binary} is not built")
            fx.SKIPPED.append(self.id())
            self.skipTest(f"{name} is not built or not installed")
        return {os.path.realpath(binary)}, name

    def run_pod(self, handler):
        exes, shim_name = self.shim_exes(handler)
        api, cri = self.api, self.cri
        shims_seen = {}  # pid -> start time, of every shim server seen during the pod's life

        def note_shims():
            shims_seen.update(fx.shim_servers(exes, shim_name, self.dir))
            return shims_seen

        self.assertEqual(cri.call("Version", version="v1").runtime_name, "containerd")
        self.wait_image(PAUSE_IMAGE)
        self.wait_image(fx.IMAGE)

        # The sandbox: catatonit -P in its own pid, ipc and mount namespaces, the host network.
        config = self.sandbox_config(handler)
        sid = cri.call("RunPodSandbox", config=config, runtime_handler=handler).pod_sandbox_id
        self.pods.append(sid)
        sandbox = cri.call("PodSandboxStatus", pod_sandbox_id=sid).status
        self.assertEqual((sandbox.state, sandbox.runtime_handler), (api.SANDBOX_READY, handler))
        sandbox_pid = self.tasks()[sid][0]
        if handler == "podshim-runc":  # runc's shim ran the build's podshim-runc, not runc
            with open(f"/run/containerd/runc/{self.ns}/{sid}/state.json") as f:
                self.assertIn("cgroupPath", json.load(f), "not podshim oci's state")
        self.remember_pid(sandbox_pid)
        addresses = {sid: self.shim_address(sid)}
        note_shims()

        # init: runs to completion before the others start, its output in the pod's log dir.
        init = self.start_container(sid, config, "init", ["sh", "-c", "echo init done"])
        addresses[init] = self.shim_address(init)
        status = self.wait_state(init, api.CONTAINER_EXITED)
        self.assertEqual((status.exit_code, status.reason), (0, "Completed"))
        with open(f"{self.dir}/logs/init.log") as f:
            self.assertIn(" stdout F init done\n", f.read())
        sidecar = self.start_container(sid, config, "sidecar", SIDECAR_CMD)
        app = self.start_container(sid, config, "app", APP_CMD)
        for cid in (sidecar, app):
            self.assertEqual(self.status(cid).state, api.CONTAINER_RUNNING)
            addresses[cid] = self.shim_address(cid)
            pid = self.pid_of(cid)
            self.remember_pid(pid)
            self.assertIn(parent_pid(pid), note_shims(), f"the parent of {cid} is no shim")
        self.assertIn(parent_pid(sandbox_pid), note_shims())
        # The app joined the sandbox's pid namespace (catatonit is its pid 1).
        self.assertEqual(os.readlink(f"/proc/{self.pid_of(app)}/ns/pid"),
                         os.readlink(f"/proc/{sandbox_pid}/ns/pid"))
        self.assertEqual(len(note_shims()), 1, f"shims of the pod: {shims_seen}")
        live = {a for a in addresses.values() if a}
        self.assertEqual(len(live), 1, f"the pod's tasks have several shims: {addresses}")

        listed = cri.call("ListContainers", filter=api.ContainerFilter(pod_sandbox_id=sid))
        self.assertEqual({(c.id, c.state) for c in listed.containers},
                         {(init, api.CONTAINER_EXITED), (sidecar, api.CONTAINER_RUNNING),
                          (app, api.CONTAINER_RUNNING)})

        with self.subTest("ExecSync: output and exit code"):
            error, reply = cri.error_of("ExecSync", container_id=app, timeout=10,
                                        cmd=["sh", "-c", "echo out; echo err >&2; exit 7"])
            self.assertIsNone(error, "ExecSync failed")
            self.assertEqual((reply.stdout, reply.stderr, reply.exit_code),
                             (b"out\n", b"err\n", 7))

        with self.subTest("ExecSync: timeout"):
            # One process (an exec'd sh's child would keep the output open past the kill), its
            # command line unique to this run.
            marker = f"30.{os.getpid()}"
            began = time.monotonic()
            error, _ = cri.error_of("ExecSync", container_id=app, timeout=1,
                                    cmd=["sleep", marker])
            took = time.monotonic() - began
            self.assertIsNotNone(error, "ExecSync of sleep 30 with timeout 1 returned")
            self.assertIn("timeout 1s exceeded", error)
            self.assertLess(took, 10, error)
            wait_for("the timed-out exec to be killed",
                     lambda: not processes_mentioning(f"sleep\0{marker}\0"))
            self.assertEqual(self.status(app).state, api.CONTAINER_RUNNING)

        with self.subTest("ContainerStats: cpu and memory"):
            error, reply = cri.error_of("ContainerStats", container_id=app)
            self.assertIsNone(error, "ContainerStats failed")
            stats = reply.stats
            self.assertEqual(stats.attributes.id, app)
            self.assertTrue(stats.HasField("cpu") and stats.cpu.timestamp > 0, stats)
            self.assertTrue(stats.cpu.HasField("usage_core_nano_seconds"), stats)
            self.assertTrue(stats.HasField("memory") and stats.memory.timestamp > 0, stats)

        with self.subTest("ListContainerStats: every running container, cpu and memory"):
            error, reply = cri.error_of(
                "ListContainerStats", filter=api.ContainerStatsFilter(pod_sandbox_id=sid))
            self.assertIsNone(error, "ListContainerStats failed")
            # A task whose Stats fails is silently left out by containerd (1.6 also lists the
            # exited init, with its last figures).
            ids = {s.attributes.id for s in reply.stats}
            self.assertLessEqual({sidecar, app}, ids)
            self.assertLessEqual(ids, {init, sidecar, app})
            for s in reply.stats:
                if s.attributes.id != init:  # 1.6 lists the exited init with no figures
                    self.assertTrue(s.HasField("cpu") and s.HasField("memory"), s)

        with self.subTest("UpdateContainerResources"):
            wanted = api.LinuxContainerResources(cpu_period=100000, cpu_quota=50000,
                                                 cpu_shares=256, memory_limit_in_bytes=96 * MiB)
            error, _ = cri.error_of("UpdateContainerResources", container_id=app, linux=wanted)
            self.assertIsNone(error, "UpdateContainerResources failed")
            # containerd keeps the new resources in the container's spec once the shim took them.
            info = json.loads(self.ctr("containers", "info", app, check=True).stdout)
            resources = info["Spec"]["linux"]["resources"]
            self.assertEqual((resources["cpu"]["quota"], resources["cpu"]["period"],
                              resources["memory"]["limit"]), (50000, 100000, 96 * MiB))
            # Where the container's own cgroup has the controller, the limit is applied.
            applied = self.cgroup_values(self.pid_of(app), app)
            expect = {"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
                      "cpu.shares": "256", "memory.limit_in_bytes": str(96 * MiB),
                      "cpu.max": "50000 100000", "memory.max": str(96 * MiB)}
            self.assertEqual(applied, {k: expect[k] for k in applied})

        # StopContainer: the app ignores SIGTERM, so SIGKILL after the 2 s timeout.
        began = time.monotonic()
        cri.call("StopContainer", container_id=app, timeout=2)
        took = time.monotonic() - began
        status = self.status(app)
        self.assertEqual((status.state, status.exit_code), (api.CONTAINER_EXITED, 137))
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 10)
        # The sidecar exits on SIGTERM, well before its timeout.
        began = time.monotonic()
        cri.call("StopContainer", container_id=sidecar, timeout=10)
        took = time.monotonic() - began
        status = self.status(sidecar)
        self.assertEqual((status.state, status.exit_code), (api.CONTAINER_EXITED, 143))
        self.assertLess(took, 5)
        self.assertEqual(len(note_shims()), 1, f"shims of the pod: {shims_seen}")

        cri.call("StopPodSandbox", pod_sandbox_id=sid)
        sandbox = cri.call("PodSandboxStatus", pod_sandbox_id=sid).status
        self.assertEqual(sandbox.state, api.SANDBOX_NOTREADY)
        for cid in (init, sidecar, app):
            cri.call("RemoveContainer", container_id=cid)
        cri.call("RemovePodSandbox", pod_sandbox_id=sid)
        self.pods.remove(sid)
        listed = cri.call("ListContainers", filter=api.ContainerFilter(pod_sandbox_id=sid))
        self.assertEqual(list(listed.containers), [])

        # One shim served the whole pod, and nothing of the pod is left.
        wait_for("the pod's shim to exit",
                 lambda: not fx.shim_servers(exes, shim_name, self.dir), timeout=10)
        self.assertEqual(len(shims_seen), 1, f"shims of the pod: {shims_seen}")
        wait_for("the pod's processes to exit", lambda: not [
            p for p, t in self.pids.items() if t and start_time(p) == t])
        self.assertEqual(self.tasks(), {})
        self.assertEqual(self.ctr("containers", "ls", "-q").stdout.split(), [])
        self.assertEqual(mounts_under(self.dir), [], "mounts left")
        for cid in (sid, init, sidecar, app):
            self.assertEqual(cgroups_named(cid), [], f"cgroups of {cid} left")
            self.assertFalse(os.path.exists(self.bundle(cid)), f"bundle of {cid} left")
        for root in fx.cgroup_hierarchies():  # the pod's parent: no cgroup left below it
            parent = os.path.join(root, self.tag)
            left = [e.name for e in os.scandir(parent) if e.is_dir()] \
                if os.path.isdir(parent) else []
            self.assertEqual(left, [], f"cgroups left in {parent}")
        for address in live:
            path = address[len("unix://"):] if address.startswith("unix://") else None
            self.assertTrue(path is None or not os.path.exists(path), f"socket {address} left")


class CriShimStopTest(CriFixture):
    """What podshim adds when no kubelet drives the stop: SIGTERM to the pod's shim stops the
    apps, then the sidecars (named in the pod annotation podshim.io/sidecars, which the
    handler's pod_annotations copies into every container's spec), then the sandbox."""

    def test_sigterm_to_the_shim_stops_apps_then_sidecars(self):
        shim = os.path.join(shim_dir(), PODSHIM_SHIM)
        if not os.access(shim, os.X_OK):
            if ARGS.require_shim:
                self.fail(f"{shim} is not built")
            fx.SKIPPED.append(self.id())
            self.skipTest(f"{shim} is not built")
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
        shims = fx.shim_servers({os.path.realpath(shim)}, PODSHIM_SHIM, self.dir)
        self.assertEqual(len(shims), 1, shims)
        time.sleep(0.3)  # the app's trap is set

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
            {os.path.realpath(shim)}, PODSHIM_SHIM, self.dir), timeout=10)
        self.assertEqual(mounts_under(self.dir), [], "mounts left")
        for cid in (sid, sidecar, app):
            self.assertEqual(cgroups_named(cid), [], f"cgroups of {cid} left")


if __name__ == "__main__":
    reexec_with_system_python()

    def options(ap):
        ap.add_argument("--require-shim", action="store_true",
                        help=f"fail, not skip, when {PODSHIM_SHIM} is missing")
        ap.add_argument("--proto-dir", help="where runtime_v1_pb2.py is (default: "
                        "BUILD/tests/containerd/cri; else protoc compiles it into the temp dir)")

    sys.exit(fx.run_main(sys.modules[__name__], options))
