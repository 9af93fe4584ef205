"""OOM kill notification for ``pyrunc events``: a pollable fd and a count of new OOM kills.

v1: an eventfd registered in cgroup.event_control for memory.oom_control wakes the poller; the
number comes from oom_control's ``oom_kill`` counter where the kernel has it (4.13+), else from
the eventfd's count. v2: inotify on memory.events (the kernel notifies it on change) and its
``oom_kill`` counter.
"""

from __future__ import annotations

import errno
import os

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_IN_MODIFY = 0x2
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC


def _counter(path: str, key: str) -> int | None:
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (FileNotFoundError, OSError, ValueError):
        return None
    return None


def oom_kills(record: dict[str, Any]) -> int:
    """OOM kills counted so far in the container's memory cgroup (v1 oom_control, v2
    memory.events); 0 when there is no memory controller or the kernel does not count."""
    paths: dict[str, str] = record.get("paths") or {}
    v1 = next((d for h, d in paths.items() if h and "memory" in h.split(",")), None)
    if v1 is not None:
        return _counter(os.path.join(v1, "memory.oom_control"), "oom_kill") or 0
    if "" in paths:
        return _counter(os.path.join(paths[""], "memory.events"), "oom_kill") or 0
    return 0


class OomWatcher:
    def __init__(self, record: dict[str, Any]) -> None:
        paths: dict[str, str] = record.get("paths") or {}
        self._fd = -1
        v1 = next((d for h, d in paths.items() if h and "memory" in h.split(",")), None)
        if v1 is not None:
            self._file = os.path.join(v1, "memory.oom_control")
            self._v1 = True
            self._fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            try:
                control = os.open(self._file, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    with open(os.path.join(v1, "cgroup.event_control"), "w") as f:
                        f.write(f"{self._fd} {control}")
                finally:
                    os.close(control)  # the kernel holds its own reference now
            except OSError as err:
                self.close()
                raise PyruncError(f"cgroup {v1}: OOM notification: {err.strerror}") from None
        elif "" in paths and os.path.exists(os.path.join(paths[""], "memory.events")):
            self._file = os.path.join(paths[""], "memory.events")
            self._v1 = False
            self._fd = _inotify(self._file)
        else:
            raise PyruncError("cgroup: no memory controller to watch for OOM kills")
        self._seen = _counter(self._file, "oom_kill") or 0

    def fileno(self) -> int:
        return self._fd

    def read(self) -> int:
        """New OOM kills since the last read (0 when woken for nothing, e.g. cgroup removal)."""
        woken = 0
        try:
            if self._v1:
                woken = os.eventfd_read(self._fd)
            else:
                while os.read(self._fd, 4096):
                    woken = 1
        except BlockingIOError:
            pass
        except OSError as err:
            if err.errno != errno.EAGAIN:
                raise
        count = _counter(self._file, "oom_kill")
        if count is None:
            return woken if self._v1 else 0
        new, self._seen = max(count - self._seen, 0), count
        if self._v1 and not new and woken:
            return woken  # an OOM with the killer disabled: runc reports it as an oom too
        return new

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> OomWatcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _inotify(path: str) -> int:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    fd = int(libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC))
    if fd < 0:
        raise PyruncError(f"inotify: {os.strerror(ctypes.get_errno())}")
    if libc.inotify_add_watch(fd, os.fsencode(path), _IN_MODIFY) < 0:
        err = ctypes.get_errno()
        os.close(fd)
        raise PyruncError(f"{path}: inotify: {os.strerror(err)}")
    return fd
