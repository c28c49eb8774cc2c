#!/usr/bin/env python3
"""The `containerd` tier: containerd 1.6 runs containerd-shim-podshim-v2 as its shim v2.

Each test starts a private containerd in a short temp dir (own root, state and sockets, no CRI;
tests/clients/client_fixtures.py), imports a busybox-static image built by
scripts/mk-oci-image.py into a namespace of its own and runs `ctr run --runtime <shim>`; a
`ctr events` subscriber records the task events. Every test ends by checking that nothing is
left: no shim or container process, no mount under the temp dir, no cgroup `/<ns>/<id>`, no shim
socket (the `address` files of the bundles say where they are), no bundle or work dir.

The runtime is `<build>/src/containerd-shim-podshim-v2`, or the value of --runtime or of the
environment variable PODSHIM_CTRD_RUNTIME: `io.containerd.runc.v2` runs the same tests against
containerd's runc shim, which validates the harness. Where runc's shim differs from what the
tests require of podshim, the test says so (RUNC_DIFFERS) and checks runc's behaviour instead.

Usage: containerd_test.py --build BUILD_DIR [--runtime R] [--require-shim] [--list | TEST...]
Exit 77 (ctest's SKIP_RETURN_CODE) when containerd is not installed or the shim is not built
(unless --require-shim: then a missing shim fails).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "clients"))
import client_fixtures as fx  # noqa: E402
from client_fixtures import (IMAGE, ContainerdFixture, cgroup_hierarchies, parent_pid,  # noqa
                             run_in_pty, start_time, wait_for)

ARGS = None  # set by fx.run_main
RUNC = "io.containerd.runc.v2"
SHIM_NAME = "containerd-shim-podshim-v2"
GROUP = "io.containerd.runc.v2.group"
SLEEP_TRAP_TERM = 'trap "exit 7" TERM; while :; do sleep 1; done'
TASK_TOPICS = ("/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete")
EXEC_TOPICS = ("/tasks/exec-added", "/tasks/exec-started", "/tasks/exit")


def runtime():
    """What `ctr run --runtime` gets: an absolute path or a shim name."""
    chosen = (ARGS and ARGS.runtime) or os.environ.get("PODSHIM_CTRD_RUNTIME")
    return chosen or os.path.join(fx.BUILD, "src", SHIM_NAME)


def is_runc():
    """containerd's runc shim, by name or by path."""
    return runtime() == RUNC or os.path.basename(runtime()) == "containerd-shim-runc-v2"


def shim_binary():
    """The executable containerd starts for runtime(): io.containerd.NAME.vN is
    containerd-shim-NAME-vN on PATH (also what containerd does)."""
    r = runtime()
    if r.startswith("/"):
        return r
    name, version = r.split(".")[-2:]
    return shutil.which(f"containerd-shim-{name}-{version}") or ""


def exit_code_of(delete):
    """The exit status `ctr task delete` reports (a warning "... exit code N" when N != 0)."""
    m = re.search(r"exit code (\d+)", delete.stderr)
    return int(m.group(1)) if m else 0


