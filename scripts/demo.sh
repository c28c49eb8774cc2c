#!/usr/bin/env bash
# Installs what is missing, builds podshim, runs the example Job pod (a worker app with a
# log-shipper sidecar, examples/job-with-log-shipper.yaml) and shows what happened: the pod's
# effective resources, its event timeline, its status and the containers' CRI logs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target podshim >/dev/null
export PODSHIM="$repo/build/src/podshim"

work=$(mktemp -d /tmp/podshim-demo.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cp examples/job-with-log-shipper.yaml "$work/job.yaml"
for b in log-shipper worker; do
  scripts/make-bundle.sh "$work/bundles/$b" >/dev/null
done

echo "== podshim resources job.yaml"
"$PODSHIM" resources "$work/job.yaml"
echo
echo "== podshim run job.yaml"
set +e
"$PODSHIM" run --id "demo-$$" --state-dir "$work/state" "$work/job.yaml"
status=$?
set -e
echo "podshim run exited with $status (0: the pod Succeeded)"
echo
echo "== event timeline ($work/state/events.jsonl)"
# One line per event: time, type, container, then the event's own fields.
sed -E -e 's/^\{"time":"[0-9-]+T([0-9:.]{12})[0-9]*Z","pod":"[^"]*","type":"([A-Za-z]+)"/\1  \2/' \
  -e 's/,"container":"([^"]*)","role":"([^"]*)"/  \1 (\2)/' -e 's/[{}"]//g' -e 's/,/ /g' \
  "$work/state/events.jsonl"
echo
echo "== status.json (phase, then each container's name, exit code, reason, restarts)"
grep -E '"(name|phase|exitCode|reason|restartCount)"' "$work/state/status.json" | tr -d ' ,"' |
  paste -sd' ' | sed 's/ name:/\n  name:/g'
echo
for log in "$work"/state/logs/*/*.log; do
  echo "== log ${log#"$work"/state/logs/}"
  cat "$log"
done
exit "$status"
