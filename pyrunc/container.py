"""A container as the state store records it, and its status as the live system shows it.

The status is never trusted from disk alone: the init may die without anyone calling pyrunc
(the caller, conmon or a shim, reaps it). So the recorded pid and its start time (field 22 of
/proc/<pid>/stat) are compared with the live process; a dead, zombie or reused pid reads as
``stopped``. While the exec fifo exists the init is waiting for ``start``: ``created``.
"""

from __future__ import annotations

import os

from pyrunc import SPEC_VERSION
from pyrunc.linux.execfifo import EXEC_FIFO

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


def read_proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of a live process, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


class Container:
    """The recorded facts of one container (state.json) plus derived status."""

    def __init__(self, doc: dict[str, Any], state_dir: str, locked: bool = False) -> None:
        self.doc = doc
        self.state_dir = state_dir
        self.locked = locked  # the caller holds the state directory's lock

    @classmethod
    def new(cls, container_id: str, bundle: str, rootfs: str, config: dict[str, Any],
            created: str, state_dir: str) -> Container:
        return cls({
            "id": container_id, "bundle": bundle, "rootfs": rootfs, "created": created,
            "pid": 0, "start_time": 0, "phase": "creating",
            "annotations": config.get("annotations") or {},
            "config": config, "cgroup": {},
        }, state_dir)

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def pid(self) -> int:
        return int(self.doc["pid"])

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.doc["config"]
        return config

    def init_alive(self) -> bool:
        """Is the recorded init still the live, non-zombie process it was?"""
        if self.pid <= 0:
            return False
        stat = read_proc_stat(self.pid)
        return stat is not None and stat[0] not in "ZX" and stat[1] == self.doc["start_time"]

    def status(self) -> str:
        if self.doc["phase"] == "creating":
            if self.pid > 0 and not self.init_alive():
                return "stopped"
            if not self._creator_gone():
                return "creating"
            if self.doc["phase"] == "creating":  # (re-read: it may have just finished)
                # `create` was killed: whatever it left (maybe an init waiting on the fifo)
                # is no container; `delete` removes it
                return "stopped"
            return self.status()
        if not self.init_alive():
            return "stopped"
        if os.path.exists(os.path.join(self.state_dir, EXEC_FIFO)):
            return "created"
        if self.doc.get("cgroup"):
            from pyrunc.linux import cgroups

            if cgroups.is_frozen(self.doc["cgroup"]):
                return "paused"
        return "running"

    def _creator_gone(self) -> bool:
        """Is the `create` that wrote this "creating" state gone? It holds the directory's
        lock from before its first write until its last, so a lock we can take (or hold)
        means it is gone; the state is then re-read, as it may have finished meanwhile."""
        if self.locked:
            return True
        import fcntl

        try:
            fd = os.open(self.state_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False  # it failed and removed the directory: it reads as not existing
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            from pyrunc import jsonio

            try:
                with open(os.path.join(self.state_dir, "state.json"), "rb") as f:
                    self.doc = jsonio.loads(f.read())
            except FileNotFoundError:
                return False
            return True
        finally:
            os.close(fd)

    def owner(self) -> str:
        uid = os.stat(self.state_dir).st_uid
        try:
            import pwd

            return pwd.getpwuid(uid).pw_name
        except (KeyError, ImportError):
            return str(uid)

    def oci_state(self, status: str | None = None) -> dict[str, Any]:
        """The runtime-spec state, with runc's extra fields, in runc's key order."""
        status = status or self.status()
        state: dict[str, Any] = {
            "ociVersion": SPEC_VERSION,
            "id": self.id,
            "pid": self.pid if status != "stopped" else 0,
            "status": status,
            "bundle": self.doc["bundle"],
            "rootfs": self.doc["rootfs"],
            "created": self.doc["created"],
            "owner": "",
        }
        if self.doc.get("annotations"):
            state["annotations"] = self.doc["annotations"]
        return state

    def hook_state(self, status: str) -> dict[str, Any]:
        """The state given to hooks on stdin: the runtime-spec fields only."""
        state: dict[str, Any] = {
            "ociVersion": SPEC_VERSION, "id": self.id, "status": status,
            "pid": self.pid, "bundle": self.doc["bundle"],
        }
        if self.doc.get("annotations"):
            state["annotations"] = self.doc["annotations"]
        return state
