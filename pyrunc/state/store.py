"""The state store: ``<root>/<id>/state.json``, written atomically, one lock per container.

Atomic: state.json is written to a temp file in the same directory and renamed over, so a
reader never sees half a file even if pyrunc is killed mid-write. (Not fsync'ed, as runc does
not: the root is a tmpfs under /run, and after a power loss no container is left to describe;
on a disk-backed --root each fsync cost `create` ~0.7 ms.) Locked: a command that
changes a container holds ``flock(LOCK_EX)`` on the container's directory fd, so concurrent
commands on one id serialize while different ids never wait on each other.
"""

from __future__ import annotations

import errno
import fcntl
import os

from pyrunc import jsonio
from pyrunc.errors import ContainerNotFound, PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

STATE_FILE = "state.json"
_CREATING = ".creating-"  # <root>/.<id>.creating-<pid>: a directory not yet renamed into place
MAX_ID_BYTES = 1024
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def check_id(container_id: str) -> None:
    """runc's rules: non-empty, [A-Za-z0-9_+.-], not . or .., at most 1024 bytes.

    With these, ``<root>/<id>`` can never name anything outside the root.
    """
    if not container_id:
        raise PyruncError("container id cannot be empty")
    if container_id in (".", "..") or not _ID_CHARS.issuperset(container_id):
        raise PyruncError(f'invalid container id "{container_id}": only [A-Za-z0-9_+.-] allowed')
    if len(container_id.encode()) > MAX_ID_BYTES:
        raise PyruncError(f"invalid container id: longer than {MAX_ID_BYTES} bytes")


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a mix."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory or ".", f".{name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    try:
        os.rename(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ContainerDir:
    """A container's state directory, locked for the lifetime of this object."""

    def __init__(self, container_id: str, path: str, fd: int) -> None:
        self.id = container_id
        self.path = path
        self.fd = fd

    def read_state(self) -> dict[str, Any]:
        with open(os.path.join(self.path, STATE_FILE), "rb") as f:
            doc: dict[str, Any] = jsonio.loads(f.read())
        return doc

    def write_state(self, doc: dict[str, Any]) -> None:
        write_atomic(os.path.join(self.path, STATE_FILE), jsonio.dumps(doc).encode(), 0o600)

    def remove(self) -> None:
        """Remove the directory and everything in it (we hold the lock; nobody else writes)."""
        for name in os.listdir(self.path):
            try:
                os.unlink(os.path.join(self.path, name))
            except IsADirectoryError:
                import shutil

                shutil.rmtree(os.path.join(self.path, name), ignore_errors=True)
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.path)
        except FileNotFoundError:
            pass

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock
            self.fd = -1

    def __enter__(self) -> ContainerDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StateStore:
    def __init__(self, root: str, mode: int = 0o711) -> None:
        self.root = root
        self.mode = mode  # of the root, when create makes it

    def path(self, container_id: str) -> str:
        check_id(container_id)
        return os.path.join(self.root, container_id)

    def create(self, container_id: str, doc: dict[str, Any] | None = None) -> ContainerDir:
        """Make and lock the directory of a new container, with ``doc`` as its state; a used
        id fails.

        The directory is made, locked and given its state.json under a hidden temporary name
        (``ids()`` skips it), then renamed into place: a container directory is never seen
        without its state, even if pyrunc is killed between the two (a bare ``<id>`` directory
        would make the id "already exist" for create and "not exist" for delete). rename(2)
        onto an existing container's directory fails, as it is not empty: one of two
        concurrent creates of an id wins. The temporary name carries the creator's pid, so a
        killed creator's leftover is recognised and swept by the next create."""
        path = self.path(container_id)
        if not os.path.isdir(self.root):
            try:
                os.makedirs(self.root, mode=self.mode & 0o777, exist_ok=True)
                os.chmod(self.root, self.mode)  # makedirs' mode is masked by the umask
            except OSError as err:
                raise PyruncError(f"--root {self.root}: cannot create the state directory: "
                                  f"{err.strerror}") from None
        if os.path.lexists(path):
            raise PyruncError(f'container with id "{container_id}" already exists')
        self._sweep()
        tmp = os.path.join(self.root, f".{container_id}{_CREATING}{os.getpid()}")
        try:
            try:
                os.mkdir(tmp, 0o711)
            except FileExistsError:  # a killed create that had our pid: stale
                ContainerDir("", tmp, -1).remove()
                os.mkdir(tmp, 0o711)
        except OSError as err:
            raise PyruncError(f"--root {self.root}: {err.strerror}") from None
        fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        cdir = ContainerDir(container_id, tmp, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            cdir.write_state(doc if doc is not None else {"id": container_id})
            os.rename(tmp, path)
        except BaseException as err:
            cdir.remove()
            cdir.close()
            if isinstance(err, OSError) and err.errno in (errno.ENOTEMPTY, errno.EEXIST,
                                                          errno.ENOTDIR, errno.EISDIR):
                raise PyruncError(f'container with id "{container_id}" already exists'
                                  ) from None
            raise
        cdir.path = path
        return cdir

    def _sweep(self) -> None:
        """Remove what creates killed before their rename left (their pid is gone)."""
        try:
            names = os.listdir(self.root)
        except OSError as err:  # another user's root (non-root pyrunc, /run/pyrunc)
            raise PyruncError(f"--root {self.root}: {err.strerror}") from None
        for name in names:
            if not name.startswith(".") or _CREATING not in name:
                continue
            pid = name.rpartition(_CREATING)[2]
            if not (pid.isascii() and pid.isdigit()) or _alive(int(pid)):
                continue
            stale = ContainerDir("", os.path.join(self.root, name), -1)
            try:
                stale.remove()
            except OSError:
                pass

    def open(self, container_id: str, lock: bool = True) -> ContainerDir:
        """Open (and by default lock) an existing container's directory."""
        path = self.path(container_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerNotFound(container_id) from None
        except PermissionError as err:  # another user's root (non-root pyrunc, /run/pyrunc)
            raise PyruncError(f"--root {self.root}: {err.strerror}") from None
        if lock:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A concurrent delete may have removed the dir while we waited for the lock.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same or not os.path.exists(os.path.join(path, STATE_FILE)):
                os.close(fd)
                raise ContainerNotFound(container_id)
        return ContainerDir(container_id, path, fd)

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        except OSError as err:
            if err.errno == errno.ENOTDIR:
                raise PyruncError(f"--root {self.root}: not a directory") from None
            if err.errno == errno.EACCES:
                raise PyruncError(f"--root {self.root}: {err.strerror}") from None
            raise
        return sorted(n for n in names if not n.startswith("."))
