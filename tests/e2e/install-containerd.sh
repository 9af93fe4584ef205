#!/bin/sh
# What tests/e2e/test_containerd.py needs: Debian's containerd (containerd, ctr, the runc v2
# shim; runc comes with it), the CNI plugins (a pod network), script(1) for a terminal, and
# grpcio + protobuf in .venv for the CRI client. Skips what is there. The suite starts its own containerd: none is started here,
# and the package's service is kept from starting while it installs (there is no systemd on
# the test machines, but a policy-rc.d also stops an init script).
set -eu
. "$(dirname "$0")/debian-packages.sh"
need_debian_packages install-containerd.sh containerd runc containernetworking-plugins iproute2 util-linux

cd "$(dirname "$0")/../.."

if ! .venv/bin/python -c "import grpc, google.protobuf.message_factory" 2>/dev/null; then
    echo "install-containerd.sh: installing grpcio and protobuf into .venv (CRI client)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check "grpcio>=1.50" \
        "protobuf>=4.22" >&2
fi
