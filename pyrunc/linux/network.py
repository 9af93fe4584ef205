"""linux.netDevices: move host interfaces into the container's network namespace.

As runc does: the interface is set down on the host, moved and renamed in one netlink
request (so the new name never clashes on the host), its permanent global-scope addresses
(which the kernel drops on a move) are added again inside, and it is brought up. If the
container's namespace goes away, the kernel moves physical devices back to the host.

pyroute2 is imported only here, only for configs that have netDevices: it costs ~250 ms.
Its own netns support forks a Python child, which pyrunc never does: the netlink socket for
the container's side is made by this thread after a setns, and the thread goes back at once.
(A new network namespace's loopback is brought up by the C init with one ioctl.)
"""

from __future__ import annotations

import os
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

CLONE_NEWNET = 0x40000000
IFA_F_PERMANENT = 0x80
RT_SCOPE_UNIVERSE = 0


def move_devices(config: dict[str, Any], pid: int) -> None:
    """Move each of ``linux.netDevices`` into the network namespace of ``pid``.
    Raises ValueError('linux.netDevices["NAME"]: <why>') on any failure."""
    from pyroute2 import NetlinkError

    devices: dict[str, Any] = (config.get("linux") or {}).get("netDevices") or {}
    for name, spec in devices.items():
        target = (spec or {}).get("name") or name
        try:
            _move(name, target, f"/proc/{pid}/ns/net")
        except NetlinkError as err:
            raise ValueError(f'linux.netDevices["{name}"]: move to the container as {target}: '
                             f"{os.strerror(err.code)}") from None
        except (OSError, LookupError) as err:
            why = getattr(err, "strerror", None) or (err.args[-1] if err.args else err)
            raise ValueError(f'linux.netDevices["{name}"]: {why}') from None


def _move(name: str, target: str, netns_path: str) -> None:
    from pyroute2 import IPRoute

    with IPRoute() as host:
        links = host.link_lookup(ifname=name)
        if not links:
            raise LookupError("no such interface on the host")
        index = links[0]
        host.link("set", index=index, state="down")
        addresses = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                     for a in host.get_addr(index=index)
                     if _flags(a) & IFA_F_PERMANENT and a["scope"] == RT_SCOPE_UNIVERSE]
        with open(netns_path, "rb") as ns:
            host.link("set", index=index, net_ns_fd=ns.fileno(), ifname=target)
    with _netns(netns_path):  # a netlink socket belongs to the netns it is made in
        inside = IPRoute()
    with inside:
        found = inside.link_lookup(ifname=target)
        if not found:
            raise LookupError(f"{target} not found in the container after the move")
        for address, prefixlen in addresses:
            inside.addr("add", index=found[0], address=address, prefixlen=prefixlen)
        inside.link("set", index=found[0], state="up")


def _flags(msg: Any) -> int:
    """IFA_FLAGS (32 bits) when the kernel sends it, else the 8-bit header flags."""
    extended = msg.get_attr("IFA_FLAGS")
    return int(extended if extended is not None else msg["flags"])


@contextmanager
def _netns(path: str) -> Iterator[None]:
    """This thread in the network namespace at ``path`` for a moment (setns of a network
    namespace affects the calling thread only; Python 3.11 has no os.setns)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"join the container's network namespace: {os.strerror(err)}")
        try:
            yield
        finally:
            if libc.setns(home, CLONE_NEWNET) != 0:  # cannot happen: we came from there
                raise SystemExit("pyrunc: cannot return to the host's network namespace")
    finally:
        os.close(target)
        os.close(home)
