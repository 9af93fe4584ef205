"""Malformed input: any config.json, process.json, argv, signal or id gets a clean one-line
error (exit status 1) or a correct result: never a traceback, a hang or a leftover.

Hypothesis drives the targets of tests/fuzz/targets.py in-process (bounded, derandomized so
CI is repeatable; tests/fuzz/fuzz_config.py is the long-running, random driver), every file
of the fuzz corpus is replayed, each past finding is a named regression test, and a few real
`pyrunc` calls check what a caller sees: exit status, one stderr line, nothing in --root.
See docs/robustness.md.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz import strategies as S
from fuzz import targets as T
from fuzz.fuzz_config import CORPUS, CRASHES, one_input, seed
from helpers import ROOTFS, Runtime, busybox_config
from hypothesis import HealthCheck, given, settings

BASE = busybox_config(["sleep", "1"])
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz")
    (path / "root").mkdir()
    return path


# -- in-process targets --------------------------------------------------------------------

@FUZZ
@given(data=S.config_bytes(BASE))
def test_config_json_gets_a_clean_answer(work: Path, data: bytes) -> None:
    T.config_bytes(data, work, ROOTFS)


@FUZZ
@given(data=S.config_bytes(BASE))
def test_process_json_gets_a_clean_answer(work: Path, data: bytes) -> None:
    try:  # mostly a process object, from the mutated config's
        doc = json.loads(data)
        if isinstance(doc, dict) and "process" in doc:
            data = json.dumps(doc["process"]).encode()
    except (ValueError, RecursionError):
        pass
    T.process_file(data, work, ROOTFS)


@FUZZ
@given(args=S.argvs())
def test_argv_parses_or_gets_a_usage_error(args: list[str]) -> None:
    T.argv(args)


@FUZZ
@given(args=S.argvs())
def test_commands_on_an_empty_root_answer_in_one_line(work: Path, args: list[str]) -> None:
    T.invoke_offline(args, work / "root")


@FUZZ
@given(text=S.signal_texts)
def test_signal_names(text: str) -> None:
    T.signal_text(text)


@FUZZ
@given(text=S.id_texts)
def test_container_ids(text: str) -> None:
    T.container_id(text)


def _corpus() -> list[Path]:
    return sorted([*CORPUS.glob("*"), *CRASHES.glob("*")]) if CORPUS.exists() else []


def test_corpus_is_committed() -> None:
    assert len(_corpus()) > len(seed())  # the seeds and what the long run added


def test_corpus_replays_clean() -> None:
    """Every input the long run kept (and every crash it found, now fixed)."""
    for path in _corpus():
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a running fuzzer replaced it with a smaller one
            continue
        try:
            one_input(data)
        except BaseException as err:
            raise AssertionError(f"{path.name}: {type(err).__name__}: {err}") from err


# -- regression tests: one per finding -----------------------------------------------------

def _config_answer(work: Path, data: bytes) -> str:
    return T.config_bytes(data, work, ROOTFS)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_config_is_invalid_json(work: Path, depth: int) -> None:
    """Was: RecursionError from json's C scanner (an internal error)."""
    assert _config_answer(work, b"[" * depth) == "config.json: invalid JSON: nested too deeply"
    nested = b'{"ociVersion": "1.3.0", "x": ' + b'{"a":' * depth
    assert "nested too deeply" in _config_answer(work, nested)


def test_config_nested_deeper_than_state_json_can_hold(work: Path) -> None:
    """Was: a config nested ~990 levels (json parses it) was accepted, then could not be
    written to state.json (RecursionError) or read back by later commands."""
    config = dict(BASE, x="PLACEHOLDER")
    text = json.dumps(config).replace('"PLACEHOLDER"', "[" * 900 + "]" * 900)
    assert _config_answer(work, text.encode()) == \
        f"config.json: x{'[0]' * 64}: nested deeper than 64 levels"
    shallow = json.dumps(dict(BASE, x=json.loads("[" * 60 + "]" * 60)))
    assert _config_answer(work, shallow.encode()) == "accepted"


def test_deeply_nested_process_json(work: Path) -> None:
    answer = T.process_file(b'{"args":' + b"[" * 100_000, work, ROOTFS)
    assert answer.endswith(": invalid JSON: nested too deeply")


def test_deeply_nested_update_resources(tmp_path: Path) -> None:
    from pyrunc.cli.commands.update import read_resources
    from pyrunc.errors import PyruncError

    path = tmp_path / "resources.json"
    path.write_bytes(b"[" * 100_000)
    with pytest.raises(PyruncError, match="invalid JSON: nested too deeply"):
        read_resources(str(path))


