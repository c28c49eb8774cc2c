#!/usr/bin/env bash
# Installs the Debian packages podshim needs to build and test, skipping what is present.
# Usage: scripts/setup.sh [--vm] [--bench] [--fuzz] [EXTRA-PACKAGE...]
#   --vm     also the VM tier's packages (qemu, Debian's kernel)
#   --bench  also the benchmark peers (hyperfine, crun; runc is in the base list)
#   --fuzz   also clang 19, libFuzzer and llvm-symbolizer (scripts/fuzz.sh; clang 14 lacks std::expected)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libseccomp-dev libcap-dev libboost-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libyaml-dev libcli11-dev googletest libgtest-dev libgmock-dev libssl-dev
  protobuf-compiler libprotobuf-dev  # the containerd shim's messages (src/shim/proto, lite runtime)
  busybox-static iproute2 procps util-linux
  runc  # oci_runc_parity_test writes its bundle with `runc spec`
  python3  # scripts/check-layout.py (LayoutTest), the benchmarks' summaries
  containerd podman conmon catatonit  # the clients tier (tests/clients/): real clients of podshim-runc
  python3-grpcio python3-protobuf  # the containerd tier's CRI client (tests/containerd/cri); catatonit = its pause image
)
for arg in "$@"; do
  case "$arg" in
    --vm) packages+=(qemu-system-x86 linux-image-amd64 cpio) ;;
    --bench) packages+=(hyperfine crun) ;;
    --fuzz) packages+=(clang-19 libclang-rt-19-dev llvm-19) ;;
    *) packages+=("$arg") ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  # dpkg-query's one line, not `dpkg -s | grep -q`: with pipefail, grep leaving early made dpkg
  # die of SIGPIPE on a long entry (containerd's), which read as "missing" on every run.
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
