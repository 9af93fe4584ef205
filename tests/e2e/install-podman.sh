#!/bin/sh
# What tests/e2e/test_podman.py needs, from Debian (12: podman 4.3.1, conmon 2.1.6): podman and
# conmon; netavark (the network backend the suite configures; Debian's podman would settle for
# containernetworking-plugins) with iptables for its firewall rules; catatonit, the pause
# process of pods' infra containers; runc for `pytest --runtime runc`. Skips what is there.
set -eu
need=""
for pkg in podman conmon netavark iptables catatonit runc tar; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "install-podman.sh: installing Debian packages:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >&2
fi
