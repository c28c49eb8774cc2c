"""A small client of Kubernetes' CRI (runtime.v1) for the `containerd` tier and bench-cri.sh.

The messages come from the project's own subset of the CRI api (runtime_v1.proto beside this
file), compiled by `protoc --python_out` at build time (tests/containerd/CMakeLists.txt puts
runtime_v1_pb2.py in <build>/tests/containerd/cri) or, when that is missing, into a scratch dir
given by the caller. The calls go through python3-grpcio's generic
`channel.unary_unary("/runtime.v1.RuntimeService/<Method>", ...)`: no generated gRPC stubs.

    api = load_messages(out_dir)            # the runtime_v1_pb2 module
    cri = CriClient("/tmp/x/c.sock", api)
    cri.call("Version", api.VersionRequest()).runtime_name
"""
import importlib.util
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "runtime_v1.proto")
MODULE = "runtime_v1_pb2"

# method -> (service, request message, response message)
RUNTIME = "runtime.v1.RuntimeService"
IMAGES = "runtime.v1.ImageService"
METHODS = {name: (RUNTIME, f"{name}Request", f"{name}Response") for name in (
    "Version", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus",
    "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "ContainerStatus",
    "ListContainers", "ExecSync", "ContainerStats", "ListContainerStats",
    "UpdateContainerResources")}
METHODS.update({name: (IMAGES, f"{name}Request", f"{name}Response")
                for name in ("ImageStatus", "ListImages")})


def load_messages(*dirs):
    """The runtime_v1_pb2 module from the first of dirs that has it; else compiled with protoc
    into the last of dirs (which must be writable)."""
    for d in dirs:
        if d and os.path.exists(os.path.join(d, MODULE + ".py")):
            return _import(os.path.join(d, MODULE + ".py"))
    out = dirs[-1]
    os.makedirs(out, exist_ok=True)
    subprocess.run(["protoc", "-I", HERE, f"--python_out={out}", PROTO], check=True)
    return _import(os.path.join(out, MODULE + ".py"))


def _import(path):
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CriClient:
    """One gRPC channel to containerd's socket; call(method, request) with a deadline."""

    def __init__(self, socket_path, api, deadline=60.0):
        import grpc  # here, so that --list works without python3-grpcio
        self.grpc = grpc
        self.api = api
        self.timeout = deadline
        self.channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.stubs = {}

    def close(self):
        self.channel.close()

    def stub(self, method):
        if method not in self.stubs:
            service, _, response = METHODS[method]
            self.stubs[method] = self.channel.unary_unary(
                f"/{service}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=getattr(self.api, response).FromString)
        return self.stubs[method]

    def call(self, method, request=None, deadline=None, **fields):
        """Calls method with request (or a request built from fields: the request's own
        `timeout` is one of them) within deadline seconds; raises grpc.RpcError (.code(),
        .details()) on failure."""
        if request is None:
            request = getattr(self.api, METHODS[method][1])(**fields)
        return self.stub(method)(request, timeout=deadline or self.timeout)

    def error_of(self, method, request=None, deadline=None, **fields):
        """(None, reply) on success, else (f"{code}: {details}", None): for the calls a test
        expects to fail."""
        try:
            return None, self.call(method, request, deadline, **fields)
        except self.grpc.RpcError as e:
            return f"{e.code().name}: {e.details()}", None
