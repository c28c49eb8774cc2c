"""The `containerd` tier's CRI fixture: a private containerd with the CRI plugin on.

CriFixture extends tests/clients/client_fixtures.py's ContainerdFixture: the CRI plugin's config
with the runtime handlers `podshim` (io.containerd.podshim.v2, found on containerd's PATH in
<build>/src), `runc` (io.containerd.runc.v2) and `podshim-runc` (runc's shim with the build's
podshim-runc as BinaryName); the images localhost/pause:local (Debian's static catatonit as
`catatonit -P`) and localhost/busybox:local in the k8s.io namespace; a CriClient as self.cri; a
pod cgroup parent of the test's own; and CRI helpers (sandbox and container configs, states,
pids, bundles, cgroup files). Pods a test leaves are stopped and removed before the fixture's
own leftover checks.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "clients"))
import client_fixtures as fx  # noqa: E402
import cri_client  # noqa: E402
from client_fixtures import ContainerdFixture, run, wait_for  # noqa: E402

PODSHIM_SHIM = "containerd-shim-podshim-v2"
PAUSE_IMAGE = "localhost/pause:local"
HANDLERS = {  # handler -> (runtime_type, the shim binary's name)
    "podshim": ("io.containerd.podshim.v2", PODSHIM_SHIM),
    "runc": ("io.containerd.runc.v2", "containerd-shim-runc-v2"),
    # mode B: runc's shim running the build's podshim-runc as its runc binary
    "podshim-runc": ("io.containerd.runc.v2", "containerd-shim-runc-v2"),
}


def shim_dir():
    return os.path.join(fx.BUILD, "src")


class CriFixture(ContainerdFixture):
    """The private containerd with the CRI plugin, the pause and busybox images in k8s.io, a
    CriClient as self.cri, and the pods to stop and remove if a test fails half-way."""

    PACKAGES = ("containerd", "ctr", "busybox", "catatonit", "protoc")
    NAMESPACE = "k8s.io"  # the CRI plugin's

    def proto_dir(self):
        """Where the build put runtime_v1_pb2.py."""
        return os.path.join(fx.BUILD, "tests", "containerd", "cri")

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
        self.api = cri_client.load_messages(self.proto_dir(), f"{d}/proto")
        self.cri = cri_client.CriClient(self.address, self.api)
        self.addCleanup(self.cri.close)
        self.pods = []
        self.addCleanup(self.remove_pods)  # before the fixture's checks (cleanups are LIFO)

    def make_pause_image(self):
        """A one-file image: the static catatonit as /catatonit, CMD catatonit -P."""
        catatonit = shutil.which("catatonit")
        ldd = run(["ldd", catatonit])
        if "not a dynamic executable" not in ldd.stdout + ldd.stderr:
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