@pytest.mark.parametrize("text", ["²", "2¹", "٣", "SIGRTMIN+²"])
def test_non_ascii_digits_are_invalid_signals(text: str) -> None:
    """Was: "²".isdigit() is true but int("²") raises ValueError (an internal error)."""
    assert T.signal_text(text) == f'invalid signal "{text}"'


def test_non_ascii_digits_are_invalid_exec_users() -> None:
    from pyrunc.errors import PyruncError
    from pyrunc.execute import ExecOptions, build_process

    with pytest.raises(PyruncError, match='--user: "²" is not a numeric uid'):
        build_process(BASE, ExecOptions(command=["true"], user="²"))


def test_hooks_of_unknown_kinds_are_ignored(work: Path) -> None:
    """Was: the runtime checks walked every key of "hooks", and a key the spec does not
    define (the schema lets it hold anything) raised AttributeError. Found by the hypothesis
    driver; reproducer in tests/fuzz/crashes/."""
    config = dict(BASE, hooks={"options": ["//"], "destination": "network",
                               "prestart": [{"path": "/bin/true"}]})
    assert _config_answer(work, json.dumps(config).encode()) == "accepted"
    config["hooks"]["prestart"] = [{"path": "rel"}]
    assert _config_answer(work, json.dumps(config).encode()) == \
        'config.json: hooks.prestart[0].path: must be absolute, got "rel"'


@pytest.mark.parametrize("level", [-54, 8, 8192, 2**31 - 1])
def test_io_priority_out_of_range(work: Path, level: int) -> None:
    """Was: a negative level raised struct.error (an internal error), and 8192 spilled into
    the class bits, silently picking another class."""
    process = dict(BASE["process"], ioPriority={"class": "IOPRIO_CLASS_BE", "priority": level})
    assert _config_answer(work, json.dumps(dict(BASE, process=process)).encode()) == \
        f"process.ioPriority.priority: {level} is out of range 0-7"


def test_negative_scheduler_priority(work: Path) -> None:
    """Was: struct.error packing the int32 the schema allows into sched_attr's u32."""
    process = dict(BASE["process"], scheduler={"policy": "SCHED_OTHER", "priority": -1})
    assert _config_answer(work, json.dumps(dict(BASE, process=process)).encode()) == \
        "process.scheduler.priority: -1 must not be negative"


@pytest.mark.parametrize("timeout", [2**32, 2**70])
def test_huge_hook_timeouts(work: Path, timeout: int) -> None:
    """Was: the schema sets no maximum; a createContainer timeout past u32 raised
    struct.error, and a runtime hook's made subprocess raise OverflowError. Beyond what can
    be waited for, a timeout is as good as none."""
    from pyrunc.linux.hooks import run_hooks

    hook = {"path": "/bin/true", "timeout": timeout}
    config = dict(BASE, hooks={"createContainer": [hook], "startContainer": [hook]})
    assert _config_answer(work, json.dumps(config).encode()) == "accepted"
    run_hooks("poststart", [hook], {"ociVersion": "1.3.0", "id": "x", "status": "running",
                                    "pid": 1, "bundle": "/"})


def test_error_lines_escape_line_breaks() -> None:
    """Was: an id, signal or path with a newline made a multi-line error."""
    from pyrunc.log import one_line

    assert one_line('invalid signal "a\nb\r\x1b"') == 'invalid signal "a\\nb\\r\\x1b"'
    assert one_line("plain é ✓") == "plain é ✓"


# -- real pyrunc calls -----------------------------------------------------------------------

def _one_clean_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyrunc: "), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return lines[0]


def _bundle_with(directory: Path, data: bytes) -> Path:
    directory.mkdir()
    (directory / "config.json").write_bytes(data)
    return directory


