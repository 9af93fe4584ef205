"""pyrunc events: the container's resource statistics and OOM kills, as runc's JSON lines.

``--stats`` prints one ``{"type":"stats","id":...,"data":{...}}`` and exits. Without it a
stats line follows every ``--interval`` and an ``{"type":"oom","id":...}`` line each OOM
kill, until the container stops.
"""

from __future__ import annotations

import json
import re
import sys

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.cli.invoke import GlobalOptions

DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                  "h": 3600.0}


def main(opts: GlobalOptions, container_id: str, interval: str, stats: bool) -> int:
    from pyrunc import lifecycle

    period = parse_duration("--interval", interval)
    cdir, container = lifecycle.load(opts, container_id, lock=False)
    with cdir:
        if container.status() == "stopped":
            raise PyruncError(f"container with id {container_id} is not running")
    record: dict[str, Any] = container.doc.get("cgroup") or {}
    if stats:
        _emit({"type": "stats", "id": container_id, "data": collect(record, container.pid)})
        return 0
    return _stream(container, record, period)


def collect(record: dict[str, Any], pid: int) -> dict[str, Any]:
    """runc's stats "data": the cgroup parts, intel_rdt (unsupported: empty) and the
    container's network interfaces."""
    from pyrunc.linux import cgroups

    data: dict[str, Any] = cgroups.stats(record) if record.get("paths") else {}
    data["intel_rdt"] = {}
    data["network_interfaces"] = network_interfaces(pid)
    return data


NET_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
              "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")


def network_interfaces(pid: int) -> list[dict[str, Any]] | None:
    """Counters of the interfaces in the container's network namespace (loopback left out,
    as runc does), from /proc/<pid>/net/dev."""
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    found = []
    for line in lines:
        name, _, counters = line.partition(":")
        name = name.strip()
        if name == "lo":
            continue
        values = [int(v) for v in counters.split()]
        # receive: bytes packets errs drop fifo frame compressed multicast; transmit: the same
        rx, tx = values[0:4], values[8:12]
        found.append({"name": name, **dict(zip(NET_FIELDS, rx + tx, strict=True))})
    return found or None


def _stream(container: Any, record: dict[str, Any], period: float) -> int:
    import select
    import time

    from pyrunc.linux.cgroups._oom import OomWatcher

    watcher = OomWatcher(record) if record.get("paths") else None
    next_stats = time.monotonic()
    try:
        while container.init_alive():
            now = time.monotonic()
            if now >= next_stats:
                _emit({"type": "stats", "id": container.id,
                       "data": collect(record, container.pid)})
                next_stats = now + period
            timeout = max(0.0, min(next_stats - time.monotonic(), 0.5))
            if watcher is None:
                time.sleep(timeout)
                continue
            ready, _, _ = select.select([watcher], [], [], timeout)
            if ready:
                for _ in range(watcher.read()):
                    _emit({"type": "oom", "id": container.id})
        if watcher is not None:  # an OOM kill that ended the container still gets its line
            for _ in range(watcher.read()):
                _emit({"type": "oom", "id": container.id})
    finally:
        if watcher is not None:
            watcher.close()
    return 0


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def parse_duration(flag: str, text: str) -> float:
    """A Go duration ("5s", "100ms", "1m30s") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise PyruncError(f'{flag}: invalid duration "{text}"')
    seconds = sum(float(n) * DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise PyruncError(f"{flag}: must be greater than 0")
    return seconds
