#!/usr/bin/env python3
"""Builds a one-layer OCI image layout tar from a root filesystem directory (stdlib only).

Usage: mk-oci-image.py ROOTFS OUT.tar NAME [CMD...]
       mk-oci-image.py --self-test

The tar holds oci-layout, index.json (its manifest annotated with io.containerd.image.name = NAME
and org.opencontainers.image.ref.name = NAME's tag, so `ctr image import` names the image),
the manifest, the config (CMD as the default command, PATH set, this machine's architecture)
and the layer (ROOTFS as a gzip'd tar, numeric owners kept, timestamps zeroed so the same rootfs
gives the same digests). Used by the `clients` test tier (tests/clients/) to give containerd an
image without a registry.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import sys
import tarfile
import tempfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64"}
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def layer_tar(rootfs):
    """ROOTFS as an uncompressed tar (bytes), entries sorted, mtimes zeroed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(top, name)
                info = tar.gettarinfo(path, os.path.relpath(path, rootfs))
                info.mtime = 0
                info.uname = info.gname = ""
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(rootfs, out, name, cmd):
    if not os.path.isdir(rootfs):
        sys.exit(f"mk-oci-image: rootfs {rootfs!r} is not a directory")
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    raw = layer_tar(rootfs)
    layer = gzip.compress(raw, mtime=0)
    arch = ARCH.get(platform.machine(), platform.machine())
    config = json.dumps({
        "architecture": arch, "os": "linux",
        "config": {"Env": [PATH_ENV], "Cmd": cmd or ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [digest(raw)]},
        "history": [{"created_by": "scripts/mk-oci-image.py"}],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(manifest), "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]},
        }],
    }, sort_keys=True).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    files += [("blobs/sha256/" + digest(b)[7:], b) for b in (manifest, config, layer)]
    with tarfile.open(out, "w") as tar:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))


def self_test():
    """Builds an image from a small rootfs and checks every digest, size and link."""
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "r")
        os.makedirs(os.path.join(root, "bin"))
        with open(os.path.join(root, "bin", "hello"), "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(os.path.join(root, "bin", "hello"), 0o755)
        os.symlink("/bin/hello", os.path.join(root, "bin", "hi"))
        out1, out2 = os.path.join(tmp, "1.tar"), os.path.join(tmp, "2.tar")
        build(root, out1, "localhost/t", ["hello", "x"])
        build(root, out2, "localhost/t", ["hello", "x"])
        with open(out1, "rb") as a, open(out2, "rb") as b:
            assert a.read() == b.read(), "two builds of one rootfs differ"
        with tarfile.open(out1) as tar:
            blob = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        for path, data in blob.items():
            if path.startswith("blobs/sha256/"):
                assert digest(data)[7:] == path[13:], f"{path}: digest mismatch"
        assert json.loads(blob["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
        desc = json.loads(blob["index.json"])["manifests"][0]
        assert desc["annotations"]["io.containerd.image.name"] == "localhost/t:latest", desc
        manifest = blob["blobs/sha256/" + desc["digest"][7:]]
        assert len(manifest) == desc["size"]
        manifest = json.loads(manifest)
        config = json.loads(blob["blobs/sha256/" + manifest["config"]["digest"][7:]])
        assert config["config"]["Cmd"] == ["hello", "x"], config
        layer = blob["blobs/sha256/" + manifest["layers"][0]["digest"][7:]]
        assert len(layer) == manifest["layers"][0]["size"]
        raw = gzip.decompress(layer)
        assert config["rootfs"]["diff_ids"] == [digest(raw)]
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            members = {m.name: m for m in tar.getmembers()}
            assert set(members) == {"bin", "bin/hello", "bin/hi"}, members
            assert members["bin/hi"].issym() and members["bin/hi"].linkname == "/bin/hello"
            assert members["bin/hello"].mode & 0o111
            assert tar.extractfile("bin/hello").read() == b"#!/bin/sh\necho hi\n"
    print("mk-oci-image: self-test passed")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    build(argv[1], argv[2], argv[3], argv[4:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
