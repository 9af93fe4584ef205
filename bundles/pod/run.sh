#!/bin/sh
# A two-container pod, the way Kubernetes runtimes build one: a "pause" container owns the
# network, IPC and UTS namespaces; an "app" container joins them by path
# (/proc/<pause pid>/ns/...), with its own pid and mount namespaces.
#   sh bundles/pod/run.sh [PYRUNC]     (default: .venv/bin/pyrunc of this repository)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pyrunc=${1:-$repo/.venv/bin/pyrunc}
work=$(mktemp -d)
root=$work/state
cleanup() {
    "$pyrunc" --root "$root" delete --force pod-app >/dev/null 2>&1 || true
    "$pyrunc" --root "$root" delete --force pod-pause >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/pause" "$work/app"
sed -e "s|@ROOTFS@|$repo/bundles/busybox/rootfs|" "$here/pause.json.in" > "$work/pause/config.json"
"$pyrunc" --root "$root" run -d -b "$work/pause" pod-pause </dev/null >/dev/null
pid=$("$pyrunc" --root "$root" state pod-pause | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
sed -e "s|@ROOTFS@|$repo/bundles/busybox/rootfs|" -e "s|@PID@|$pid|g" \
    "$here/app.json.in" > "$work/app/config.json"
echo "pause: net $(readlink /proc/"$pid"/ns/net) uts $(readlink /proc/"$pid"/ns/uts)"
"$pyrunc" --root "$root" run -b "$work/app" pod-app
