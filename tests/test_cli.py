"""The CLI's contract with callers: outputs, errors, logs, and what each command imports."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, Runtime


def test_version_prefixes_go_runc_parses(runtime: Runtime) -> None:
    out = runtime("--version").stdout.splitlines()
    assert out[0].startswith("pyrunc version ")
    assert out[1].startswith("commit: ")
    assert out[2] == "spec: 1.3.0"


def test_unknown_container_one_line_exit_1(runtime: Runtime) -> None:
    proc = runtime("state", "nosuch")
    assert proc.returncode == 1
    assert proc.stderr == 'pyrunc: container "nosuch" does not exist\n'
    assert proc.stdout == ""


@pytest.mark.parametrize("command", [["start", "x"], ["kill", "x"], ["delete", "x"]])
def test_missing_container_for_each_command(runtime: Runtime, command: list[str]) -> None:
    proc = runtime(*command)
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr


def test_delete_force_of_missing_container_succeeds(runtime: Runtime) -> None:
    assert runtime("delete", "--force", "nosuch").returncode == 0


def test_json_log_has_the_same_message(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    proc = runtime("state", "nosuch", global_args=("--log", str(log), "--log-format", "json"))
    assert proc.returncode == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "error"
    assert entry["msg"] == 'container "nosuch" does not exist'
    assert entry["time"].endswith("Z")


@pytest.mark.parametrize("stderr", ["closed", "read-only"])
def test_error_reaches_the_log_when_stderr_is_unusable(runtime: Runtime, tmp_path: Path,
                                                       stderr: str) -> None:
    # containerd's shim runs a pod sandbox's `create` without a usable stderr: the reason
    # must still reach the --log file it reads, with exit status 1
    import subprocess

    from helpers import pyrunc_cmd

    log = tmp_path / "log.json"
    with open(os.devnull, "rb") as read_only:
        proc = subprocess.run(
            [*pyrunc_cmd(), "--root", str(runtime.root), "--log", str(log), "--log-format",
             "json", "state", "nosuch"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=read_only if stderr == "read-only" else None,
            preexec_fn=(lambda: os.close(2)) if stderr == "closed" else None, timeout=60)
    assert proc.returncode == 1
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["level"], e["msg"]) for e in entries] == [
        ("error", 'container "nosuch" does not exist')]


def test_text_log(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    runtime("state", "nosuch", global_args=("--log", str(log)))
    assert 'level=error msg="container \\"nosuch\\" does not exist"' in log.read_text()


@pytest.mark.parametrize("bad", ["a/b", "..", "a b"])
def test_bad_ids_are_refused(runtime: Runtime, bad: str) -> None:
    proc = runtime("state", bad)
    assert proc.returncode == 1
    assert "invalid container id" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_is_one_line(runtime: Runtime) -> None:
    proc = runtime("create", "--nosuch", "x")
    assert proc.returncode == 1
    assert proc.stderr == "pyrunc: flag provided but not defined: --nosuch\n"


def test_bad_log_format(runtime: Runtime) -> None:
    proc = runtime("list", global_args=("--log-format", "xml"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "--log-format" in proc.stderr


def test_not_implemented_command(runtime: Runtime) -> None:
    proc = runtime("checkpoint", "x")
    assert proc.returncode == 1
    assert proc.stderr == "pyrunc: checkpoint: not implemented yet\n"


def test_list_empty(runtime: Runtime) -> None:
    assert runtime("list").stdout.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert json.loads(runtime("list", "--format", "json").stdout) == []
    assert runtime("list", "-q").stdout == ""


def test_spec_writes_config_pyrunc_accepts(runtime: Runtime, tmp_path: Path) -> None:
    assert runtime("spec", "-b", str(tmp_path)).returncode == 0
    (tmp_path / "rootfs").mkdir()
    proc = runtime("validate", "-b", str(tmp_path))
    assert (proc.returncode, proc.stdout) == (0, "config.json: valid\n"), proc.stderr
    again = runtime("spec", "-b", str(tmp_path))
    assert again.returncode == 1 and "exists" in again.stderr


def test_spec_rootless(runtime: Runtime, tmp_path: Path) -> None:
    assert runtime("spec", "--rootless", "-b", str(tmp_path)).returncode == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert {"type": "user"} in config["linux"]["namespaces"]
    assert config["linux"]["uidMappings"][0]["size"] == 1


def test_validate_the_busybox_bundle(runtime: Runtime) -> None:
    proc = runtime("validate", "-b", str(REPO / "bundles" / "busybox"))
    assert (proc.returncode, proc.stdout) == (0, "config.json: valid\n"), proc.stderr


def test_invalid_json(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    proc = runtime("create", "-b", str(tmp_path), "c1")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyrunc: config.json: invalid JSON")
    assert runtime.ids() == []


def test_many_problems_are_cut_short_but_validate_lists_all(runtime: Runtime,
                                                           tmp_path: Path) -> None:
    """create names the first problems and counts the rest (podman shows what conmon
    passes on; a hundred lines bury it); validate lists every one."""
    from pyrunc.config.default import default_config

    config = default_config()
    config["linux"]["devices"] = [{"path": f"/dev/d{i}", "type": "c", "major": 1, "minor": i,
                                   "fileMode": "rw"} for i in range(12)]
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = runtime("create", "-b", str(tmp_path), "c1")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        'pyrunc: config.json: linux.devices[0].fileMode: expected an integer, got "rw"',
        'pyrunc: config.json: linux.devices[10].fileMode: expected an integer, got "rw"',
        'pyrunc: config.json: linux.devices[11].fileMode: expected an integer, got "rw"',
        'pyrunc: config.json: linux.devices[1].fileMode: expected an integer, got "rw"',
        "pyrunc: config.json: ... and 8 more problems"]
    assert runtime.ids() == []
    proc = runtime("validate", "-b", str(tmp_path))
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 12, proc.stderr


HOT = ["state", "start", "exec", "kill", "delete", "list"]
HEAVY = ["typer", "click", "jsonschema", "pyroute2", "rich", "cffi", "referencing"]
# what the hot commands have no use for, each a few ms of start-up (docs/performance.md)
UNUSED = ["typing", "dataclasses", "inspect", "re", "enum", "functools", "json", "socket",
          "signal", "subprocess", "selectors", "threading", "importlib", "warnings", "termios"]


def _imports(runtime: Runtime, *args: str) -> set[str]:
    """Top-level names of the modules one CLI call imports (PYTHONPROFILEIMPORTTIME)."""
    proc = runtime(*args, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pyrunc" in imported, "no importtime output"
    return imported


def test_hot_commands_import_only_what_they_use(runtime: Runtime, make_bundle: Any) -> None:
    """state, start, exec, kill, delete and list, on a real container: no heavy library, and
    none of the standard modules they do not need. (exec is as hot as any: engines run
    health checks and probes through it every few seconds.)"""
    container_id = f"hot-{os.getpid()}"
    assert runtime("create", "-b", str(make_bundle(["sleep", "60"])), container_id
                   ).returncode == 0
    calls = {"state": ["state", container_id], "list": ["list"],
             "start": ["start", container_id], "exec": ["exec", container_id, "true"],
             "kill": ["kill", container_id, "KILL"],
             "delete": ["delete", "--force", container_id]}
    assert sorted(calls) == sorted(HOT)
    for command, args in calls.items():
        imported = _imports(runtime, *args)
        assert not imported & set(HEAVY), (command, imported & set(HEAVY))
        assert not imported & set(UNUSED), (command, imported & set(UNUSED))


def _leaves(node: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    """(json path, key path) of every scalar in a config."""
    found: list[tuple[str, list[Any]]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            sub = _leaves(value, f"{path}.{key}" if path else key)
            found += [(p, [key, *keys]) for p, keys in sub]
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += [(p, [i, *keys]) for p, keys in _leaves(value, f"{path}[{i}]")]
    else:
        found.append((path, []))
    return found


def _spec_config() -> dict[str, Any]:
    from pyrunc.config.default import default_config

    return default_config()


LEAVES = _leaves(_spec_config())


@pytest.mark.parametrize("path,keys", LEAVES, ids=[p for p, _ in LEAVES])
def test_breaking_any_field_of_spec(path: str, keys: list[Any], runtime: Runtime,
                                    tmp_path: Path) -> None:
    """Each field of `pyrunc spec` with a wrong type: one line naming it, exit 1, no state."""
    config = _spec_config()
    node = config
    for key in keys[:-1]:
        node = node[key]
    old = node[keys[-1]]
    node[keys[-1]] = 12345 if isinstance(old, str) else "wrong-type"
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "config.json").write_text(json.dumps(config))
    log = tmp_path / "log.json"
    proc = runtime("create", "-b", str(tmp_path), "c1",
                   global_args=("--log", str(log), "--log-format", "json"))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"pyrunc: config.json: {path}"), lines[0]
    assert "Traceback" not in proc.stderr
    assert [json.loads(x)["msg"] for x in log.read_text().splitlines()] == [lines[0][8:]]
    assert runtime.ids() == []