class ShimV2Test(ContainerdFixture):

    def setUp(self):
        binary = shim_binary()
        if not binary or not os.access(binary, os.X_OK):
            if ARGS.require_shim:
                self.fail(f"{binary or runtime()} is not built")
            self.skip_because(f"{binary or runtime()} is not built or not installed")
        self.shim_exes = {os.path.realpath(binary)}
        self.shim_name = os.path.basename(binary)
        self.sockets = set()  # the shim addresses seen in bundles' `address` files
        self.shim_address_seen = {}  # container id -> its bundle's address
        self.shims_seen = {}  # shim pid -> start time
        self.events = None
        self.addCleanup(self.remove_dead_sockets)  # last, once every shim of ours is gone
        super().setUp()
        self.events_file = f"{self.dir}/events"
        self.start_events()
        self.addCleanup(self.stop_events)  # runs before the fixture's checks (LIFO)

    # -- helpers -----------------------------------------------------------------------------

    def run_args(self):
        # ctr's FIFOs in our dir: it leaves them when containerd, not ctr, deletes a task.
        return ["--runtime", runtime(), "--fifo-dir", f"{self.dir}/fifo"]

    def group_args(self, group):
        return ["--annotation", f"{GROUP}={group}"]

    def cid(self, suffix):
        return f"{self.tag}-{suffix}"

    def start_events(self):
        """`ctr events` into self.events_file (appending: it is started again after a
        containerd restart)."""
        with open(self.events_file, "a") as out:
            self.events = subprocess.Popen(
                ["ctr", "--address", self.address, "-n", self.ns, "events"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        # Subscribed before the test goes on: a namespace label change publishes an event.
        probe = [0]

        def subscribed():
            probe[0] += 1
            self.ctr("namespaces", "label", self.ns, f"probe={probe[0]}", check=True)
            time.sleep(0.05)
            with open(self.events_file) as f:
                return f'"probe":"{probe[0]}"' in f.read()

        wait_for("ctr events to subscribe", subscribed)

    def stop_events(self):
        if self.events and self.events.poll() is None:
            self.events.terminate()
            self.events.wait()

    def task_events(self, cid, topics=TASK_TOPICS):
        """[(topic, payload)] of the task events of container cid, in the order received."""
        out = []
        with open(self.events_file) as f:
            for line in f:
                fields = line.split(None, 6)
                if len(fields) < 7 or fields[4] != self.ns or fields[5] not in topics:
                    continue
                payload = json.loads(fields[6])
                if payload.get("container_id") == cid:
                    out.append((fields[5], payload))
        return out

    def bundle(self, cid):
        return f"{self.dir}/state/io.containerd.runtime.v2.task/{self.ns}/{cid}"

    def shim_address(self, cid):
        with open(f"{self.bundle(cid)}/address") as f:
            return f.read().strip()

    def shim_pids(self):
        """{pid: start time} of the live shim servers of our containerd: the shim's executable,
        with our temp dir in its command line (-address) or environment (TTRPC_ADDRESS)."""
        return fx.shim_servers(self.shim_exes, self.shim_name, self.dir)

    def start_task(self, cid, *cmd, group=None):
        """`ctr run -d`; returns (container pid, shim pid). Remembers the pid, the shim and its
        socket for the leftover checks."""
        extra = self.group_args(group) if group else []
        pid = self.run_detached(cid, *cmd, extra=extra)
        self.shim_address_seen[cid] = self.shim_address(cid)
        self.sockets.add(self.shim_address_seen[cid])
        shim = parent_pid(pid)
        shims = self.shim_pids()
        self.shims_seen.update(shims)
        self.assertIn(shim, shims, f"the parent of {cid}'s process is not a shim of ours")
        return pid, shim

    def wait_stopped(self, cid):
        wait_for(f"{cid} to be STOPPED", lambda: self.task_status(cid) == "STOPPED")

    def delete_status(self, cid):
        """`ctr task delete cid` must succeed; returns the exit status it reports."""
        p = self.ctr("task", "delete", cid)
        self.assertEqual(p.returncode, 0, p.stderr)
        return exit_code_of(p)

    def remove(self, *cids):
        for cid in cids:
            self.ctr("containers", "rm", cid, check=True)

    def exit_event_status(self, cid):
        exits = [e for topic, e in self.task_events(cid) if topic == "/tasks/exit"]
        self.assertEqual(len(exits), 1, self.task_events(cid))
        return exits[0].get("exit_status", 0)

    def socket_exists(self, address):
        if address.startswith("unix://"):
            return os.path.exists(address[len("unix://"):])
        with open("/proc/net/unix") as f:  # an abstract socket: "@name" in the path column
            return any(line.split()[-1] == "@" + address for line in f.readlines()[1:]
                       if len(line.split()) > 7)

    def remove_dead_sockets(self):
        """Socket files of our shims left behind (a failed check has reported them)."""
        for address in self.sockets:
            if address.startswith("unix://") and os.path.exists(address[len("unix://"):]):
                os.unlink(address[len("unix://"):])

    def check_task_leftovers(self, ids):
        """(g) after every test, containerd still up and the test's tasks deleted."""
        self.stop_events()
        wait_for("the shims to exit", lambda: not self.shim_pids(), timeout=10)
        super().check_task_leftovers(ids)  # container processes, mounts, cgroups by name
        for cid in ids:
            for root in cgroup_hierarchies():
                self.assertFalse(os.path.exists(f"{root}/{self.ns}/{cid}"), f"cgroup of {cid}")
        for address in self.sockets:
            self.assertFalse(self.socket_exists(address), f"shim socket {address} left")
        for kind in ("state", "root"):
            tasks = f"{self.dir}/{kind}/io.containerd.runtime.v2.task/{self.ns}"
            self.assertEqual(os.listdir(tasks) if os.path.isdir(tasks) else [], [],
                             f"bundle or work dirs left in {tasks}")

    # -- (a) run --rm ------------------------------------------------------------------------

    def test_run_rm_prints_and_exits_with_the_status(self):
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, self.cid("rm"), "sh", "-c",
                     "echo hi; exit 3")
        self.assertEqual((p.returncode, p.stdout), (3, "hi\n"), p.stderr)

    def test_stdout_and_stderr_stay_apart(self):
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, self.cid("io"), "sh", "-c",
                     "echo out; echo err >&2")
        self.assertEqual((p.returncode, p.stdout), (0, "out\n"), p.stderr)
        self.assertIn("err\n", p.stderr)

    def test_run_stdin_is_pumped(self):
        # `ctr run` sends no CloseIO at its stdin's EOF, and the shim holds the stdin FIFO open
        # (as runc's shim does), so the task reads a line rather than to EOF.
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, self.cid("in"), "sh", "-c",
                     "read line; echo got $line", stdin=None, input="to read\n", timeout=20)
        self.assertEqual((p.returncode, p.stdout), (0, "got to read\n"), p.stderr)

    def test_run_t_relays_a_terminal(self):  # Create with terminal, then ResizePty
        argv = ["ctr", "--address", self.address, "-n", self.ns, "run", "--rm", "-t",
                *self.run_args(), IMAGE, self.cid("tt"), "sh"]
        status, out = run_in_pty(argv, "tty; echo ab''cd; exit 5\n")
        self.assertEqual(status, 5, out)
        self.assertIn("/dev/pts/", out)
        self.assertIn("abcd", out)

    # -- (b) kill and delete give the true exit status ----------------------------------------

    def test_sigterm_with_a_trap_gives_the_traps_status(self):
        cid = self.cid("tm")
        self.start_task(cid, "sh", "-c", SLEEP_TRAP_TERM)

        def stopped():  # kill until the trap is installed; fails once it has stopped
            self.ctr("task", "kill", "-s", "SIGTERM", cid)
            return self.task_status(cid) == "STOPPED"

        wait_for("the task to stop on SIGTERM", stopped)
        self.assertEqual(self.exit_event_status(cid), 7)
        self.assertEqual(self.delete_status(cid), 7)
        self.remove(cid)

    def test_sigkill_gives_137(self):
        cid = self.cid("kl")
        self.start_task(cid, "sleep", "3600")
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.exit_event_status(cid), 137)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    def test_sigterm_to_plain_sleep_is_ignored_then_kill_all(self):
        # sleep as pid 1 has no handler: SIGTERM does nothing; --all SIGKILL ends it and a child.
        cid = self.cid("ka")
        self.start_task(cid, "sh", "-c", "sleep 3600 & sleep 3600")
        self.ctr("task", "kill", "-s", "SIGTERM", cid, check=True)
        time.sleep(0.5)
        self.assertEqual(self.task_status(cid), "RUNNING")
        self.ctr("task", "kill", "-a", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    def test_kill_9_from_the_host_gives_137(self):
        cid = self.cid("h9")
        pid, _ = self.start_task(cid, "sleep", "3600")
        os.kill(pid, signal.SIGKILL)
        self.wait_stopped(cid)
        self.assertEqual(self.exit_event_status(cid), 137)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    def test_exit_on_its_own_is_kept_until_delete(self):
        cid = self.cid("ex")
        self.start_task(cid, "sh", "-c", "sleep 1; exit 42")
        self.wait_stopped(cid)
        time.sleep(0.3)
        self.assertEqual(self.task_status(cid), "STOPPED")
        self.assertEqual(self.exit_event_status(cid), 42)
        self.assertEqual(self.delete_status(cid), 42)
        self.remove(cid)

    # -- (c) events --------------------------------------------------------------------------

    def test_events_come_in_order(self):
        cid = self.cid("ev")
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, cid, "sh", "-c", "exit 3")
        self.assertEqual(p.returncode, 3, p.stderr)
        wait_for("/tasks/delete", lambda: any(t == "/tasks/delete"
                                              for t, _ in self.task_events(cid)))
        events = self.task_events(cid)
        self.assertEqual([t for t, _ in events], list(TASK_TOPICS), events)
        payload = dict(events)
        pid = payload["/tasks/create"]["pid"]
        self.assertGreater(pid, 0)
        self.assertEqual(payload["/tasks/start"]["pid"], pid)
        self.assertEqual(payload["/tasks/exit"]["pid"], pid)
        self.assertEqual(payload["/tasks/exit"]["id"], cid)
        self.assertEqual(payload["/tasks/exit"]["exit_status"], 3)
        self.assertEqual(payload["/tasks/delete"]["exit_status"], 3)
        self.assertEqual(payload["/tasks/create"]["bundle"], self.bundle(cid))

    def test_instant_exit_still_comes_after_start(self):
        cid = self.cid("ie")
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, cid, "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_for("/tasks/delete", lambda: any(t == "/tasks/delete"
                                              for t, _ in self.task_events(cid)))
        self.assertEqual([t for t, _ in self.task_events(cid)], list(TASK_TOPICS))

    # -- (d) one shim per group ----------------------------------------------------------------

    def test_a_group_shares_one_shim_which_exits_after_the_last(self):
        group1 = [self.cid(f"g{i}") for i in range(3)]
        shims1 = {self.start_task(cid, "sleep", "3600", group="p1")[1] for cid in group1}
        self.assertEqual(len(shims1), 1, "the three containers of p1 have different shims")
        self.assertEqual(len({self.shim_address(cid) for cid in group1}), 1)
        self.assertEqual(set(self.shim_pids()), shims1)

        other = self.cid("o0")
        _, shim2 = self.start_task(other, "sleep", "3600", group="p2")
        self.assertNotIn(shim2, shims1)
        self.assertNotEqual(self.shim_address(other), self.shim_address(group1[0]))
        self.assertEqual(set(self.shim_pids()), shims1 | {shim2})

        for i, cid in enumerate(group1):
            self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
            self.wait_stopped(cid)
            self.assertEqual(self.delete_status(cid), 137)
            self.remove(cid)
            if i < len(group1) - 1:  # the others of p1 still run on the same shim
                self.assertEqual(set(self.shim_pids()), shims1 | {shim2})
                self.assertEqual(self.task_status(group1[-1]), "RUNNING")
        wait_for("p1's shim to exit", lambda: set(self.shim_pids()) == {shim2})
        self.assertEqual(self.task_status(other), "RUNNING")

        self.ctr("task", "kill", "-s", "SIGKILL", other, check=True)
        self.wait_stopped(other)
        self.assertEqual(self.delete_status(other), 137)
        self.remove(other)
        wait_for("p2's shim to exit", lambda: not self.shim_pids())

    def test_without_a_group_each_container_has_its_own_shim(self):
        shims = {self.start_task(self.cid(f"s{i}"), "sleep", "3600")[1] for i in range(2)}
        self.assertEqual(len(shims), 2)

    def test_sigterm_to_the_shim_stops_its_pod_in_order(self):
        """The shim told to stop its pod (SIGTERM): the app first, then the sidecars in reverse
        start order, each once the one after it has exited, and the sandbox (SIGKILL) last. The
        roles come from CRI's annotations and the podshim.io/sidecars pod annotation."""
        if is_runc():
            self.skipTest("podshim's own pod stop; containerd's runc shim has none")
        pod = ["--annotation", "podshim.io/sidecars=proxy,logs",
               "--annotation", "podshim.io/termination-grace-period-seconds=20"]
        trap = "trap 'sleep 0.3; exit 0' TERM; while :; do sleep 0.1; done"
        members = [("sb", "sandbox", ["sleep", "3600"]), ("proxy", "container", ["sh", "-c", trap]),
                   ("logs", "container", ["sh", "-c", trap]), ("app", "container", ["sh", "-c", trap])]
        shims = set()
        for name, kind, cmd in members:
            cri = ["--annotation", f"io.kubernetes.cri.container-type={kind}",
                   "--annotation", f"io.kubernetes.cri.container-name={name}"]
            pid = self.run_detached(self.cid(name), *cmd, extra=self.group_args("pod") + pod + cri)
            shims.add(parent_pid(pid))
            self.sockets.add(self.shim_address(self.cid(name)))
        self.assertEqual(len(shims), 1, "the pod's containers have different shims")
        time.sleep(0.3)  # the traps are installed
        shim = shims.pop()
        os.kill(shim, signal.SIGTERM)
        for name, _, _ in members:
            self.wait_stopped(self.cid(name))
        order = []
        with open(self.events_file) as f:
            for line in f:
                fields = line.split(None, 6)
                if len(fields) == 7 and fields[5] == "/tasks/exit":
                    order.append(json.loads(fields[6]).get("container_id"))
        self.assertEqual(order, [self.cid(n) for n in ("app", "logs", "proxy", "sb")])
        # Told again with every task exited, the shim goes; containerd cleans its tasks up with
        # `<shim> delete`, which reports each exit from its record.
        os.kill(shim, signal.SIGTERM)
        wait_for("the shim to exit on the second SIGTERM", lambda: shim not in self.shim_pids())
        for name, _, _ in members:
            cid = self.cid(name)
            wait_for(f"containerd to clean {cid} up", lambda: cid not in self.tasks()
                     and any(t == "/tasks/delete" for t, _ in self.task_events(cid)))
            self.assertEqual(self.last_delete_status(cid), 137 if name == "sb" else 0)
            self.remove(cid)
        wait_for("the pod's shim to exit", lambda: not self.shim_pids())

    # -- (e) containerd restart --------------------------------------------------------------

    def restart_containerd(self):
        self.stop_events()
        self.stop_containerd()
        self.start_containerd()
        self.start_events()

    def test_task_survives_a_containerd_restart(self):
        cid = self.cid("rs")
        pid, shim = self.start_task(cid, "sh", "-c", SLEEP_TRAP_TERM)
        before = self.shim_pids()
        time.sleep(0.3)  # the trap is set
        self.restart_containerd()
        self.assertEqual(self.tasks().get(cid), (pid, "RUNNING"))
        self.assertEqual(self.shim_pids(), before, "the shim changed across the restart")
        self.ctr("task", "kill", "-s", "SIGTERM", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.exit_event_status(cid), 7)  # published to the new containerd
        self.assertEqual(self.delete_status(cid), 7)
        self.remove(cid)
        self.assertEqual(set(self.shims_seen), {shim})

    def test_exit_while_containerd_is_down_is_reported_after(self):
        cid = self.cid("dn")
        pid, _ = self.start_task(cid, "sleep", "3600")
        before = self.shim_pids()
        self.stop_events()
        self.stop_containerd()
        os.kill(pid, signal.SIGKILL)
        wait_for("the container to exit", lambda: start_time(pid) is None)
        self.start_containerd()
        self.start_events()
        self.assertEqual(self.shim_pids(), before, "the shim changed across the restart")
        self.assertEqual(self.tasks().get(cid), (pid, "STOPPED"))
        self.assertEqual(self.delete_status(cid), 137)  # Wait's durable exit
        self.remove(cid)

    # -- a shim that dies: containerd runs `<shim> delete` for each of its tasks --------------

    def crash_shim(self, shim, cids, keep_socket=False):
        os.kill(shim, signal.SIGKILL)
        for cid in cids:  # containerd sees the connection close and cleans the task up
            wait_for(f"{cid}'s cleanup after the crash", lambda: cid not in self.tasks()
                     and any(t == "/tasks/delete" for t, _ in self.task_events(cid)))
        if is_runc() and not keep_socket:
            # RUNC_DIFFERS: runc's shim leaves its socket after a crash (only its Shutdown
            # removes it); podshim's `delete` must not leave a dead server's socket behind.
            for cid in cids:
                address = self.shim_address_seen[cid]
                if address.startswith("unix://") and os.path.exists(address[7:]):
                    os.unlink(address[7:])

    def last_delete_status(self, cid):
        deletes = [e for t, e in self.task_events(cid) if t == "/tasks/delete"]
        return deletes[-1].get("exit_status", 0)

    def test_shim_crash_kills_and_reports_its_running_tasks(self):
        group = [self.cid(f"c{i}") for i in range(2)]
        shim = {self.start_task(cid, "sleep", "3600", group="p1")[1] for cid in group}.pop()
        self.crash_shim(shim, group, keep_socket=True)
        for cid in group:
            self.assertEqual(self.last_delete_status(cid), 137)
        self.remove(*group)
        # The pod starts again: the same group, so the same socket path, where the dead shim's
        # socket may still be; the new shim must replace it (and remove it when done).
        _, new_shim = self.start_task(self.cid("c2"), "sleep", "3600", group="p1")
        self.assertNotEqual(new_shim, shim)

    def test_shim_crash_after_an_exit_reports_the_real_status(self):
        cid = self.cid("cx")
        _, shim = self.start_task(cid, "sh", "-c", "sleep 1; exit 5")
        self.wait_stopped(cid)
        self.crash_shim(shim, [cid])
        # RUNC_DIFFERS: runc's shim keeps exits in memory only, so its `delete` after a crash
        # says 137; podshim's `delete` gives the exit it recorded (docs/containerd.md).
        self.assertEqual(self.last_delete_status(cid), 137 if is_runc() else 5)
        self.remove(cid)

    # -- pause, resume and metrics (Pause, Resume, Stats) --------------------------------------

    def topic_payloads(self, cid, topic):
        """The payloads of container cid's events on `topic`, in the order received."""
        out = []
        with open(self.events_file) as f:
            for line in f:
                fields = line.split(None, 6)
                if len(fields) == 7 and fields[4] == self.ns and fields[5] == topic:
                    payload = json.loads(fields[6])
                    if payload.get("container_id") == cid:
                        out.append(payload)
        return out

    def test_pause_and_resume(self):
        cid = self.cid("pz")
        self.start_task(cid, "sh", "-c", "while :; do sleep 0.05; done")
        self.ctr("task", "pause", cid, check=True)
        self.assertEqual(self.task_status(cid), "PAUSED")
        wait_for("/tasks/paused", lambda: self.topic_payloads(cid, "/tasks/paused"))
        paused = self.ctr("task", "pause", cid)
        self.assertNotEqual(paused.returncode, 0, "a second pause succeeded")
        self.ctr("task", "resume", cid, check=True)
        self.assertEqual(self.task_status(cid), "RUNNING")
        wait_for("/tasks/resumed", lambda: self.topic_payloads(cid, "/tasks/resumed"))
        # Paused again, then killed: SIGKILL reaches a frozen container.
        self.ctr("task", "pause", cid, check=True)
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    def test_metrics_have_cpu_and_memory(self):
        cid = self.cid("mt")
        self.start_task(cid, "sh", "-c",
                        "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 3600")
        table = self.ctr("task", "metrics", cid, check=True).stdout
        data = {}

        def counted():
            data.update(json.loads(self.ctr("task", "metrics", "--format", "json", cid,
                                            check=True).stdout))
            if is_runc():  # RUNC_DIFFERS: on a hybrid host runc's shim reads cgroup v1
                return (data.get("cpu") or {}).get("usage", {}).get("total", 0) > 0
            return (data.get("cpu") or {}).get("usage_usec", 0) > 10000

        wait_for("cpu usage in the task's metrics", counted)
        self.assertIn("memory", data)
        if not is_runc():
            self.assertIn("cpu.usage_usec", table)
            self.assertIn("memory.usage", table)
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    # -- (f) bad input -----------------------------------------------------------------------

    def test_bad_namespace_path_fails_and_the_group_goes_on(self):
        first = self.cid("b0")
        pid, shim = self.start_task(first, "sleep", "3600", group="p1")
        bad = self.cid("bx")
        p = self.ctr("run", "--rm", *self.run_args(), *self.group_args("p1"),
                     "--with-ns", "pid:/nonexistent", IMAGE, bad, "true")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent", p.stderr)
        self.assertEqual(self.tasks().get(first), (pid, "RUNNING"))
        self.assertNotIn(bad, self.tasks())
        self.assertFalse(os.path.exists(self.bundle(bad)))
        self.assertEqual(set(self.shim_pids()), {shim})
        _, shim_after = self.start_task(self.cid("b1"), "sleep", "3600", group="p1")
        self.assertEqual(shim_after, shim)

    def test_missing_program_fails_with_its_path(self):
        p = self.ctr("run", "--rm", *self.run_args(), IMAGE, self.cid("nx"), "/no/such/prog")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/no/such/prog", p.stderr)

    def test_refused_spec_option_names_the_field(self):
        # A whole spec (ctr run --config: no image, root.path absolute, nothing to mount) with a
        # namespace type no runtime knows.
        cid = self.cid("sp")
        config = json.loads(self.ctr("oci", "spec", check=True).stdout)
        config["root"] = {"path": f"{self.dir}/R", "readonly": True}
        config["process"]["args"] = ["true"]
        config["linux"]["cgroupsPath"] = f"/{self.ns}/{cid}"
        config["linux"]["namespaces"].append({"type": "nonsense"})
        spec = f"{self.dir}/bad-spec.json"
        with open(spec, "w") as f:
            json.dump(config, f)
        p = self.ctr("run", "--rm", *self.run_args(), "--config", spec, cid)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("nonsense", p.stderr)

    # -- (g) exec processes ------------------------------------------------------------------

    def exec_events(self, cid, exec_id):
        """The topics of exec_id's events (exec-added, exec-started, its exit), in order."""
        return [t for t, e in self.task_events(cid, EXEC_TOPICS)
                if e.get("exec_id", e.get("id")) == exec_id]

    def exec_cgroups(self, cid):
        """The podshim-exec-* cgroups left below the container's."""
        return [f"{root}/{self.ns}/{cid}/{name}" for root in cgroup_hierarchies()
                if os.path.isdir(f"{root}/{self.ns}/{cid}")
                for name in os.listdir(f"{root}/{self.ns}/{cid}")
                if name.startswith("podshim-exec-")]

    def test_exec_gives_its_output_exit_code_and_events(self):
        cid = self.cid("xe")
        self.start_task(cid, "sleep", "3600")
        p = self.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                     "echo out; echo err >&2; exit 7")
        self.assertEqual((p.returncode, p.stdout), (7, "out\n"), p.stderr)
        self.assertIn("err\n", p.stderr)
        wait_for("e1's exit event", lambda: "/tasks/exit" in self.exec_events(cid, "e1"))
        self.assertEqual(self.exec_events(cid, "e1"), list(EXEC_TOPICS))
        self.assertEqual(self.task_status(cid), "RUNNING")  # the container is untouched
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(self.delete_status(cid), 137)
        self.remove(cid)

    def test_exec_stdin_reaches_eof(self):  # ctr sends CloseIO at its stdin's EOF
        cid = self.cid("xi")
        self.start_task(cid, "sleep", "3600")
        p = self.ctr("task", "exec", "--exec-id", "e1", cid, "cat", stdin=None,
                     input="line one\nline two\n", timeout=20)
        self.assertEqual((p.returncode, p.stdout), (0, "line one\nline two\n"), p.stderr)
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.delete_status(cid)
        self.remove(cid)

    def test_what_an_exec_leaves_behind_goes_with_it(self):
        cid = self.cid("xl")
        pid, _ = self.start_task(cid, "sleep", "3600")
        p = self.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "sleep 100 & exit 0")
        self.assertEqual(p.returncode, 0, p.stderr)
        pids = self.ctr("task", "ps", cid, check=True).stdout.split()[2::2]
        if is_runc():
            # RUNC_DIFFERS: runc's shim leaves an exec's children in the container (here the
            # `sleep 100`, orphaned to the container's init) until the container goes.
            self.assertEqual(len(pids), 2, pids)
        else:
            self.assertEqual(pids, [str(pid)], "the exec's sleep outlived the exec")
            self.assertEqual(self.exec_cgroups(cid), [])
        self.ctr("task", "kill", "-a", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.delete_status(cid)
        self.remove(cid)

    def test_exec_t_gets_a_terminal(self):
        cid = self.cid("xt")
        self.start_task(cid, "sleep", "3600")
        argv = ["ctr", "--address", self.address, "-n", self.ns, "task", "exec", "-t",
                "--exec-id", "t1", cid, "sh"]
        status, out = run_in_pty(argv, "tty; echo ab''cd; exit 5\n")
        self.assertEqual(status, 5, out)
        self.assertIn("/dev/pts/", out)
        self.assertIn("abcd", out)
        self.assertEqual(self.exec_cgroups(cid), [])
        self.ctr("task", "kill", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.delete_status(cid)
        self.remove(cid)

    def test_exec_refusals(self):
        cid = self.cid("xr")
        self.start_task(cid, "sleep", "3600")
        p = self.ctr("task", "exec", "--exec-id", "e1", cid, "/no/such/prog")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/no/such/prog", p.stderr)
        # An exec id in use (e2 runs) is refused; the container goes on.
        running = subprocess.Popen(["ctr", "--address", self.address, "-n", self.ns, "task",
                                    "exec", "--exec-id", "e2", cid, "sleep", "100"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.addCleanup(running.wait)
        wait_for("e2 to start", lambda: "/tasks/exec-started" in self.exec_events(cid, "e2"))
        p = self.ctr("task", "exec", "--exec-id", "e2", cid, "true")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already exists", p.stderr)
        self.assertEqual(self.task_status(cid), "RUNNING")
        self.ctr("task", "kill", "-a", "-s", "SIGKILL", cid, check=True)
        self.wait_stopped(cid)
        self.assertEqual(running.wait(timeout=10), 137)
        self.delete_status(cid)
        self.remove(cid)


if __name__ == "__main__":
    def options(ap):
        ap.add_argument("--runtime", help=f"ctr's --runtime (default: the build's {SHIM_NAME};"
                        f" {RUNC} checks the harness against containerd's runc shim)")
        ap.add_argument("--require-shim", action="store_true",
                        help="fail, not skip, when the shim binary is missing")

    sys.exit(fx.run_main(sys.modules[__name__], options))
