#!/bin/sh
# Set up everything pyrunc needs on a fresh Debian machine (as root): Debian packages, a
# virtual environment in .venv with pyrunc installed (compiling its C parts), and the
# busybox rootfs of bundles/busybox. Safe to run again: each step is skipped when done.
set -eu
cd "$(dirname "$0")/.."

need=""
for pkg in gcc libc6-dev python3-dev python3-venv busybox-static libseccomp2 iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
    echo "install.sh: installing Debian packages:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >&2
fi

# The distribution's python3 unless PYTHON says otherwise: Debian builds it with PGO and LTO,
# and every pyrunc command is a fresh interpreter; it starts ~2 ms sooner and runs pyrunc's
# code 10-20% faster than an unoptimized build such as pyenv's default (docs/performance.md).
python=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv >&2
    # nothing here needs setuptools at run time (pip builds pyrunc in an isolated environment),
    # and its distutils-precedence.pth costs every Python process in .venv ~0.6 ms
    .venv/bin/python -m pip uninstall -q -y setuptools >&2 2>/dev/null || true
fi
# Reinstall when the sources changed (a hash of everything that goes into the build).
stamp=$(cat pyproject.toml setup.py $(find pyrunc native -type f \( -name '*.py' -o -name '*.c' \
    -o -name '*.h' -o -name '*.json' -o -name '*.cdef' -o -path 'pyrunc/cli/bin/*' \) ! -path 'pyrunc/cli/_table.py' ! -path 'pyrunc/config/_compiled.py' | sort) \
    | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.pyrunc-stamp 2>/dev/null)" != "$stamp" ]; then
    echo "install.sh: installing pyrunc into .venv" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check ".[dev]" >&2
    echo "$stamp" > .venv/.pyrunc-stamp
fi

if [ ! -x bundles/busybox/rootfs/bin/busybox ]; then
    echo "install.sh: building bundles/busybox/rootfs" >&2
    sh bundles/build-rootfs.sh bundles/busybox/rootfs >&2
fi
