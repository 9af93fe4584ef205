#!/bin/sh
# What tests/e2e/test_podman_rootless.py needs, from Debian (12: podman 4.3.1, conmon 2.1.6):
# podman and conmon; uidmap (newuidmap/newgidmap, which rootless podman and pyrunc use to map
# /etc/subuid ranges); catatonit, rootless podman's pause process; runc for
# `pytest --runtime runc`. useradd (passwd) and setpriv (util-linux) are essential packages.
# Skips what is there.
set -eu
. "$(dirname "$0")/debian-packages.sh"
need_debian_packages install-podman-rootless.sh podman conmon uidmap catatonit runc tar
