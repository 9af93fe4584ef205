"""`pyrunc run` with process.terminal and no --console-socket: like runc, receive the pty
master ourselves and relay it to our own stdin/stdout until the container exits."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import tempfile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


class ConsoleReceiver:
    """A private unix socket to pass as --console-socket, and the master fd it receives."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="pyrunc-console-")
        self.path = os.path.join(self.directory, "console.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)

    def receive(self) -> int:
        conn, _ = self.server.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        return fds[0]

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ConsoleReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _copy_winsize(master: int) -> None:
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _drain(master: int) -> None:
    """Copy what the container wrote before its init exited and is still in the pty: the
    exit and the last output can be seen in the same select round. Non-blocking, since
    another holder of the slave could keep it open."""
    os.set_blocking(master, False)
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EAGAIN: nothing more now; EIO: the slave is closed
            return
        if not data:
            return
        os.write(1, data)


def relay(master: int, pid: int) -> int:
    """Copy stdin to the pty and the pty to stdout until the container init exits; return
    its exit status (128+N for signal N)."""
    import termios
    import tty

    saved: Any = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        _copy_winsize(master)
        signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(master))
    pidfd = os.pidfd_open(pid)
    watch = [master, pidfd, 0]
    try:
        while True:
            ready, _, _ = select.select(watch, [], [])
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the last slave holder is gone
                    data = b""
                if data:
                    os.write(1, data)
                else:
                    watch.remove(master)
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    watch.remove(0)
            if pidfd in ready:
                if master in watch:
                    _drain(master)
                break
        from pyrunc.lifecycle import wait_exit_status

        return wait_exit_status(pid)
    finally:
        os.close(pidfd)
        os.close(master)
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
