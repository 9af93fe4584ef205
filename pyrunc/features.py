"""The runtime-spec "features" document: exactly what this pyrunc honours, built from the same
tables the config encoders use (so it cannot claim an option they would refuse)."""

from __future__ import annotations

import os

from pyrunc import SPEC_VERSION, __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]
# mount options the encoder knows besides its flag tables (pyrunc/linux/mounts.py)
EXTRA_MOUNT_OPTIONS = ["idmap", "ridmap", "tmpcopyup"]


def features() -> dict[str, Any]:
    from pyrunc.linux import capabilities, cgroups, mounts, namespaces

    options = sorted({*mounts.FLAGS, *mounts.PROPAGATION, *mounts.REC_ATTRS,
                      *EXTRA_MOUNT_OPTIONS})
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": HOOKS,
        "mountOptions": options,
        "linux": {
            "namespaces": sorted(namespaces.FLAGS),
            "capabilities": list(capabilities.CAPABILITIES),
            "cgroup": cgroups.features(),
            "seccomp": _seccomp(),
            "apparmor": {"enabled": os.path.isdir("/sys/kernel/security/apparmor")},
            "selinux": {"enabled": os.path.exists("/sys/fs/selinux/enforce")},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {
            "org.opencontainers.pyrunc.version": __version__,
            **_libseccomp_annotation(),
        },
    }


def _seccomp() -> dict[str, Any]:
    from pyrunc.linux import seccomp

    try:
        supported = seccomp.supported_flags()
    except OSError:  # no libseccomp.so.2 here: seccomp cannot be honoured
        return {"enabled": False}
    return {
        "enabled": True,
        "actions": sorted(seccomp.ACTIONS),
        "operators": sorted(seccomp.OPERATORS),
        "archs": sorted(seccomp.ARCHES),
        "knownFlags": sorted(seccomp.FLAGS),
        "supportedFlags": sorted(supported),
    }


def _libseccomp_annotation() -> dict[str, str]:
    from pyrunc.linux import seccomp

    try:
        return {"io.github.seccomp.libseccomp.version": seccomp.library_version()}
    except OSError:
        return {}
