"""config.md of runtime-spec 1.3.0 (Linux parts): one test per MUST pyrunc's lifecycle covers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, write_bundle


@pytest.fixture
def run_config(runtime: Runtime, tmp_path: Path) -> Callable[..., Any]:
    counter = iter(range(1000))

    def run(config: dict[str, Any]) -> Any:
        n = next(counter)
        return runtime("run", "-b", str(write_bundle(tmp_path / f"b{n}", config)), f"c{n}")

    return run


def sh(script: str) -> dict[str, Any]:
    return busybox_config(["sh", "-c", script])


def test_oci_version_must_be_semver(run_config: Callable[..., Any]) -> None:
    """ociVersion "MUST be in SemVer v2.0.0 format" """
    config = sh("true")
    config["ociVersion"] = "one.two"
    proc = run_config(config)
    assert proc.returncode == 1 and "ociVersion" in proc.stderr


def test_root_path_directory_must_exist(run_config: Callable[..., Any]) -> None:
    """root.path: "A directory MUST exist at the path declared by the field." """
    config = sh("true")
    config["root"]["path"] = "/no/such/rootfs"
    proc = run_config(config)
    assert proc.returncode == 1 and "root.path" in proc.stderr


def test_readonly_root_must_be_read_only(run_config: Callable[..., Any]) -> None:
    """root.readonly: "If true then the root filesystem MUST be read-only inside the
    container." """
    assert "Read-only" in run_config(sh("touch /x 2>&1")).stdout


def test_runtime_must_mount_entries_in_the_listed_order(run_config: Callable[..., Any]) -> None:
    """mounts: "The runtime MUST mount entries in the listed order." """
    config = sh("cat /proc/self/mountinfo")
    config["mounts"] += [{"destination": "/m", "type": "tmpfs", "source": "first"},
                         {"destination": "/m", "type": "tmpfs", "source": "second"}]
    out = run_config(config).stdout
    assert out.index(" - tmpfs first ") < out.index(" - tmpfs second ")


def test_relative_destination_must_be_relative_to_root(run_config: Callable[..., Any]) -> None:
    """destination: a relative path "MUST be interpreted as relative to "/"." """
    config = sh("grep ' /rel ' /proc/self/mountinfo")
    config["mounts"].append({"destination": "rel", "type": "tmpfs", "source": "tmpfs"})
    assert " /rel " in run_config(config).stdout


@pytest.mark.parametrize("option,expect", [
    ("ro", " ro"), ("nosuid", "nosuid"), ("nodev", "nodev"), ("noexec", "noexec"),
    ("noatime", "noatime"), ("nodiratime", "nodiratime"), ("strictatime", ""),
    ("sync", "sync"), ("dirsync", "dirsync"), ("rw", " rw")])
def test_mount_option_strings_must_be_implemented(run_config: Callable[..., Any], option: str,
                                                  expect: str) -> None:
    """Mount options: "Runtimes MUST ... implement the following option strings" (flags)."""
    config = sh("grep ' /opt ' /proc/self/mountinfo")
    config["mounts"].append({"destination": "/opt", "type": "tmpfs", "source": "tmpfs",
                             "options": [option]})
    line = run_config(config).stdout
    if option == "strictatime":  # neither relatime nor noatime
        assert "relatime" not in line and "noatime" not in line
    elif option in ("sync", "dirsync"):
        assert option in line or "sync" in line.split(" - ")[1]
    else:
        assert expect in line.split(" - ")[0] + " " + line.split(" - ")[1]


@pytest.mark.parametrize("option,tag", [("private", ""), ("shared", "shared:"),
                                        ("slave", ""), ("unbindable", "unbindable")])
def test_mount_propagation_options_must_be_implemented(run_config: Callable[..., Any],
                                                       tmp_path: Path, option: str,
                                                       tag: str) -> None:
    """Mount options: bind mount propagation strings (private, shared, slave, unbindable)."""
    src = tmp_path / "src"
    src.mkdir()
    config = sh("grep ' /p ' /proc/self/mountinfo")
    config["mounts"].append({"destination": "/p", "type": "bind", "source": str(src),
                             "options": ["rbind", option]})
    fields = run_config(config).stdout.split(" - ")[0]
    optional = fields.split()[6:]
    if option in ("private", "slave"):
        # a slave of a mount with no peers has no master: it shows like a private one
        assert not [f for f in optional if f.startswith("shared:")]
    else:
        assert any(f.startswith(tag) for f in optional)


def test_cwd_must_be_absolute(run_config: Callable[..., Any]) -> None:
    """process.cwd: "This value MUST be an absolute path." """
    config = sh("true")
    config["process"]["cwd"] = "relative"
    proc = run_config(config)
    assert proc.returncode == 1 and "process.cwd" in proc.stderr


