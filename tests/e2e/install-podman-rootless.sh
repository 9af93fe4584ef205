#!/bin/sh
# What tests/e2e/test_podman_rootless.py needs, from Debian (12: podman 4.3.1, conmon 2.1.6):
# podman and conmon; uidmap (newuidmap/newgidmap, which rootless podman and pyrunc use to map
# /etc/subuid ranges); catatonit, rootless podman's pause process; runc for
# `pytest --runtime runc`. useradd (passwd) and setpriv (util-linux) are essential packages.
# Skips what is there.
set -eu
need=""
for pkg in podman conmon uidmap catatonit runc tar; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "install-podman-rootless.sh: installing Debian packages:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >&2
fi
