#!/bin/sh
# What tests/e2e/test_podman.py needs, from Debian (12: podman 4.3.1, conmon 2.1.6): podman and
# conmon; netavark (the network backend the suite configures; Debian's podman would settle for
# containernetworking-plugins) with iptables for its firewall rules; catatonit, the pause
# process of pods' infra containers; runc for `pytest --runtime runc`. Skips what is there.
set -eu
. "$(dirname "$0")/debian-packages.sh"
need_debian_packages install-podman.sh podman conmon netavark iptables catatonit runc tar
