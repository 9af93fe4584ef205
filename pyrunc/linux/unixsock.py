"""Unix sockets for the launcher, on CPython's C socket module (``_socket``) directly.

socket.py wraps ``_socket`` in enum conversions and selectors that cost every `create` ~4 ms
(and import enum, ~5 ms more, docs/performance.md); the launcher needs only a socketpair, a
connect and SCM_RIGHTS, which are ``_socket`` methods already. Sockets are made
close-on-exec, as socket.py makes them.
"""

from __future__ import annotations

import _socket
import sys

Socket = _socket.socket
MSG_CMSG_CLOEXEC = _socket.MSG_CMSG_CLOEXEC
_INT = 4  # sizeof(int): one fd in an SCM_RIGHTS message


def seqpacket_pair() -> tuple[Socket, Socket]:
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def connect(path: str) -> Socket:
    """A stream socket connected to the unix socket at ``path`` (OSError as connect's)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def send_fds_to(path: str, data: bytes, fds: list[int]) -> None:
    """Connect to the unix socket at ``path``, send ``data`` with ``fds``, close."""
    sock = connect(path)
    try:
        send_fds(sock, data, fds)
    finally:
        sock.close()


def send_fds(sock: Socket, data: bytes, fds: list[int]) -> None:
    """socket.send_fds: ``data`` with ``fds`` attached (SCM_RIGHTS)."""
    rights = b"".join(fd.to_bytes(_INT, sys.byteorder, signed=True) for fd in fds)
    sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])


def recv_fds(sock: Socket, bufsize: int, maxfds: int, flags: int = 0) -> tuple[bytes, list[int]]:
    """socket.recv_fds: a message and the fds that came with it (closed on exec when
    ``flags`` has MSG_CMSG_CLOEXEC)."""
    data, ancdata, _, _ = sock.recvmsg(bufsize, _socket.CMSG_LEN(maxfds * _INT), flags)
    fds = []
    for level, kind, payload in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % _INT
            fds += [int.from_bytes(payload[i:i + _INT], sys.byteorder, signed=True)
                    for i in range(0, usable, _INT)]
    return data, fds

