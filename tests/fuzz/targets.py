"""The fuzz targets: pure, in-process functions that take one input and raise AssertionError
(or let an unexpected exception through) when pyrunc answers it with anything but a clean
error or a correct result. Used by tests/test_fuzz_inputs.py (hypothesis, bounded) and by the
long-running driver tests/fuzz/fuzz_config.py (atheris or hypothesis); each corpus file and
crash reproducer in tests/fuzz/corpus/ is replayed through ``config_bytes`` by the suite.

"Clean" is what the CLI contract promises: pyrunc's own error (PyruncError, or a ValueError /
LaunchError that lifecycle.create turns into one), whose message is a single line; for a
config problem the line starts with the JSON path of the field it is about.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from pyrunc.errors import ConfigError, LaunchError, PyruncError, UsageError

# the first part of a config problem's path: a field of the spec's config (or the document)
TOP_FIELDS = frozenset(["(root)", "ociVersion", "process", "root", "hostname", "domainname",
                        "mounts", "hooks", "annotations", "linux", "solaris", "windows", "vm",
                        "zos", "freebsd", "uidMappings", "gidMappings"])


def _one_line(text: str, where: str) -> None:
    """What the caller reads (log.error escapes control characters): one non-empty line."""
    from pyrunc.log import one_line

    shown = one_line(text)
    assert shown.strip(), f"{where}: empty error message"
    assert len(shown.splitlines()) == 1, f"{where}: multi-line error: {shown!r}"


def _names_a_field(problem: str, data: bytes) -> None:
    """The problem starts with a JSON path from the top of the document: a field of the spec
    or (for an extension) one of the document's own keys."""
    if problem.startswith(("invalid JSON: ", "cannot read ")):
        return
    head = problem.split(": ", 1)[0]
    first = head.replace("[", ".").split(".")[0]
    if first in TOP_FIELDS:
        return
    import json

    doc = json.loads(data)
    assert isinstance(doc, dict) and first in doc, \
        f"config problem does not start with a field: {problem!r}"


def config_bytes(data: bytes, bundle: Path, rootfs: Path) -> str:
    """config.json = ``data`` in ``bundle``: load and validate it as `create` does, then resolve
    everything `create` resolves before touching the system (the launch plan, the cgroup
    path and resources). Return "accepted" or the one-line error."""
    from pyrunc.config.load import load_bundle

    (bundle / "config.json").write_bytes(data)
    try:
        config = load_bundle(str(bundle))
    except ConfigError as err:
        assert err.problems, "ConfigError without a problem"
        for problem in err.lines:
            _one_line(problem, "config problem")
        for problem in err.problems:
            _names_a_field(problem, data)
        return err.lines[0]
    return _resolve(config, bundle, rootfs)


def _resolve(config: dict[str, Any], bundle: Path, rootfs: Path) -> str:
    """The part of `create` between validation and the first system call that changes
    anything: lifecycle turns ValueError/LaunchError into a one-line PyruncError."""
    from pyrunc.linux import launcher
    from pyrunc.linux.cgroups import _cgroup_path, _resources

    try:
        req = launcher.LaunchRequest(container_id="fuzz", bundle=str(bundle), config=config,
                                     state_dir=str(bundle), console_socket="/nonexistent")
        launcher.build_plan(req, 0)
        _cgroup_path(config, "fuzz", False)
        _cgroup_path(config, "fuzz", True)
        resources = (config.get("linux") or {}).get("resources") or {}
        unified = bundle / "unified"  # a stand-in cgroup2 directory offering every controller
        if not unified.exists():
            unified.mkdir()
            (unified / "cgroup.controllers").write_text(
                "cpuset cpu io memory hugetlb pids rdma misc\n")
        for mode, paths in (("v1", V1_PATHS), ("v2", {"": str(unified)})):
            target = _resources.Target({"mode": mode, "paths": paths})
            _resources.plan(resources, target, defaults=True, exists=lambda _p: False)
    except (PyruncError, LaunchError, ValueError) as err:
        message = str(err)
        _one_line(message, type(err).__name__)
        return message
    return "accepted"


# every v1 controller, at paths that do not exist: planning only reads their names
V1_PATHS = {c: f"/nonexistent/{c}" for c in (
    "memory", "cpu,cpuacct", "cpuset", "pids", "blkio", "hugetlb", "net_cls,net_prio",
    "rdma", "devices", "freezer", "perf_event")}


def process_file(data: bytes, directory: Path, rootfs: Path) -> str:
    """--process FILE for `exec`: read and checked like config.json's process."""
    from pyrunc.execute import ExecOptions, build_process

    path = directory / "process.json"
    path.write_bytes(data)
    try:
        process = build_process({}, ExecOptions(process_file=str(path)))
    except PyruncError as err:
        _one_line(str(err), "--process")
        assert str(err).startswith(f"--process {path}: "), str(err)
        return str(err)
    assert isinstance(process, dict)
    # what exec then encodes for the init
    return _resolve({"ociVersion": "1.3.0", "process": process,
                     "root": {"path": str(rootfs)}}, directory, rootfs)


def argv(args: list[str]) -> str:
    """The fast argv parser: a parse, UsageError (one line) or NeedsTyper (typer's help)."""
    from pyrunc.cli.dispatch import NeedsTyper, parse

    try:
        command, global_values, values = parse(args)
    except UsageError as err:
        _one_line(str(err), "usage error")
        return str(err)
    except NeedsTyper:
        return "typer"
    assert isinstance(command, str) and isinstance(global_values, dict)
    assert isinstance(values, dict)
    return command


def invoke_offline(args: list[str], root: Path) -> tuple[int, str]:
    """Parse and run a command in-process against an empty --root (nothing to create there,
    so this stays pure): exit status and stderr. Never an internal error or a traceback;
    every failure one line; nothing created in the root."""
    from pyrunc.cli.dispatch import NeedsTyper, parse
    from pyrunc.cli.invoke import GlobalOptions, invoke

    try:
        command, global_values, values = parse(args)
    except (UsageError, NeedsTyper):
        return 1, ""
    if command in ("create", "run", "spec", "exec", "features", "events") or \
            global_values.get("log"):
        return 0, ""  # these touch the system or wait: covered by the subprocess tests
    global_values["root"] = str(root)
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        status = invoke(command, GlobalOptions(**global_values), values)
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    if status != 0:
        lines = text.splitlines()
        assert len(lines) == 1 and lines[0].startswith("pyrunc: "), text
    leftovers = os.listdir(root) if root.exists() else []
    assert leftovers == [], f"{args}: left {leftovers} in --root"
    return status, text


def signal_text(text: str) -> str:
    from pyrunc.lifecycle import parse_signal

    try:
        number = parse_signal(text)
    except PyruncError as err:
        _one_line(str(err), "kill")
        return str(err)
    import signal

    assert 0 < number < signal.NSIG
    return str(number)


def container_id(text: str) -> str:
    from pyrunc.state.store import check_id

    try:
        check_id(text)
    except PyruncError as err:
        _one_line(str(err), "id")
        return str(err)
    # an accepted id names a plain entry directly under the root
    assert "/" not in text and text not in (".", "..") and "\0" not in text
    return "ok"
