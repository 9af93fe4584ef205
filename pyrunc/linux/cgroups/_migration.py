"""Paying the kernel's first-migration wait in the background.

Moving a process into a cgroup (a write to ``cgroup.procs``, v1 or v2) takes the kernel's
global ``cgroup_threadgroup_rwsem`` for writing. When no migration happened in the last few
milliseconds that lock is in its fast mode, and the writer first waits for an RCU grace period
to switch it over: 7-27 ms in the development VM, once the largest wait in ``create``. A
writer that comes within about a grace period after another one does not wait (the lock is
still in its slow mode), and takes ~0.1 ms.

Most containers avoid the wait altogether: their init enters its cgroups by itself, which
takes no such lock (join_v1_cgroups and clone_init in native/init/main.c). Where pyrunc must
move a process by pid (a user namespace, ``--systemd-cgroup``, ``exec --cgroup``, ``exec``
into a paused container: docs/cgroups.md), it starts a thread that writes pyrunc's own pid
into pyrunc's own ``cgroup.procs`` (a migration to where the process already is: nothing
moves, but the kernel takes the lock the same way) and repeats that every few milliseconds
while the process is set up; when the real pid is written, the lock is already in its slow
mode. runc hides the same wait by joining the cgroups while its child
starts. Every error is ignored: this only ever saves time (rootless, a read-only cgroupfs, or a
v2 cgroup that refuses processes: nothing is gained and nothing breaks). docs/performance.md
has the measurements.
"""

from __future__ import annotations

import _thread
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyrunc.linux.cgroups import Layout

# Re-write well inside the ~10-20 ms the lock stays in its slow mode after a writer; the thread
# may also wait up to the interpreter's switch interval (5 ms) for the GIL after waking.
PERIOD_S = 0.003
LIMIT_S = 10.0  # a create that takes longer than this has worse problems than this wait


def _own_procs_file(layout: Layout) -> str | None:
    """cgroup.procs of pyrunc's own cgroup, in a v1 hierarchy when there is one (a v2 cgroup
    with controllers enabled below it refuses processes; the lock is global, any will do)."""
    for hierarchy in sorted(layout.mounts, key=lambda h: h == ""):
        own = layout.own.get(hierarchy)
        if own is not None:
            return os.path.join(layout.mounts[hierarchy], own.lstrip("/"), "cgroup.procs")
    return None


def start_warming(layout: Layout) -> Callable[[], None]:
    """Start the background writes; returns ``stop``, which ends them (call it once the real
    migrations are done; it returns after the thread's last write; calling it again does
    nothing)."""
    path = _own_procs_file(layout)
    try:
        if path is None:
            raise OSError
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return _nothing
    pid = str(os.getpid()).encode()
    stop_requested = _thread.allocate_lock()
    stop_requested.acquire()
    finished = _thread.allocate_lock()
    finished.acquire()

    def keep_warm() -> None:
        try:
            waited = 0.0
            while waited < LIMIT_S:
                try:
                    os.write(fd, pid)  # the GIL is released while the kernel waits
                except OSError:
                    return  # refused before or after the lock: no use repeating it
                if stop_requested.acquire(timeout=PERIOD_S):
                    return
                waited += PERIOD_S
        finally:
            os.close(fd)
            finished.release()

    _thread.start_new_thread(keep_warm, ())

    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:  # the first call stops it; later ones have nothing to do
            stopped.append(True)
            stop_requested.release()
            finished.acquire()

    return stop


def _nothing() -> None:
    return None
