"""The fast dispatcher must read argv exactly as the typer app does (pure logic: no containers)."""

from __future__ import annotations

from typing import Any

import pytest

from pyrunc.cli import dispatch
from pyrunc.cli.derive import derive_table
from pyrunc.errors import UsageError

ARGVS = [
    ["state", "c1"],
    ["--root", "/tmp/r", "state", "c1"],
    ["--root=/tmp/r", "--log", "/tmp/l", "--log-format", "json", "delete", "-f", "c1"],
    ["--debug", "--systemd-cgroup", "create", "-b", "/b", "--pid-file", "/p", "c1"],
    ["create", "c1", "--bundle", "/b", "--console-socket", "/s", "--preserve-fds", "3"],
    ["create", "--no-pivot", "--no-new-keyring", "--pidfd-socket", "/pfd", "c1"],
    ["run", "-d", "--keep", "-b", "b", "c1"],
    ["run", "--detach", "c1"],
    ["start", "c1"],
    ["kill", "c1"],
    ["kill", "c1", "KILL"],
    ["kill", "-a", "c1", "9"],
    ["kill", "--all", "c1", "SIGUSR1"],
    ["delete", "c1"],
    ["delete", "--force", "c1"],
    ["list"],
    ["list", "-q"],
    ["list", "--format", "json"],
    ["list", "-f", "table", "--quiet"],
    ["exec", "c1", "ls", "-l"],
    ["exec", "-t", "--console-socket", "/s", "c1", "sh"],
    ["exec", "-e", "A=1", "--env", "B=2", "-u", "1000:1000", "--cwd", "/tmp", "c1", "id"],
    ["exec", "-g", "10", "-g", "20", "--cap", "CAP_KILL", "-d", "--pid-file", "/p", "c1", "x"],
    ["exec", "-p", "/proc.json", "--no-new-privs", "--preserve-fds", "2", "c1"],
    ["exec", "c1", "--", "sh", "-c", "echo -e"],
    ["ps", "c1"],
    ["ps", "-f", "json", "c1"],
    ["ps", "c1", "-eo", "pid"],
    ["pause", "c1"],
    ["resume", "c1"],
    ["update", "-r", "-", "c1"],
    ["update", "--memory", "1M", "--pids-limit", "10", "--cpu-quota", "5000", "c1"],
    ["events", "--stats", "c1"],
    ["events", "--interval", "1s", "c1"],
    ["features"],
    ["spec"],
    ["spec", "--rootless", "-b", "/tmp/b"],
    ["validate", "-b", "bundles/busybox"],
    ["checkpoint", "--image-path", "/i", "c1"],
    ["restore", "-d", "--image-path", "/i", "c1"],
]


def typer_parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, Any],
                                                                            dict[str, Any]]:
    """What the typer app passes to invoke() for this argv."""
    import pyrunc.cli.app as app_module

    seen: dict[str, Any] = {}

    def fake_invoke(command: str, opts: Any, args: dict[str, Any]) -> int:
        seen.update(command=command, opts={k: getattr(opts, k) for k in opts.__slots__},
                    args=args)
        return 0

    monkeypatch.setattr(app_module, "invoke", fake_invoke)
    app_module.app(args=argv, prog_name="pyrunc", standalone_mode=False)
    return seen["command"], seen["opts"], seen["args"]


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) for a in ARGVS])
def test_dispatch_matches_typer(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    command, global_values, args = dispatch.parse(argv, derive_table())
    t_command, t_opts, t_args = typer_parse(argv, monkeypatch)
    assert command == t_command
    assert global_values == t_opts
    assert args == t_args


def test_installed_table_is_current() -> None:
    """The table shipped in the package is the one derived from the current app."""
    try:
        from pyrunc.cli._table import TABLE
    except ImportError:
        pytest.skip("source checkout without a build: no generated table")
    assert derive_table() == TABLE


@pytest.mark.parametrize("argv,expected", [
    (["-root", "/r", "-log", "/l", "state", "c1"], {"root": "/r", "log": "/l"}),
    (["--systemd-cgroup=true", "state", "c1"], {"systemd_cgroup": True}),
    (["--debug=false", "state", "c1"], {"debug": False}),
])
def test_go_style_flags(argv: list[str], expected: dict[str, Any]) -> None:
    """Go callers (containerd's go-runc) may send single-dash long flags and =true."""
    _, global_values, _ = dispatch.parse(argv, derive_table())
    for key, value in expected.items():
        assert global_values[key] == value


@pytest.mark.parametrize("argv,message", [
    (["create", "--bogus", "c1"], "flag provided but not defined: --bogus"),
    (["create"], "requires a CONTAINER_ID"),
    (["nosuch"], '"nosuch" is not a pyrunc command'),
    (["create", "--preserve-fds", "x", "c1"], 'invalid value "x" for flag --preserve-fds'),
    (["create", "-b"], "flag needs an argument: -b"),
    (["state", "a", "b"], 'unexpected argument "b"'),
])
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        dispatch.parse(argv, derive_table())


@pytest.mark.parametrize("argv", [["--help"], ["create", "--help"], ["--version"], []])
def test_help_and_version_go_to_typer(argv: list[str]) -> None:
    with pytest.raises(dispatch.NeedsTyper):
        dispatch.parse(argv, derive_table())