BAD_CONFIGS: dict[str, bytes] = {
    "not-json": b"\xff\xfe{",
    "deep": b"[" * 100_000,
    "wrong-type": json.dumps(dict(BASE, process=dict(BASE["process"], args="sh"))).encode(),
    "huge-uid": json.dumps(dict(BASE, process=dict(BASE["process"], user={
        "uid": 2**64, "gid": 0}))).encode(),
    "surrogate-root": json.dumps(dict(BASE, root={"path": "\ud800"})).encode(),
    "newline-rootfs": json.dumps(dict(BASE, root={"path": "a\nb"})).encode(),
    "unknown-hook-kind": json.dumps(dict(BASE, hooks={"x": "y", "prestart": [
        {"path": "rel"}]})).encode(),
    "negative-io-priority": json.dumps(dict(BASE, process=dict(BASE["process"], ioPriority={
        "class": "IOPRIO_CLASS_BE", "priority": -54}))).encode(),
    "bad-rlimit": json.dumps(dict(BASE, process=dict(BASE["process"], rlimits=[
        {"type": "RLIMIT_NOPE", "hard": 1, "soft": 1}]))).encode(),
    "bad-mount-option": json.dumps(dict(BASE, mounts=[
        {"destination": "/x", "type": "tmpfs", "source": "t", "options": ["size=\n"]}])).encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_create_with_a_bad_config(runtime: Runtime, tmp_path: Path, name: str) -> None:
    bundle = _bundle_with(tmp_path / "bundle", BAD_CONFIGS[name])
    log = tmp_path / "log.json"
    proc = runtime("create", "-b", str(bundle), "c1",
                   global_args=("--log", str(log), "--log-format", "json"))
    line = _one_clean_line(proc)
    assert runtime.ids() == []
    logged = [json.loads(entry) for entry in log.read_text().splitlines()]
    assert [e["level"] for e in logged] == ["error"]
    assert "pyrunc: " + logged[0]["msg"].encode("utf-8", "backslashreplace").decode() == \
        line.encode("utf-8", "backslashreplace").decode()


BAD_ARGVS = [
    ["create", "-b"], ["create", "--preserve-fds", "x", "c1"], ["create", "c\n1"],
    ["create", "-b", "/nonexistent", "../x"], ["kill", "c1", "²"], ["kill", "c1", "a\nb"],
    ["state", "a/b"], ["delete", ".."], ["--log-format", "yaml", "list"], ["nosuch"],
    ["list", "--format", "\x1b[31m"], ["exec", "c1"], ["update", "--memory", "x", "c1"],
    ["run", "--detach=maybe", "c1"], ["-x"], ["pause", "c" * 2000],
]


@pytest.mark.parametrize("args", BAD_ARGVS, ids=lambda a: " ".join(a)[:30])
def test_bad_arguments(runtime: Runtime, args: list[str]) -> None:
    _one_clean_line(runtime(*args))
    assert runtime.ids() == []


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, str]]:
    """One running container for the exec and kill inputs."""
    from helpers import write_bundle

    base = tmp_path_factory.mktemp("running")
    runtime = Runtime(base / "root")
    bundle = write_bundle(base / "bundle", busybox_config(["sleep", "1000"]))
    container_id = f"fuzz-exec-{os.getpid()}"
    assert runtime("run", "-d", "-b", str(bundle), container_id).returncode == 0
    yield runtime, container_id
    runtime("delete", "--force", container_id)


def _processes(runtime: Runtime, container_id: str) -> list[int]:
    proc = runtime("ps", "--format", "json", container_id)
    assert proc.returncode == 0, proc.stderr
    pids: list[int] = json.loads(proc.stdout)
    return pids


BAD_PROCESSES: dict[str, bytes] = {
    "not-json": b"{",
    "deep": b"[" * 100_000,
    "array": b"[]",
    "no-args": json.dumps({"cwd": "/"}).encode(),
    "relative-cwd": json.dumps({"args": ["true"], "cwd": "rel"}).encode(),
    "missing-binary": json.dumps({"args": ["/nope"], "cwd": "/"}).encode(),
    "huge-uid": json.dumps({"args": ["true"], "cwd": "/",
                            "user": {"uid": 2**40, "gid": 0}}).encode(),
    "bad-cap": json.dumps({"args": ["true"], "cwd": "/",
                           "capabilities": {"bounding": ["CAP_NOPE"]}}).encode(),
    "bad-rlimit": json.dumps({"args": ["true"], "cwd": "/", "rlimits": [
        {"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}).encode(),
    "newline-env": json.dumps({"args": ["true"], "cwd": "/", "env": ["A\nB"],
                               "terminal": True}).encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_PROCESSES))
def test_exec_with_a_bad_process_json(running: tuple[Runtime, str], tmp_path: Path,
                                      name: str) -> None:
    runtime, container_id = running
    before = _processes(runtime, container_id)
    process = tmp_path / "process.json"
    process.write_bytes(BAD_PROCESSES[name])
    _one_clean_line(runtime("exec", "--process", str(process), container_id))
    assert runtime.state(container_id)["status"] == "running"
    assert _processes(runtime, container_id) == before  # no half-started process left


@pytest.mark.parametrize("text", ["NOPE", "0", "65", "-9", "²", "SIGRTMIN+99", "a\nb", ""])
def test_kill_with_a_bad_signal(running: tuple[Runtime, str], text: str) -> None:
    runtime, container_id = running
    line = _one_clean_line(runtime("kill", container_id, text))
    assert "invalid signal" in line or "flag provided but not defined: -9" in line
    assert runtime.state(container_id)["status"] == "running"