def test_rlimits_getrlimit_must_match(run_config: Callable[..., Any]) -> None:
    """rlimits: "rlim.rlim_cur MUST match the configured value", and rlim_max."""
    config = sh("ulimit -Sn; ulimit -Hn; ulimit -Ss")
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 99, "hard": 100},
                                    {"type": "RLIMIT_STACK", "soft": 4096 * 1024,
                                     "hard": 8192 * 1024}]
    assert run_config(config).stdout.split() == ["99", "100", "4096"]


def test_unmappable_rlimit_must_generate_an_error(run_config: Callable[..., Any]) -> None:
    """rlimits: "The runtime MUST generate an error for any values which cannot be mapped to a
    relevant kernel interface." """
    config = sh("true")
    config["process"]["rlimits"] = [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]
    proc = run_config(config)
    assert proc.returncode == 1 and "process.rlimits[0].type" in proc.stderr


def test_duplicated_rlimits_must_generate_an_error(run_config: Callable[..., Any]) -> None:
    """rlimits: "If rlimits contains duplicated entries with same type, the runtime MUST
    generate an error." """
    config = sh("true")
    config["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}] * 2
    proc = run_config(config)
    assert proc.returncode == 1 and "set twice" in proc.stderr


def test_oom_score_adj_must_be_set(run_config: Callable[..., Any]) -> None:
    """oomScoreAdj: "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given
    value." """
    config = sh("cat /proc/self/oom_score_adj")
    config["process"]["oomScoreAdj"] = 123
    assert run_config(config).stdout.strip() == "123"


def test_oom_score_adj_not_set_must_not_change(run_config: Callable[..., Any]) -> None:
    """oomScoreAdj: "If oomScoreAdj is not set, the runtime MUST NOT change the value of
    oom_score_adj." """
    mine = Path("/proc/self/oom_score_adj").read_text().strip()
    assert run_config(sh("cat /proc/self/oom_score_adj")).stdout.strip() == mine


def test_hook_path_must_be_absolute(run_config: Callable[..., Any]) -> None:
    """hooks: "path MUST be absolute." """
    config = sh("true")
    config["hooks"] = {"poststop": [{"path": "bin/true"}]}
    proc = run_config(config)
    assert proc.returncode == 1 and "hooks.poststop[0].path" in proc.stderr


def test_hook_timeout_must_be_greater_than_zero(run_config: Callable[..., Any]) -> None:
    """hooks: "If set, timeout MUST be greater than zero." """
    config = sh("true")
    config["hooks"] = {"poststop": [{"path": "/bin/true", "timeout": 0}]}
    proc = run_config(config)
    assert proc.returncode == 1 and "hooks.poststop[0].timeout" in proc.stderr


def _namespace_log(run_config: Callable[..., Any], tmp_path: Path) -> dict[str, Any]:
    log = tmp_path / "ns.log"
    config = sh("true")
    config["root"]["readonly"] = False
    config["mounts"].append({"destination": str(tmp_path), "type": "bind",
                             "source": str(tmp_path), "options": ["rbind"]})
    kinds = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"]
    config["hooks"] = {
        k: [{"path": "/bin/sh", "args": ["sh", "-c", f'read s; echo "{k} '
                                         f'$(readlink /proc/self/ns/mnt) '
                                         f'$(readlink /proc/self/ns/pid) $s" >> {log}']}]
        for k in kinds}
    assert run_config(config).returncode == 0
    entries = {}
    for line in log.read_text().splitlines():
        kind, mnt, pid, state = line.split(" ", 3)
        entries[kind] = (mnt, pid, json.loads(state))
    return entries


def test_hooks_must_run_in_the_namespace_the_spec_names(run_config: Callable[..., Any],
                                                        tmp_path: Path) -> None:
    """prestart, createRuntime, poststart, poststop "MUST be executed in the runtime
    namespace"; createContainer and startContainer "in the container namespace"."""
    entries = _namespace_log(run_config, tmp_path)
    host = (os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/pid"))
    for kind in ("prestart", "createRuntime", "poststart", "poststop"):
        assert entries[kind][:2] == host, kind
    for kind in ("createContainer", "startContainer"):
        assert entries[kind][0] != host[0] and entries[kind][1] != host[1], kind


def test_state_must_be_passed_to_hooks_over_stdin(run_config: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    """hooks: "The state of the container MUST be passed to hooks over stdin." """
    entries = _namespace_log(run_config, tmp_path)
    for kind, (_, _, state) in entries.items():
        assert state["ociVersion"] and state["id"] and state["bundle"], kind
        assert state["status"] in ("creating", "created", "running", "stopped"), kind


def test_annotations_must_be_a_key_value_map(run_config: Callable[..., Any]) -> None:
    """annotations: "Annotations MUST be a key-value map." "Keys MUST be strings." """
    config = sh("true")
    config["annotations"] = {"k": 1}
    proc = run_config(config)
    assert proc.returncode == 1 and "annotations.k" in proc.stderr
