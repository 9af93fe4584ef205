#!/bin/sh
# What tests/e2e/test_containerd.py needs: Debian's containerd (containerd, ctr, the runc v2
# shim; runc comes with it), the CNI plugins (a pod network), script(1) for a terminal, and
# grpcio + protobuf in .venv for the CRI client. Skips what is there. The suite starts its own containerd: none is started here,
# and the package's service is kept from starting while it installs (there is no systemd on
# the test machines, but a policy-rc.d also stops an init script).
set -eu
cd "$(dirname "$0")/../.."

need=""
for pkg in containerd runc containernetworking-plugins iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "install-containerd.sh: installing Debian packages:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
    fi
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >&2 || { [ -z "$policy" ] || rm -f "$policy"; exit 1; }
    [ -z "$policy" ] || rm -f "$policy"
fi

if ! .venv/bin/python -c "import grpc, google.protobuf.message_factory" 2>/dev/null; then
    echo "install-containerd.sh: installing grpcio and protobuf into .venv (CRI client)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check "grpcio>=1.50" \
        "protobuf>=4.22" >&2
fi
