#!/usr/bin/env bash
# Does `podshim run` grow with every exec? (docs/benchmarks.md) A pod of one long-running busybox
# app; tests/bench/exec_rss_bench sends WARMUP (default 100) `exec` requests running `true` in
# the app over ONE control-socket connection, reads the shim's VmRSS / RssAnon / fd count / CPU
# time from /proc/<shim pid>, then sends COUNT (default 10000) more, one after another, reading
# /proc again at 1k, 2k, 5k and 10k. Prints the round trip per exec (mean, p50, p99) and the
# growth. Needs root. Builds the targets `podshim` and `exec_rss_bench` in BUILD (default
# build/); PODSHIM overrides the shim binary. Works in a temp dir it removes. SECCOMP=1 gives the
# bundle a realistic linux.seccomp (defaultAction SCMP_ACT_ERRNO, an allow list of ~300 syscalls
# like Docker's default profile), so what an exec costs with a profile shows.
# Usage: scripts/bench-exec.sh     env: BUILD, PODSHIM, COUNT, WARMUP, SECCOMP
set -euo pipefail

count=${COUNT:-10000}
warmup=${WARMUP:-100}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
build=${BUILD:-$repo/build}
cgroup_parent="podshim-bench"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench-exec: needs root (namespaces, mounts, cgroups)" >&2
  exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "bench-exec: configuring $build"
  cmake -S "$repo" -B "$build" >/dev/null
fi
targets=(exec_rss_bench)
[ -z "${PODSHIM:-}" ] && targets+=(podshim)
echo "bench-exec: building ${targets[*]} in $build"
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >/dev/null
podshim=${PODSHIM:-$build/src/podshim}
bench=$build/tests/exec_rss_bench
for b in "$podshim" "$bench"; do
  if [ ! -x "$b" ]; then
    echo "bench-exec: $b is not an executable" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/podshim-benchexec.XXXXXX)
shim_pid=""
cleanup() {
  if [ -n "$shim_pid" ] && kill -0 "$shim_pid" 2>/dev/null; then
    kill -TERM "$shim_pid" 2>/dev/null || true
    sleep 0.2
    kill -INT "$shim_pid" 2>/dev/null || true # a second signal: the shim SIGKILLs its pod
    wait "$shim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

PODSHIM=$podshim "$here/make-bundle.sh" "$work/bundle" >/dev/null
if [ "${SECCOMP:-0}" = 1 ]; then
  # Names libseccomp does not know on this architecture are skipped by podshim, as by runc.
  python3 - "$work/bundle/config.json" <<'PY'
import json, sys
allow = """accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_getres clock_gettime clock_nanosleep close close_range connect copy_file_range
creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2
fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchownat fcntl fdatasync
fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs fsync ftruncate futex
futex_waitv futimesat get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid
geteuid getgid getgroups getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
getresgid getresuid getrlimit getrusage getsid getsockname getsockopt gettid gettimeofday getuid
getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy
io_getevents io_pgetevents io_setup io_submit io_uring_enter io_uring_register io_uring_setup ioctl
ioprio_get ioprio_set ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self
lchown lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat madvise
membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap
mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl
msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open
openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect
poll ppoll prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pwrite64 pwritev
pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo
sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop send sendfile
sendmmsg sendmsg sendto set_robust_list set_thread_area set_tid_address setfsgid setfsuid setgid
setgroups setitimer setpgid setpriority setregid setresgid setresuid setreuid setrlimit setsid
setsockopt setuid setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
sigreturn socket socketcall socketpair splice stat statfs statx symlink symlinkat sync
sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_settime timerfd_create timerfd_gettime timerfd_settime times tkill truncate
umask uname unlink unlinkat utime utimensat utimes vfork vmsplice wait4 waitid waitpid write writev
arch_prctl modify_ldt clone clone3 chroot personality setns unshare""".split()
path = sys.argv[1]
spec = json.load(open(path))
spec.setdefault("linux", {})["seccomp"] = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": allow, "action": "SCMP_ACT_ALLOW"}]}
json.dump(spec, open(path, "w"), indent=2)
print(f"bench-exec: linux.seccomp with {len(allow)} allowed syscalls", file=sys.stderr)
PY
fi

cat >"$work/pod.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: bench-exec}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    bundle: bundle
    command: ["sh", "-c", "trap \"exit 0\" TERM; sleep 3600 & wait"]
EOF
"$podshim" validate "$work/pod.yaml" >/dev/null

state=$work/state
"$podshim" run --state-dir "$state" --cgroup-parent "$cgroup_parent" --log-level=warn \
  "$work/pod.yaml" </dev/null >/dev/null 2>"$work/shim.err" &
shim_pid=$!
for _ in $(seq 1 2000); do
  [ -S "$state/podshim.sock" ] && grep -qF '"type":"ContainerStarted"' "$state/events.jsonl" \
    2>/dev/null && break
  kill -0 "$shim_pid" 2>/dev/null || break
  sleep 0.01
done
if ! grep -qF '"type":"ContainerStarted"' "$state/events.jsonl" 2>/dev/null; then
  echo "bench-exec: the app did not start; shim stderr:" >&2
  cat "$work/shim.err" >&2
  exit 1
fi
events_before=$(wc -l <"$state/events.jsonl")

echo "bench-exec: $podshim (pid $shim_pid); $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$warmup warm-up + $count execs of \`true\` over one connection; SECCOMP=${SECCOMP:-0}"
"$bench" "$state/podshim.sock" "$shim_pid" "$count" "$warmup" app | tee "$work/out.txt"
threads=$(awk '/^Threads/ {print $2}' /proc/"$shim_pid"/status)
events_after=$(wc -l <"$state/events.jsonl")
# Nothing of the execs may be left running in the pod (the app's sh and sleep only).
left=$(find /sys/fs/cgroup/unified/"$cgroup_parent"/pod-bench-exec -name cgroup.procs \
  -exec cat {} + 2>/dev/null | wc -l)

rc=0
kill -TERM "$shim_pid"
wait "$shim_pid" || rc=$?
shim_pid=""
if [ "$rc" -ne 143 ]; then
  echo "bench-exec: podshim run exited $rc after SIGTERM, expected 143; stderr:" >&2
  cat "$work/shim.err" >&2
  exit 1
fi

# The table: one row per /proc sample.
echo
printf '%-14s%-12s%-12s%-12s%-8s%s\n' "execs" "VmRSS kB" "RssAnon kB" "VmHWM kB" "fds" "shim CPU s"
awk '/^(start|warm|at) / {
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  label = $1 == "start" ? "before any" : $1 == "warm" ? "after warm-up" : v["execs"]
  printf "%-14s%-12s%-12s%-12s%-8s%s\n", label,
    v["rss_kb"], v["anon_kb"], v["hwm_kb"], v["fds"], v["cpu_s"]
}' "$work/out.txt"
grep '^result ' "$work/out.txt" | cut -d' ' -f2- | tr ' ' '\n' | sed 's/^/  /'
echo "  shim threads at the end: $threads; events written during the execs:" \
  "$((events_after - events_before)); processes in the pod cgroup after the execs: $left"
