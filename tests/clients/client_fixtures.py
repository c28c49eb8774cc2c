"""Helpers shared by the tiers whose tests drive podshim through real clients.

tests/clients/clients_test.py (podman and containerd's runc shim running podshim-runc) and
tests/containerd/containerd_test.py (containerd running containerd-shim-podshim-v2) both use
them: process, mount and cgroup scans, a busybox-static image, a private containerd in a short
temp dir with its own root, state and sockets, and the leftover checks every test ends with.
"""
import argparse
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MK_IMAGE = os.path.join(SOURCE, "scripts", "mk-oci-image.py")
CGROUP = "/sys/fs/cgroup"
IMAGE = "localhost/busybox:local"
SKIPPED = []  # ids of the tests that skipped (a missing package): all of them -> exit 77
BUILD = ""  # the build dir, set by run_main()


def run(argv, timeout=60, check=False, **kw):
    """Runs argv, returns CompletedProcess with text stdout/stderr."""
    p = subprocess.run(argv, stdin=kw.pop("stdin", subprocess.DEVNULL), capture_output=True,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv} exited {p.returncode}\nstdout: {p.stdout}\n"
                             f"stderr: {p.stderr}")
    return p


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def missing_packages(*binaries):
    return [b for b in binaries if shutil.which(b) is None]


def make_rootfs(root):
    """A busybox-static root: /bin/busybox and its applets as symlinks (as `--install -s`)."""
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(shutil.which("busybox"), os.path.join(root, "bin", "busybox"))
    for applet in run(["busybox", "--list-full"], check=True).stdout.split():
        path = os.path.join(root, applet)
        if not os.path.lexists(path):
            os.symlink("/bin/busybox", path)


def unescape_mount(path):
    return path.encode().decode("unicode_escape")  # mountinfo's \040 etc.


