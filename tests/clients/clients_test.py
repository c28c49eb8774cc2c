#!/usr/bin/env python3
"""The `clients` tier: real podman 4.3 and containerd 1.6 drive podshim as their OCI runtime.

podman gets `--runtime <build>/src/podshim-runc` (private --root/--runroot/--tmpdir, cgroupfs,
file events, an image from `podman import` of a busybox-static rootfs); containerd runs privately
in a temp dir and its own runc shim execs podshim-runc (`ctr run --runc-binary`), on an image
built by scripts/mk-oci-image.py. Every test has its own short temp dir (socket paths < 107
bytes), container names and containerd namespace, and checks at the end that nothing is left:
no process, mount, cgroup or state dir of its containers. What podman and containerd themselves
leave (libpod_parent cgroups, /run/containerd dirs, cni.lock) is removed when the test created it.

Usage: clients_test.py --build BUILD_DIR [--list | TEST...]   (TEST: Class.test_name)
Exit 77 (ctest's SKIP_RETURN_CODE) when a client package is not installed.
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

import client_fixtures as fx
from client_fixtures import (IMAGE, ClientTest, ContainerdFixture, cgroup_hierarchies,
                             make_rootfs, processes_mentioning, run, run_in_pty, v2_cgroup_of,
                             wait_for)

ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]  # root's hard caps


def runtime():
    return os.path.join(fx.BUILD, "src", "podshim-runc")


class RuncNameTest(unittest.TestCase):
    """podshim-runc is `podshim oci` with runc's argv; global flags anywhere; --log lines."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pc", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_version_has_runcs_shape(self):
        p = run([runtime(), "--version"], check=True)
        self.assertRegex(p.stdout, r"^podshim version \S+\ncommit: \S+\nspec: 1\.\d+\.\d+\n")

    def test_answers_as_the_oci_command(self):
        direct = run([os.path.join(fx.BUILD, "src", "podshim"), "oci", "features"], check=True)
        linked = run([runtime(), "features"], check=True)
        self.assertEqual(json.loads(linked.stdout), json.loads(direct.stdout))

    def test_json_log_gets_the_error_line_containerd_reads(self):
        log = os.path.join(self.dir, "log.json")
        p = run([runtime(), "--root", self.dir, "--log", log, "--log-format", "json", "state",
                 "nope"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not exist", p.stderr)
        with open(log) as f:
            last = json.loads(f.read().splitlines()[-1])
        self.assertEqual(last["level"], "error")
        self.assertIn("does not exist", last["msg"])
        self.assertRegex(last["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

    def test_global_flags_after_the_command_and_text_log(self):
        log = os.path.join(self.dir, "log")
        p = run([runtime(), "kill", "--log", log, "--root", self.dir, "--systemd-cgroup",
                 "--debug", "nope", "9"])
        self.assertEqual(p.returncode, 1, p.stderr)
        with open(log) as f:
            self.assertRegex(f.read(), r'^time="[^"]+" level=error msg=".*does not exist.*"\n$')


class PodmanTest(ClientTest):
    PACKAGES = ("podman", "conmon", "catatonit", "busybox")

    def setUp(self):
        super().setUp()
        d = self.dir
        for path in ("/etc/cni/net.d/cni.lock", "/var/lib/containers/cache",
                     "/var/lib/containers"):
            self.note_if_new(path)
        for root in cgroup_hierarchies():
            self.note_if_new(os.path.join(root, "libpod_parent"))
            self.note_if_new(os.path.join(root, "libpod_parent", "conmon"))
        self.podman = ["podman", "--root", f"{d}/pm/root", "--runroot", f"{d}/pm/run",
                       "--tmpdir", f"{d}/pm/tmp", "--storage-driver", "overlay",
                       "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                       "--runtime", runtime()]
        self.addCleanup(self.clean_podman)
        make_rootfs(f"{d}/R")
        run(["tar", "-C", f"{d}/R", "-cf", f"{d}/r.tar", "."], check=True)
        self.pm("import", "--change", 'CMD ["sh"]', f"{d}/r.tar", IMAGE, check=True)

    def pm(self, *args, **kw):
        return run(self.podman + list(args), **kw)

    def name(self, suffix):
        return f"{self.tag}-{suffix}"

    def run_detached(self, suffix, *args):
        p = self.pm("run", "-d", "--network", "none", *ULIMITS, "--name", self.name(suffix),
                    *args, check=True)
        self.run_stderr = p.stderr
        cid = p.stdout.strip().splitlines()[-1]
        pid = int(self.pm("inspect", "-f", "{{.State.Pid}}", cid, check=True).stdout)
        self.assertGreater(pid, 0)
        self.remember_pid(pid)
        return cid, pid

    def all_ids(self):
        p = self.pm("ps", "-a", "--no-trunc", "--format", "{{.ID}}")
        return p.stdout.split()

    def clean_podman(self):
        ids = self.all_ids()
        self.pm("rm", "-af", "-t", "0")
        try:
            # c/storage keeps its driver home mounted (private); it goes with the temp dir.
            self.assert_nothing_left(ids, own_mounts=[f"{self.dir}/pm/root/overlay"])
            for cid in ids:
                self.assertFalse(os.path.exists(f"/run/podshim-oci/{cid}"), "podshim state left")
            # conmon runs `podman container cleanup` after an exit: give it time to finish.
            wait_for("podman's and conmon's processes to exit",
                     lambda: not processes_mentioning(self.dir))
        finally:
            # podman's own: libpod_parent/conmon cgroups, cni.lock, the blob-info cache; its
            # storage mount goes with the temp dir (not `system reset`: it drops host networks).
            for pid in processes_mentioning(self.dir):
                os.kill(pid, signal.SIGKILL)
            self.remove_created()

    def test_run_rm_prints_and_exits_with_the_status(self):
        p = self.pm("run", "--rm", "--network", "none", *ULIMITS, "--name", self.name("rm"),
                    IMAGE, "sh", "-c", "echo hi; exit 3")
        self.assertEqual((p.returncode, p.stdout), (3, "hi\n"), p.stderr)

    def test_exec_passes_output_and_status(self):  # needs `podshim oci exec`
        cid, _ = self.run_detached("ex", IMAGE, "sleep", "100")
        p = self.pm("exec", cid, "sh", "-c", "echo from-exec; exit 4")
        self.assertEqual((p.returncode, p.stdout), (4, "from-exec\n"), p.stderr)

    def test_stop_sends_sigkill_after_the_timeout(self):
        # sleep as pid 1 ignores SIGTERM (no handler): podman kills it after -t 2.
        cid, _ = self.run_detached("kl", IMAGE, "sleep", "100")
        p = self.pm("stop", "-t", "2", cid, check=True)
        self.assertIn("StopSignal SIGTERM failed to stop container", p.stderr)
        self.assertIn("resorting to SIGKILL", p.stderr)
        self.assertEqual(self.pm("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip(),
                         "137")

    def test_stop_sigterm_ends_a_normal_container(self):
        # --init: catatonit forwards SIGTERM to sleep, which dies of it: 128 + 15.
        cid, _ = self.run_detached("tm", "--init", IMAGE, "sleep", "100")
        self.pm("stop", "-t", "20", cid, check=True)
        self.assertEqual(self.pm("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip(),
                         "143")

    def test_run_t_relays_a_terminal(self):  # needs --console-socket
        status, out = run_in_pty(
            self.podman + ["run", "--rm", "-it", "--network", "none", *ULIMITS, "--name",
                           self.name("tt"), IMAGE, "sh"],
            "tty; echo ab''cd; exit 5\n")
        self.assertEqual(status, 5, out)
        self.assertIn("/dev/pts/", out)
        self.assertIn("abcd", out)

    def test_exec_t_gets_a_terminal(self):  # needs exec and --console-socket
        cid, _ = self.run_detached("et", IMAGE, "sleep", "100")
        status, out = run_in_pty(self.podman + ["exec", "-t", cid, "sh", "-c", "tty; exit 6"],
                                 None)
        self.assertEqual(status, 6, out)
        self.assertIn("/dev/pts/", out)

    def test_pause_and_unpause_freeze_the_cgroup(self):  # needs pause/resume, cgroupsPath
        cid, pid = self.run_detached("pz", IMAGE, "sleep", "100")
        cg = v2_cgroup_of(pid)
        self.assertIn(cid, cg, "the container is not in a cgroup of its own")
        freeze = os.path.join(cg, "cgroup.freeze")
        self.pm("pause", cid, check=True)
        self.assertEqual(self.pm("inspect", "-f", "{{.State.Status}}", cid).stdout.strip(),
                         "paused")
        with open(freeze) as f:
            self.assertEqual(f.read().strip(), "1")
        self.pm("unpause", cid, check=True)
        self.assertEqual(self.pm("inspect", "-f", "{{.State.Status}}", cid).stdout.strip(),
                         "running")
        with open(freeze) as f:
            self.assertEqual(f.read().strip(), "0")

    def test_memory_limit_is_written_or_warned_about(self):  # needs cgroupsPath + resources
        cid, pid = self.run_detached("mem", "--log-driver", "k8s-file", "--memory", "64m", IMAGE,
                                     "sleep", "100")
        cg = v2_cgroup_of(pid)
        self.assertIn(cid, cg, "the container is not in a cgroup of its own")
        limit = os.path.join(cg, "memory.max")
        if os.path.exists(limit):
            with open(limit) as f:
                self.assertEqual(f.read().strip(), str(64 << 20))
        else:  # a hybrid host: memory is bound to cgroup v1; podshim says it once
            logs = self.pm("logs", cid, check=True)
            self.assertRegex(self.run_stderr + logs.stdout + logs.stderr,
                             r"cgroup controllers? [^;]*memory[^;]* not available")


    def test_update_memory_reaches_the_cgroup_or_the_record(self):  # needs update
        cid, pid = self.run_detached("upd", "--log-driver", "k8s-file", IMAGE, "sleep", "100")
        p = self.pm("update", "--memory", "96m", cid)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        limit = os.path.join(v2_cgroup_of(pid), "memory.max")
        if os.path.exists(limit):
            with open(limit) as f:
                self.assertEqual(f.read().strip(), str(96 << 20))
        else:  # a hybrid host: not enforced here, but recorded for podshim's next update
            with open(f"/run/podshim-oci/{cid}/state.json") as f:
                state = json.load(f)
            self.assertEqual(state["resources"]["memory"]["limit"], 96 << 20)

class ContainerdTest(ContainerdFixture):
    """containerd's own runc shim execs podshim-runc (`ctr run --runc-binary`)."""

    PACKAGES = ContainerdFixture.PACKAGES + ("containerd-shim-runc-v2",)

    def run_args(self):
        return ["--runc-binary", runtime(), "--runc-root", f"{self.dir}/rr"]

    def check_task_leftovers(self, ids):
        super().check_task_leftovers(ids)
        state = f"{self.dir}/rr/{self.ns}"
        self.assertEqual(os.listdir(state) if os.path.isdir(state) else [], [],
                         "podshim state left")

    def test_run_rm_prints_and_exits_with_the_status(self):
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, f"{self.tag}-rm", "sh", "-c",
                     "echo hi; exit 3")
        self.assertEqual((p.returncode, p.stdout), (3, "hi\n"), p.stderr)

    def test_failed_create_reports_podshims_error(self):
        # The shim reads a failed create's reason only from the last error line of --log.
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, f"{self.tag}-nx", "/no/such/prog")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("OCI runtime create failed", p.stderr)
        self.assertIn("/no/such/prog", p.stderr)

    def test_run_t_relays_a_terminal(self):  # needs --console-socket
        argv = ["ctr", "--address", f"{self.dir}/c.sock", "-n", self.ns, "run", "--rm", "-t",
                *self.run_args(), IMAGE, f"{self.tag}-tt", "sh"]
        status, out = run_in_pty(argv, "tty; echo ab''cd; exit 5\n")
        self.assertEqual(status, 5, out)
        self.assertIn("/dev/pts/", out)
        self.assertIn("abcd", out)

    def test_task_exec_passes_output_and_status(self):  # needs `podshim oci exec`
        cid = f"{self.tag}-ex"
        self.run_detached(cid, "sleep", "100")
        p = self.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo from-exec; exit 4")
        self.assertEqual((p.returncode, p.stdout), (4, "from-exec\n"), p.stderr)

    def test_task_exec_t_gets_a_terminal(self):  # needs exec and --console-socket
        cid = f"{self.tag}-et"
        self.run_detached(cid, "sleep", "100")
        argv = ["ctr", "--address", f"{self.dir}/c.sock", "-n", self.ns, "task", "exec", "-t",
                "--exec-id", "e2", cid, "sh", "-c", "tty; exit 6"]
        status, out = run_in_pty(argv, None)
        self.assertEqual(status, 6, out)
        self.assertIn("/dev/pts/", out)

    def test_task_pause_and_resume(self):  # needs pause/resume
        cid = f"{self.tag}-pz"
        self.run_detached(cid, "sleep", "100")
        self.ctr("task", "pause", cid, check=True)
        self.assertEqual(self.task_status(cid), "PAUSED")
        self.ctr("task", "resume", cid, check=True)
        self.assertEqual(self.task_status(cid), "RUNNING")

    def test_task_kill_sigterm_and_delete_reports_the_status(self):
        cid = f"{self.tag}-tm"
        # sh as pid 1 needs its trap to die of SIGTERM; kill until the trap is installed.
        self.run_detached(cid, "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done")

        def stopped():
            self.ctr("task", "kill", cid)  # fails once it has stopped
            return self.task_status(cid) == "STOPPED"

        wait_for("the task to stop on SIGTERM", stopped)
        p = self.ctr("task", "delete", cid)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("exit code 7", p.stderr)

    def test_task_kill_all_sigkill(self):
        cid = f"{self.tag}-kl"
        self.run_detached(cid, "sh", "-c", "sleep 100 & wait")
        self.ctr("task", "kill", "-a", "-s", "SIGKILL", cid, check=True)
        wait_for("the task to stop on SIGKILL", lambda: self.task_status(cid) == "STOPPED")
        p = self.ctr("task", "delete", cid)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("exit code 137", p.stderr)


if __name__ == "__main__":
    sys.exit(fx.run_main(sys.modules[__name__]))
