"""The state store: id rules, atomic writes, per-container locks (real files, real flock)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
from pathlib import Path

import pytest

from pyrunc.errors import ContainerNotFound, PyruncError
from pyrunc.state.store import StateStore, check_id, write_atomic


@pytest.mark.parametrize("good", ["a", "A-b_c+d.e", "x" * 1024, "123", "a..b"])
def test_valid_ids(good: str) -> None:
    check_id(good)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "../x", "a b", "x" * 1025, "é", "a\0"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(PyruncError):
        check_id(bad)


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomic(str(target), b"old")
    write_atomic(str(target), b"new contents")
    assert target.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["state.json"]  # no temp file left behind


def test_create_twice_names_the_id(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path))
    store.create("c1").close()
    with pytest.raises(PyruncError, match='container with id "c1" already exists'):
        store.create("c1")


def test_open_missing(tmp_path: Path) -> None:
    with pytest.raises(ContainerNotFound, match='container "nope" does not exist'):
        StateStore(str(tmp_path)).open("nope")


def _hold_lock(root: str, container_id: str, started: object, release: object) -> None:
    cdir = StateStore(root).open(container_id)
    started.set()  # type: ignore[attr-defined]
    release.wait(30)  # type: ignore[attr-defined]
    cdir.close()


def _make(store: StateStore, container_id: str) -> None:
    cdir = store.create(container_id)
    cdir.write_state({"id": container_id})
    cdir.close()


def _lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_same_id_serializes_other_ids_do_not_wait(tmp_path: Path) -> None:
    """While one command holds container a, a is locked and b is not."""
    store = StateStore(str(tmp_path))
    _make(store, "a")
    _make(store, "b")
    ctx = multiprocessing.get_context("fork")
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), "a", started, release))
    holder.start()
    try:
        assert started.wait(10)
        assert not _lock_is_free(tmp_path / "a")
        assert _lock_is_free(tmp_path / "b")
        store.open("b").close()
    finally:
        release.set()
        holder.join()
    store.open("a").close()  # free again once the holder is done


def test_open_after_concurrent_delete_is_not_found(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path))
    _make(store, "gone")
    cdir = store.open("gone")
    cdir.remove()
    cdir.close()
    with pytest.raises(ContainerNotFound):
        store.open("gone")
