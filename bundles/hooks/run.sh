#!/bin/sh
# Run a container whose every hook logs its name, the status it was given on stdin and the
# namespace it ran in, to show when and where the runtime-spec runs each kind.
#   sh bundles/hooks/run.sh [PYRUNC]     (default: .venv/bin/pyrunc of this repository)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
pyrunc=${1:-$repo/.venv/bin/pyrunc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/rootfs-hooks"
# startContainer runs inside the container, after pivot_root: the hook script and its log
# are bind-mounted in at /run (createContainer still sees host paths: it runs before pivot).
cp "$here/log-hook.sh" "$work/rootfs-hooks/log-hook.sh"
: > "$work/rootfs-hooks/hooks.log"
sed -e "s|@ROOTFS@|$repo/bundles/busybox/rootfs|" -e "s|@WORK@|$work|g" \
    "$here/config.json.in" > "$work/config.json"
"$pyrunc" --root "$work/state" run -b "$work" hooks-demo
cat "$work/rootfs-hooks/hooks.log"
