"""Concurrency: 200 create/start/kill/delete calls on 50 ids at once, on one --root, while
`list` and `state` run in a loop (docs/robustness.md).

Every call must end (bounded timeouts: no deadlock), succeed or fail for one of the expected
reasons (the id does not exist, already exists, is not running, is in the wrong state) with
one clean line, and state.json must always read as whole JSON. Afterwards each id is a valid
container or gone, and `delete --force` leaves nothing: no state, process or cgroup.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import Runtime, busybox_config, cgroup_dirs

IDS = 50
CALLS = 200
THREADS = 16  # 2 vCPUs: enough to overlap every step of every command, not to thrash
CALL_TIMEOUT = 120  # a call that takes longer is hung (each takes well under a second alone)

EXPECTED = re.compile("|".join([
    r'container "[^"]+" does not exist',
    r'container with id "[^"]+" already exists',
    r"container not running",
    r"cannot start a container that has stopped",
    r"cannot start an already (created|running|paused|creating) container",
    r"cannot start a container that is not created",
    r"the container init \(\d+\) exited before start",
    r"cannot delete container \S+ that is not stopped: (running|created|paused|creating)",
]))


def _plan(ids: list[str], seed: int = 7) -> list[list[str]]:
    """A create for every id, the rest random operations, all shuffled together."""
    rng = random.Random(seed)
    calls = [["create", i] for i in ids]
    while len(calls) < CALLS:
        i = rng.choice(ids)
        calls.append(rng.choice([["create", i], ["start", i], ["start", i], ["kill", i, "KILL"],
                                 ["kill", i, "KILL"], ["delete", i], ["delete", "--force", i]]))
    rng.shuffle(calls)
    return calls


def _check_failure(args: list[str], returncode: int, stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, (args, stderr)
    if returncode == 0:
        return
    assert returncode == 1, (args, returncode, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyrunc: "), (args, stderr)
    assert EXPECTED.search(lines[0]), f"unexpected failure of {args}: {lines[0]}"


def _watch(runtime: Runtime, ids: list[str], done: threading.Event,
           problems: list[str]) -> Callable[[], int]:
    """`list`, `state` and raw state.json reads in a loop until ``done``; returns a counter."""
    rounds = [0]

    def loop() -> None:
        rng = random.Random(11)
        while not done.is_set():
            rounds[0] += 1
            listed = runtime("list", "--format", "json", timeout=CALL_TIMEOUT)
            if listed.returncode != 0 or listed.stderr:
                problems.append(f"list: {listed.returncode} {listed.stderr}")
            else:
                for entry in json.loads(listed.stdout):
                    if entry["status"] not in ("creating", "created", "running", "stopped"):
                        problems.append(f"list: status {entry}")
            container_id = rng.choice(ids)
            state = runtime("state", container_id, timeout=CALL_TIMEOUT)
            if state.returncode == 0:
                if json.loads(state.stdout)["id"] != container_id:
                    problems.append(f"state: {state.stdout}")
            elif state.stderr != f'pyrunc: container "{container_id}" does not exist\n':
                problems.append(f"state {container_id}: {state.returncode} {state.stderr}")
            for name in os.listdir(runtime.root) if runtime.root.exists() else []:
                try:
                    text = (runtime.root / name / "state.json").read_bytes()
                except (FileNotFoundError, NotADirectoryError):
                    continue
                try:
                    json.loads(text)
                except ValueError:
                    problems.append(f"half-written state.json of {name}: {text[:80]!r}")

    thread = threading.Thread(target=loop)
    thread.start()

    def join() -> int:
        thread.join(timeout=CALL_TIMEOUT * 2)
        assert not thread.is_alive(), "list/state loop hung"
        return rounds[0]

    return join


def test_200_calls_on_50_ids_at_once(runtime: Runtime, make_bundle: Callable[..., Path]
                                     ) -> None:
    bundle = make_bundle(config=busybox_config(["sleep", "1000"]))
    ids = [f"cc{os.getpid()}-{n}" for n in range(IDS)]  # cgroups are named after ids
    calls = _plan(ids)
    assert len(calls) == CALLS

    done = threading.Event()
    problems: list[str] = []
    join_watcher = _watch(runtime, ids, done, problems)

    def call(args: list[str]) -> tuple[list[str], int, str]:
        full = ["create", "-b", str(bundle), args[1]] if args[0] == "create" else args
        proc = runtime(*full, timeout=CALL_TIMEOUT)  # TimeoutExpired fails the test: a hang
        return args, proc.returncode, proc.stderr

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(call, calls))
    finally:
        done.set()
        rounds = join_watcher()
    assert problems == []
    assert rounds > 0
    for args, returncode, stderr in results:
        _check_failure(args, returncode, stderr)
    assert any(rc == 0 for args, rc, _ in results if args[0] == "start")  # it did run some

    # each id is now a whole, valid container or gone
    assert sorted(runtime.ids()) == sorted(set(runtime.ids()) & set(ids)), runtime.ids()
    for container_id in ids:
        proc = runtime("state", container_id)
        if proc.returncode == 1:
            assert proc.stderr == f'pyrunc: container "{container_id}" does not exist\n'
            assert not (runtime.root / container_id).exists()
            continue
        state = json.loads(proc.stdout)
        assert state["id"] == container_id and state["status"] in ("created", "running",
                                                                   "stopped")
        assert (state["pid"] > 0) == (state["status"] != "stopped")

    for container_id in ids:
        proc = runtime("delete", "--force", container_id)
        assert proc.returncode == 0, proc.stderr
    assert runtime.ids() == []
    for container_id in ids:
        assert cgroup_dirs(container_id) == []
