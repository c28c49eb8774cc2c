#!/usr/bin/env bash
# Runtime-spec conformance, side by side: builds opencontainers/runtime-tools' validation suite
# (cmd/runtimetest and one TAP program per validation/*/ directory) and runs every program with
# RUNTIME set to runc, crun and podshim-runc. Prints a table of TAP results per runtime and the
# assertions podshim fails that runc passes, with their YAML diagnostics. Not run by CI. Needs root.
#   The suite's source is NOT in Debian: golang-github-opencontainers-runtime-tools-dev ships only
#   the library packages (generate, validate, specerror, ...), without validation/ and
#   cmd/runtimetest, and github.com/mndrix/tap-go is not packaged. Give a runtime-tools checkout:
#   with vendor/ it builds with -mod=vendor; without, in GOPATH mode against /usr/share/gocode.
#   crun refuses this host's hybrid cgroups: its programs run in a private mount namespace where
#   /sys/fs/cgroup is a cgroup2 mount, with --cgroup-manager=disabled (its cgroup tests fail).
# Usage: RUNTIME_TOOLS_SRC=DIR scripts/conformance.sh [RUNTIME...]   (default: runc crun podshim)
#   PODSHIM=path/to/podshim (default build/src/podshim; podshim-runc is a link to it beside it)
#   TESTS="create kill ..."  run only these validation programs
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
podshim=${PODSHIM:-$repo/build/src/podshim}
src=${RUNTIME_TOOLS_SRC:-}
runtimes=("$@")
[ ${#runtimes[@]} -eq 0 ] && runtimes=(runc crun podshim)

die() { echo "conformance: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
[ -x "$podshim" ] || die "$podshim not found; build podshim first or set PODSHIM"
if [ -z "$src" ] || [ ! -d "$src/validation" ] || [ ! -d "$src/cmd/runtimetest" ]; then
  die "set RUNTIME_TOOLS_SRC to an opencontainers/runtime-tools checkout (validation/ and" \
    "cmd/runtimetest/ are not in Debian's golang-github-opencontainers-runtime-tools-dev)"
fi
missing=()
for p in golang-go crun runc busybox-static python3; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y "${missing[@]}" >/dev/null || die "cannot install ${missing[*]}"
fi

work=$(mktemp -d /tmp/podshim-conformance.XXXXXX)
state=$(mktemp -d /run/podshim-conformance.XXXXXX)  # one --root per runtime, on tmpfs
cleanup() {
  # Containers first (by the ids the wrappers logged), then the cgroup directories that did not
  # exist before one of our `create`s (logged by the wrappers), deepest first; nothing else.
  local rt id
  for rt in "${runtimes[@]}"; do
    [ -f "$state/$rt.ids" ] || continue
    while read -r id; do
      "$state/$rt" delete --force "$id" >/dev/null 2>&1 || true
    done <"$state/$rt.ids"
  done
  if [ -f "$state/new-cgroups" ]; then
    sort -ru "$state/new-cgroups" | while read -r dir; do
      if [ -d "$dir" ]; then rmdir "$dir" 2>/dev/null || true; fi
    done
  fi
  rm -rf "$work" "$state"
}
trap cleanup EXIT

# The suite, built in a copy of the checkout (the programs run from its top directory, where
# they find ./runtimetest and ./rootfs-amd64.tar.gz). Static, as runtimetest runs in busybox.
cp -a "$src" "$work/rt"
export GOCACHE=$work/gocache  # nothing left in ~/.cache
build() {  # OUT PACKAGE
  if [ -d "$work/rt/vendor" ]; then
    (cd "$work/rt" && CGO_ENABLED=0 GO111MODULE=on GOFLAGS=-mod=vendor GOPROXY=off \
      nice go build -p 2 -o "$1" "./$2")
  else
    mkdir -p "$work/gopath/src/github.com/opencontainers"
    ln -sfn "$work/rt" "$work/gopath/src/github.com/opencontainers/runtime-tools"
    (cd "$work/gopath/src/github.com/opencontainers/runtime-tools" &&
      CGO_ENABLED=0 GO111MODULE=off GOPROXY=off GOPATH="$work/gopath:/usr/share/gocode" \
        nice go build -p 2 -o "$1" "./$2")
  fi
}
build "$work/rt/runtimetest" cmd/runtimetest
tests=()
for d in "$work"/rt/validation/*/; do
  name=$(basename "$d")
  [ "$name" = util ] && continue
  if [ -n "${TESTS:-}" ] && [[ " $TESTS " != *" $name "* ]]; then
    continue
  fi
  build "$work/rt/validation/$name.t" "validation/$name"
  tests+=("$name")
done

# The rootfs: busybox-static (make-bundle.sh), packed with its contents at the top, as the
# suite untars it into the bundle directory and uses root.path ".".
PODSHIM=$podshim "$here/make-bundle.sh" "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" -czf "$work/rt/rootfs-amd64.tar.gz" .

# Run before each `create`: logs the container id, and every cgroup directory its cgroupsPath
# (or /ID, runc's default) would add under a hierarchy where it does not exist yet.
cat >"$state/log-create.py" <<'EOF'
import glob, json, os, sys
state, rt, args = sys.argv[1], sys.argv[2], sys.argv[4:]
bundle, i = os.getcwd(), 0
while i < len(args):
    if args[i] in ("-b", "--bundle") and i + 1 < len(args):
        bundle = args[i + 1]
    elif args[i].startswith("--bundle="):
        bundle = args[i].split("=", 1)[1]
    i += 1
cid = args[-1] if args else ""
with open(os.path.join(state, rt + ".ids"), "a") as f:
    f.write(cid + "\n")
try:
    path = json.load(open(os.path.join(bundle, "config.json"))).get("linux", {}).get("cgroupsPath")
except (OSError, ValueError):
    path = None
parts = [p for p in (path or "/" + cid).split("/") if p and p not in (".", "..")]
roots = ["/sys/fs/cgroup"] + [d for d in glob.glob("/sys/fs/cgroup/*") if os.path.isdir(d)]
with open(os.path.join(state, "new-cgroups"), "a") as f:
    for root in roots:
        for n in range(1, len(parts) + 1):
            d = os.path.join(root, *parts[:n])
            if not os.path.exists(d):
                f.write(d + "\n")
EOF
# One wrapper per runtime: its own --root, and a log of the ids and cgroupsPaths it creates,
# for the clean-up. The suite runs $RUNTIME with the runc command line.
for rt in "${runtimes[@]}"; do
  case "$rt" in
    runc) cmd="/usr/sbin/runc --root $state/root-runc" ;;
    crun) cmd="/usr/bin/crun --cgroup-manager=disabled --root $state/root-crun" ;;
    podshim) cmd="$(dirname "$podshim")/podshim-runc --root $state/root-podshim" ;;
    *) die "unknown runtime $rt (runc, crun, podshim)" ;;
  esac
  cat >"$state/$rt" <<EOF
#!/bin/sh
[ "\$1" = create ] && python3 "$state/log-create.py" "$state" "$rt" "\$@"
exec $cmd "\$@"
EOF
  chmod 0755 "$state/$rt"
done

in_cgroup2_ns() {  # runs "$@" in a private mount namespace with /sys/fs/cgroup as cgroup2
  unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' \
    sh "$@"
}
for rt in "${runtimes[@]}"; do
  mkdir -p "$work/out/$rt"
  for t in "${tests[@]}"; do
    out=$work/out/$rt/$t.tap
    run=(timeout 120 env RUNTIME="$state/$rt" "./validation/$t.t")
    [ "$rt" = crun ] && run=(in_cgroup2_ns "${run[@]}")
    (cd "$work/rt" && "${run[@]}") >"$out" 2>"$out.err" || echo "$?" >"$out.rc"
  done
done

python3 - "$work/out" "${runtimes[@]}" <<'EOF'
import os, re, sys
out, runtimes = sys.argv[1], sys.argv[2:]
line_re = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$')

def parse(path):
    """The TAP assertions of one program: {description: (ok, skip, yaml-lines)}."""
    res, last = {}, None
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.match(line.rstrip("\n"))
            if m:
                desc = m.group(3)
                skip = "# SKIP" in desc.upper()
                desc = re.sub(r'\s*#\s*(SKIP|TODO).*$', '', desc, flags=re.I)
                key = desc
                n = 2
                while key in res:
                    key, n = f"{desc} ({n})", n + 1
                res[key] = [m.group(1) == "ok", skip, []]
                last = key
            elif last and line.startswith("  "):
                res[last][2].append(line.rstrip("\n"))
    return res

results = {}
for rt in runtimes:
    for name in sorted(os.listdir(os.path.join(out, rt))):
        if name.endswith(".tap"):
            t = name[:-4]
            tap = parse(os.path.join(out, rt, name))
            err = open(os.path.join(out, rt, name + ".err"), errors="replace").read().strip()
            results.setdefault(t, {})[rt] = (tap, err)

print(f"{'runtime':<10}{'programs':>9}{'all ok':>8}{'ok':>6}{'not ok':>8}{'skip':>6}{'no TAP':>8}")
for rt in runtimes:
    progs = clean = ok = bad = skip = empty = 0
    for t, per in results.items():
        tap, _ = per[rt]
        progs += 1
        if not tap:
            empty += 1
            continue
        o = sum(1 for v in tap.values() if v[0] and not v[1])
        s = sum(1 for v in tap.values() if v[1])
        b = sum(1 for v in tap.values() if not v[0])
        ok, skip, bad = ok + o, skip + s, bad + b
        clean += b == 0
    print(f"{rt:<10}{progs:>9}{clean:>8}{ok:>6}{bad:>8}{skip:>6}{empty:>8}")

if "podshim" in runtimes and "runc" in runtimes:
    print("\nassertions podshim fails that runc passes:")
    for t, per in sorted(results.items()):
        ptap, perr = per["podshim"]
        rtap, _ = per["runc"]
        if not ptap and rtap:
            first = perr.splitlines()[0] if perr else "no output"
            print(f"- {t}: no TAP output ({first})")
            continue
        for desc, (pok, _, yaml) in ptap.items():
            if not pok and rtap.get(desc, (False,))[0]:
                print(f"- {t}: {desc}")
                for y in yaml[:12]:
                    print(f"    {y}")
EOF
