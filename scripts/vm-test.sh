#!/usr/bin/env bash
# Boots Debian's kernel in qemu (software emulation) with an initramfs holding busybox, podshim,
# the VM test binary and their shared libraries; mounts cgroup2 with every controller, runs the
# tests as PID 1's child and powers off. The guest's verdict comes back over the serial console.
#
# Usage: scripts/vm-test.sh [--build DIR] [--timeout SECONDS] [--keep] [-- GTEST-ARGS...]
#   e.g. scripts/vm-test.sh -- --gtest_filter='VmCgroup*'
# The serial log is kept at $BUILD/vm/serial.log. Exit: the test binary's status; 124 on timeout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
timeout_s=540
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --build=*) build=$(cd "${1#*=}" && pwd); shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    *) echo "vm-test: unknown option $1" >&2; exit 2 ;;
  esac
done
gtest_args=("$@")

"$top/scripts/setup.sh" --vm

kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$kernel" ] || [ ! -r "$kernel" ]; then
  echo "vm-test: no kernel in /boot (package linux-image-amd64); cannot boot the VM" >&2
  exit 1
fi
podshim="$build/src/podshim"
tests_bin="$build/tests/vm_tests"
for f in "$podshim" "$tests_bin"; do
  [ -x "$f" ] || { echo "vm-test: $f is missing: build the project first" >&2; exit 1; }
done

work="$build/vm"
rm -rf "$work/root"
mkdir -p "$work/root"
root="$work/root"
log="$work/serial.log"

# The guest's filesystem: busybox applets, our binaries and every shared library they load.
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,newroot,podshim}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$podshim" "$root/podshim/podshim"
cp "$tests_bin" "$root/podshim/vm_tests"
[ -x "$build/src/podshim-keeper" ] && cp "$build/src/podshim-keeper" "$root/podshim/podshim-keeper"
[ -x "$build/tests/test_proc" ] && cp "$build/tests/test_proc" "$root/podshim/test_proc"
# The containerd shim (linked statically; its OOM test plays containerd inside the guest).
shim="$build/src/containerd-shim-podshim-v2"
[ -x "$shim" ] && cp "$shim" "$root/podshim/containerd-shim-podshim-v2" && copy_shim_libs=1
# The shared libraries a binary needs; none for a static one (podshim and the containerd shim
# are, unless built with sanitizers or without the static libraries).
copy_libs() {
  local libs
  libs=$(ldd "$1" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}') || return 0
  for lib in $libs; do
    [ -e "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_libs "$podshim"
copy_libs "$tests_bin"
[ "${copy_shim_libs:-0}" = 1 ] && copy_libs "$shim"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# PID 1: move to a tmpfs root (pivot_root, which containers need, refuses the initramfs rootfs),
# mount the kernel filesystems, run the tests, report, power off.
cat >"$root/init" <<'INIT'
#!/bin/sh
if [ "$$" = 1 ] && [ -z "$PODSHIM_STAGE2" ]; then
  mount -t proc proc /proc
  mount -t tmpfs -o size=75% tmpfs /newroot
  for d in /*; do
    case "$d" in /newroot|/proc) ;; *) cp -a "$d" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc
  umount /proc
  export PODSHIM_STAGE2=1
  exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /sys/fs/cgroup
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# What systemd does on a cgroup v2 host: every controller is delegated below the root (podshim
# enables controllers from its --cgroup-parent down, never in the root cgroup).
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
ip link set lo up 2>/dev/null
echo "podshim-vm: kernel $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)," \
  "delegated: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
args=$(sed -n 's/.*podshim.args=\([^ ]*\).*/\1/p' /proc/cmdline | base64 -d 2>/dev/null)
cd /podshim
export PODSHIM_BINARY=/podshim/podshim PODSHIM_TEST_PROC=/podshim/test_proc PODSHIM_IN_VM=1
export PODSHIM_SHIM_BINARY=/podshim/containerd-shim-podshim-v2
eval "set -- $args"
/podshim/vm_tests --gtest_color=no "$@"
echo "podshim-vm: exit status $?"
sync
poweroff -f
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

quoted=""
for a in "${gtest_args[@]}"; do quoted+=" $(printf '%q' "$a")"; done
encoded=$(printf '%s' "$quoted" | base64 -w0)
echo "vm-test: booting $(basename "$kernel") under TCG (serial log: $log)"
start=$(date +%s)
set +e
timeout --foreground -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 \
  -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3 podshim.args=$encoded" \
  </dev/null >"$log" 2>&1
qemu_status=$?
set -e
elapsed=$(( $(date +%s) - start ))
# Kernel messages ("[    1.234] ...") are left out; the gtest output is shown.
tr -d '\r' <"$log" | grep -av '^\[ *[0-9]*\.[0-9]*\]' | sed -n '/podshim-vm: kernel/,$p'
[ "$keep" = 1 ] || rm -rf "$root"
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
  echo "vm-test: the guest did not finish within ${timeout_s}s (hung?); see $log" >&2
  exit 124
fi
status=$(tr -d '\r' <"$log" | sed -n 's/^podshim-vm: exit status \([0-9]*\).*/\1/p' | tail -n 1)
if [ -z "$status" ]; then
  echo "vm-test: the guest never reported a status (qemu exit $qemu_status); see $log" >&2
  exit 1
fi
echo "vm-test: guest finished in ${elapsed}s with status $status"
exit "$status"
