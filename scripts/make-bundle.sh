#!/usr/bin/env bash
# Builds an OCI test bundle from busybox-static: DIR/rootfs (busybox with every applet linked,
# a minimal /etc/passwd and /etc/group, the usual mount points) and DIR/config.json written by
# `podshim oci spec` (podshim's own defaults) with ARGS as process.args (default: sh).
# Usage: scripts/make-bundle.sh DIR [ARGS...]
#   PODSHIM=path/to/podshim  the binary to write config.json with (default: build/src/podshim)
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $0 DIR [ARGS...]" >&2
  exit 2
fi
dir=$1
shift

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
podshim=${PODSHIM:-$repo/build/src/podshim}
if [ ! -x "$podshim" ]; then
  echo "make-bundle: $podshim not found; build podshim first or set PODSHIM" >&2
  exit 1
fi

# busybox-static installs /bin/busybox; it must be static to run in an empty rootfs.
busybox=/bin/busybox
is_static() { [ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1; }
if ! is_static; then
  "$here/setup.sh" busybox-static
fi
if ! is_static; then
  echo "make-bundle: $busybox is missing or dynamically linked; install busybox-static" >&2
  exit 1
fi

if [ -e "$dir/config.json" ]; then
  echo "make-bundle: $dir/config.json exists; remove it first" >&2
  exit 1
fi
rootfs=$dir/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,var,run}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
# Every applet a relative link to busybox, all made by one process (perl-base is essential in
# Debian): an `ln` per applet took ~1 s of CPU per bundle, and a CI run makes ~310 bundles.
"$rootfs/bin/busybox" --list | perl -e 'my $dir = shift;
  while (my $applet = <STDIN>) {
    chomp $applet;
    next if $applet eq "busybox";
    unlink "$dir/$applet";
    symlink("busybox", "$dir/$applet") or die "make-bundle: $dir/$applet: $!\n";
  }' "$rootfs/bin"

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

if [ $# -eq 0 ]; then
  "$podshim" oci spec --bundle "$dir"
else
  "$podshim" oci spec --bundle "$dir" -- "$@"
fi
