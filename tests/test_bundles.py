"""The examples in bundles/ run as their READMEs say."""

from __future__ import annotations

import subprocess

import pytest
from helpers import REPO, pyrunc_cmd


def _script(name: str) -> subprocess.CompletedProcess[str]:
    cmd = pyrunc_cmd()
    if len(cmd) != 1:
        pytest.skip("needs the installed pyrunc script (sh bundles/install.sh)")
    return subprocess.run(["sh", str(REPO / "bundles" / name / "run.sh"), cmd[0]],
                          capture_output=True, text=True, timeout=60)


def test_hooks_example() -> None:
    proc = _script("hooks")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("container runs, mntns=")
    container_ns = lines[0].split("mntns=")[1]
    hooks = [line.split() for line in lines[1:]]
    assert [h[0] for h in hooks] == ["createRuntime", "createContainer", "startContainer",
                                     "poststart", "poststop"]
    assert [h[1] for h in hooks] == ["status=creating", "status=creating", "status=created",
                                     "status=running", "status=stopped"]
    in_container = {h[0] for h in hooks if h[2] == f"mntns={container_ns}"}
    assert in_container == {"createContainer", "startContainer"}


def test_pod_example() -> None:
    proc = _script("pod")
    assert proc.returncode == 0, proc.stderr
    pause, app = proc.stdout.splitlines()
    namespaces = [word.rstrip(",") for word in app.split()[1:5]]
    assert pause.split()[1:5] == namespaces  # the same net and uts namespaces
    assert app.endswith("hostname pod")
