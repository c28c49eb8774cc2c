#!/usr/bin/env bash
# Installs what is missing, builds podshim, then runs a busybox OCI bundle with `podshim oci run`
# and shows what happened. (The pod demo replaces this once `podshim run` lands.)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target podshim >/dev/null
export PODSHIM="$PWD/build/src/podshim"

work=$(mktemp -d /tmp/podshim-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/make-bundle.sh "$work/bundle" sh -c 'echo "hello from $(hostname), pid $$"; id; ls /; exit 3' >/dev/null
echo "+ podshim oci run --bundle $work/bundle demo"
set +e
"$PODSHIM" oci --root "$work/state" run --bundle "$work/bundle" "demo-$$"
status=$?
set -e
echo "container exited with status $status (expected 3)"
