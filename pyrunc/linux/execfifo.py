"""The exec fifo: how `start` releases a created container's init.

A module of its own so that `start` imports only this (and no socket, struct or plan code):
every CLI call is a fresh process. The fifo is made by the launcher (launcher.py) and opened
read-write by the init's stage 1; see docs/native.md.
"""

from __future__ import annotations

import errno
import os

from pyrunc.errors import LaunchError

EXEC_FIFO = "exec.fifo"


def start(state_dir: str, pid: int) -> None:
    """Let a created container's init exec its process: write one byte into the exec fifo,
    then wait until the init's read end closes, which its execve does (O_CLOEXEC): on return
    the container's process runs (or the init died). ``pid`` names the init in errors."""
    fifo = os.path.join(state_dir, EXEC_FIFO)
    try:
        # non-blocking: no reader (ENXIO) means the init is gone, instead of a hang
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LaunchError("cannot start a container that is not created") from None
    except OSError as err:
        if err.errno != errno.ENXIO:
            raise LaunchError(f"exec fifo: {err.strerror}") from None
        unlink(fifo)
        raise LaunchError(f"the container init ({pid}) exited before start") from None
    try:
        os.write(fd, b"0")
        import select

        poller = select.poll()
        poller.register(fd, 0)  # POLLERR, always reported: the last reader has gone
        while not poller.poll():
            pass
        if _unread(fifo):  # the init died without reading the byte
            raise LaunchError(f"the container init ({pid}) exited before start")
    finally:
        os.close(fd)
        unlink(fifo)


def _unread(fifo: str) -> bool:
    """Whether the byte is still in the fifo: read it back through a reader of our own
    (FIONREAD would need the termios module, a shared library to load for every `start`).
    Our write end is still open, so an empty fifo reads as EAGAIN, not as EOF."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
