"""delete and the cgroups a container makes inside its own."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from helpers import Runtime, busybox_config


def _name() -> str:
    """Unique per test run: another run may use the same cgroups at the same time."""
    return uuid.uuid4().hex[:10]


def test_delete_removes_cgroups_made_inside_the_container(runtime: Runtime,
                                                          make_bundle: Any) -> None:
    """A container with a writable cgroup2 mount in its cgroup namespace (a nested systemd,
    a nested runtime) makes cgroups of its own inside its cgroup: delete removes them, deepest
    first, and then its own (a cgroup with children cannot be removed)."""
    name = f"sd-{_name()}"
    config = busybox_config(["sleep", "1000"])
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup2",
                             "source": "cgroup2", "options": ["nosuid", "noexec", "nodev"]})
    created = runtime("create", "-b", str(make_bundle(config=config)), name)
    assert created.returncode == 0, created.stderr
    directory = json.loads((runtime.root / name / "state.json").read_text()
                           )["cgroup"]["paths"][""]
    assert runtime("start", name).returncode == 0
    made = runtime("exec", name, "mkdir", "-p", "/sys/fs/cgroup/a/b", "/sys/fs/cgroup/c")
    assert made.returncode == 0, made.stderr
    assert os.path.isdir(os.path.join(directory, "a", "b"))
    deleted = runtime("delete", "--force", name)
    assert deleted.returncode == 0, deleted.stderr
    assert not os.path.exists(directory)
