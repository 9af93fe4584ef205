"""linux.netDevices: move host interfaces into the container's network namespace.

Addresses do not survive a move between namespaces, so they are read first and added again
inside, and the interface is brought up, as the runtime-spec asks. pyroute2 is imported
only here, only for configs that have netDevices: it costs ~250 ms. (A new network
namespace's loopback is brought up by the C init with one ioctl, no netlink needed.)
"""

from __future__ import annotations

from typing import Any


def move_devices(config: dict[str, Any], pid: int) -> None:
    devices: dict[str, Any] = (config.get("linux") or {}).get("netDevices") or {}
    if not devices:
        return
    from pyroute2 import IPRoute, NetNS

    netns_path = f"/proc/{pid}/ns/net"
    with IPRoute() as host:
        for name, spec in devices.items():
            target = (spec or {}).get("name") or name
            links = host.link_lookup(ifname=name)
            if not links:
                raise ValueError(f'linux.netDevices["{name}"]: no such interface on the host')
            index = links[0]
            addresses = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                         for a in host.get_addr(index=index)]
            ns_fd = open(netns_path, "rb")  # noqa: SIM115 - the fd must outlive the call
            try:
                host.link("set", index=index, net_ns_fd=ns_fd.fileno(), ifname=target)
            finally:
                ns_fd.close()
            with NetNS(netns_path) as inside:
                new_index = inside.link_lookup(ifname=target)[0]
                for address, prefixlen in addresses:
                    inside.addr("add", index=new_index, address=address, prefixlen=prefixlen)
                inside.link("set", index=new_index, state="up")