def mounts_under(prefix):
    with open("/proc/self/mountinfo") as f:
        points = [unescape_mount(line.split()[4]) for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def cgroup_hierarchies():
    """Every mounted hierarchy root: the v1 ones and cgroup2 (unified on a hybrid host)."""
    roots = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                roots.append(unescape_mount(fields[4]))
    return roots


def cgroup2_root():
    """/sys/fs/cgroup/unified on a hybrid host, else /sys/fs/cgroup."""
    unified = os.path.join(CGROUP, "unified")
    return unified if os.path.isdir(unified) else CGROUP


def cgroups_named(fragment):
    """Cgroup dirs (in any hierarchy) whose name contains fragment."""
    found = []
    for root in cgroup_hierarchies():
        for top, dirs, _ in os.walk(root):
            found += [os.path.join(top, d) for d in dirs if fragment in d]
    return found


def v2_cgroup_of(pid):
    """The cgroup2 directory of pid (its `0::` line), or None."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return cgroup2_root() + line.strip()[3:]
    return None


def read_proc(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def shim_servers(exes, name, marker):
    """{pid: start time} of the live shim servers whose executable is one of exes (real paths)
    or whose argv[0] is called name, with marker (a private containerd's dir) in their command
    line (-address) or environment (TTRPC_ADDRESS). containerd's `<shim> ... delete` cleanups
    are not servers and are left out."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.path.realpath(f"/proc/{pid}/exe")
        except OSError:
            continue
        cmdline = read_proc(pid, "cmdline")
        argv = cmdline.decode(errors="replace").split("\0")
        if exe not in exes and os.path.basename(argv[0]) != name:
            continue
        if "delete" in argv[-3:]:
            continue
        if marker.encode() in cmdline or marker.encode() in read_proc(pid, "environ"):
            t = start_time(pid)
            if t:
                found[int(pid)] = t
    return found


def processes_mentioning(text, environ=False):
    """Live processes whose command line (or, with environ, environment) contains text."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid() or start_time(pid) is None:
            continue
        if text.encode() in read_proc(pid, "cmdline") or (
                environ and text.encode() in read_proc(pid, "environ")):
            pids.append(int(pid))
    return pids


def proc_stat(pid):
    """Fields of /proc/PID/stat after the command name (state first), or None."""
    stat = read_proc(pid, "stat").decode(errors="replace")
    return stat.rsplit(")", 1)[1].split() if ")" in stat else None


def start_time(pid):
    """Field 22 of /proc/PID/stat (so a reused pid is not mistaken for ours), or None when the
    process is gone or a zombie: this host's PID 1 reaps orphans late, so an exited shim or
    container can stay a zombie for seconds after it is done."""
    fields = proc_stat(pid)
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def parent_pid(pid):
    fields = proc_stat(pid)
    return int(fields[1]) if fields else None


def run_in_pty(argv, lines, prompt="# ", timeout=30.0):
    """Runs argv on a new pseudo-terminal (its controlling tty), types `lines` (if any) once
    `prompt` appears, returns (exit status, everything it printed)."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    typed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if lines and not typed and prompt.encode() in out:
                os.write(master, lines.encode())
                typed = True
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed its side
                    break
                if not chunk:
                    break
                out += chunk
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


class ClientTest(unittest.TestCase):
    """A short private temp dir, the container pids seen, and leftover checks."""

    PACKAGES = ()

    def setUp(self):
        missing = missing_packages(*self.PACKAGES)
        if missing:
            self.skip_because(f"not installed: {', '.join(missing)} "
                              "(scripts/setup.sh installs them)")
        self.dir = tempfile.mkdtemp(prefix="pc", dir="/tmp")  # short: unix socket paths
        self.tag = os.path.basename(self.dir).lower().replace("_", "")
        self.pids = {}  # container process pid -> start time
        self.created = []  # paths outside self.dir that did not exist before the test
        self.addCleanup(self.remove_dir)

    def skip_because(self, reason):
        SKIPPED.append(self.id())
        self.skipTest(reason)

    def remember_pid(self, pid):
        self.pids[pid] = start_time(pid)

    def note_if_new(self, path):
        if not os.path.exists(path):
            self.created.append(path)

    def remove_created(self):
        for path in sorted(self.created, key=len, reverse=True):
            if path.endswith("/cache"):  # podman's blob-info cache: a directory of files
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.isdir(path) and not os.path.islink(path):
                try:
                    os.rmdir(path)  # only when empty: another user may have come meanwhile
                except OSError:
                    pass
            elif os.path.lexists(path):
                os.unlink(path)

    def remove_dir(self):
        for point in sorted(mounts_under(self.dir), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def assert_nothing_left(self, ids, own_mounts=()):
        """No container process, mount under our dir (but the client's `own_mounts`) or cgroup
        of `ids`."""
        wait_for("the containers' processes to exit",
                 lambda: not [p for p, t in self.pids.items() if t and start_time(p) == t])
        for cid in ids:
            self.assertEqual(cgroups_named(cid), [], f"cgroups of {cid} left")
        left = [m for m in mounts_under(self.dir) if m not in own_mounts]
        self.assertEqual(left, [], "mounts left")


class ContainerdFixture(ClientTest):
    """A private containerd in self.dir (root, state, sockets; no CRI) with the busybox image
    imported into the namespace self.ns. Subclasses give `run_args()` (how `ctr run` picks the
    runtime) and may extend `check_task_leftovers()`; with CRI they set NAMESPACE (the CRI
    plugin's is k8s.io) and give `cri_config()` (the plugin's TOML tables: the plugin is on)
    and `containerd_env()`."""

    PACKAGES = ("containerd", "ctr", "busybox")
    NAMESPACE = None  # None: the test's own tag

    def cri_config(self):
        """TOML of [plugins."io.containerd.grpc.v1.cri"]; empty: the CRI plugin is off."""
        return ""

    def containerd_env(self):
        """containerd's environment (None: ours), e.g. a PATH where it finds a shim."""
        return None

    def setUp(self):
        super().setUp()
        d = self.dir
        for path in ("/run/containerd", "/run/containerd/s", "/run/containerd/fifo",
                     "/run/containerd/runc"):
            self.note_if_new(path)
        self.ns = self.NAMESPACE or self.tag
        self.note_if_new(f"/run/containerd/runc/{self.ns}")  # runc's default --root
        for root in cgroup_hierarchies():  # cgroupsPath /<namespace>/<id>: the parent is ours
            self.note_if_new(os.path.join(root, self.ns))
        self.address = f"{d}/c.sock"
        self.config = f"{d}/config.toml"
        with open(self.config, "w") as f:
            cri = self.cri_config()
            f.write(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                    + ('' if cri else 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
                    + f'[grpc]\n  address = "{self.address}"\n'
                    f'[ttrpc]\n  address = "{self.address}.ttrpc"\n' + cri)
        self.containerd = None
        self.addCleanup(self.clean_containerd)
        self.start_containerd()
        make_rootfs(f"{d}/R")
        run([sys.executable, MK_IMAGE, f"{d}/R", f"{d}/bb.tar", IMAGE, "sh"], check=True)
        self.ctr("image", "import", f"{d}/bb.tar", check=True)

    def start_containerd(self):
        """Starts containerd on self.config (again after stop_containerd), returns once it
        answers."""
        with open(f"{self.dir}/containerd.log", "a") as log:
            self.containerd = subprocess.Popen(["containerd", "--config", self.config],
                                               stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                               env=self.containerd_env())

        def answers():
            if self.containerd.poll() is not None:
                raise AssertionError(f"containerd exited {self.containerd.returncode}; see "
                                     f"{self.dir}/containerd.log")
            return self.ctr("version", timeout=10).returncode == 0

        wait_for("containerd to answer", answers)

    def stop_containerd(self):
        """SIGTERM to our containerd (by pid), SIGKILL after 10 s."""
        if self.containerd is None or self.containerd.poll() is not None:
            return
        self.containerd.terminate()
        try:
            self.containerd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.containerd.kill()
            self.containerd.wait()

    def ctr(self, *args, **kw):
        return run(["ctr", "--address", self.address, "-n", self.ns, *args], **kw)

    def run_args(self):
        raise NotImplementedError

    def run_detached(self, cid, *cmd, extra=()):
        self.ctr("run", "-d", *self.run_args(), *extra, IMAGE, cid, *cmd, check=True)
        pid = self.task_pid(cid)
        self.remember_pid(pid)
        return pid

    def tasks(self):
        """{id: (pid, STATUS)} from `ctr task ls`."""
        rows = self.ctr("task", "ls", "-q").stdout.split()
        out = {}
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] in rows:
                out[fields[0]] = (int(fields[1]), fields[2])
        return out

    def task_pid(self, cid):
        return self.tasks()[cid][0]

    def task_status(self, cid):
        return self.tasks()[cid][1]

    def check_task_leftovers(self, ids):
        """What must be gone once every task and container of the test is deleted, with
        containerd still running."""
        self.assert_nothing_left(ids)

    def clean_containerd(self):
        """Kills and deletes what the test left, checks that nothing is left, stops containerd,
        removes what containerd and its shims created outside self.dir."""
        try:
            if self.containerd is not None and self.containerd.poll() is None:
                ids = self.ctr("containers", "ls", "-q").stdout.split()
                for cid in self.tasks():
                    self.ctr("task", "kill", "-a", "-s", "SIGKILL", cid)
                    wait_for(f"task {cid} to stop",
                             lambda: self.tasks().get(cid, (0, "STOPPED"))[1] == "STOPPED")
                    self.ctr("task", "delete", cid)
                for cid in ids:
                    self.ctr("containers", "rm", cid)
                self.check_task_leftovers(ids)
        finally:
            self.stop_containerd()
            # A shim outlives containerd only if a task was left; it mentions our socket path.
            left = processes_mentioning(self.dir, environ=True)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            self.remove_created()
            self.assertEqual(left, [], "shim processes left")


def all_tests(module):
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    out = []

    def walk(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                walk(t)
            else:
                out.append(t.id().split(".", 1)[1])

    walk(suite)
    return out


def run_main(module, add_arguments=None):
    """The command line of a tier: --build DIR [--list | TEST...]; exit 77 when every test run
    skipped. add_arguments(parser) adds a tier's own options; returns the parsed args to it
    through module.ARGS."""
    global BUILD
    ap = argparse.ArgumentParser(description=module.__doc__.splitlines()[0])
    ap.add_argument("--build", required=False, default=os.path.join(SOURCE, "build"))
    ap.add_argument("--list", action="store_true", help="print the test names, one a line")
    ap.add_argument("tests", nargs="*", help="Class.test_name (default: all)")
    if add_arguments:
        add_arguments(ap)
    args = ap.parse_args()
    if args.list:
        print("\n".join(all_tests(module)))
        return 0
    BUILD = os.path.abspath(args.build)
    module.ARGS = args
    if os.geteuid() != 0:
        print(f"{os.path.basename(module.__file__)}: needs root", file=sys.stderr)
        return 1
    names = args.tests or all_tests(module)
    suite = unittest.defaultTestLoader.loadTestsFromNames(names, module)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    return 77 if SKIPPED and len(SKIPPED) == result.testsRun else 0
