"""runc's ``events --stats`` data (types/events.go of runc 1.1) read from v1 or v2 files.

Keys follow runc's JSON: fields tagged omitempty are left out when zero or empty; structs are
always present. Each controller is read where it lives (v1 hierarchy, else the cgroup2 dir).
"""

from __future__ import annotations

import os

from pyrunc.linux.cgroups._resources import Target

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_MAX_UINT64 = (1 << 64) - 1
_NS = 1_000_000_000


def _text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _uint(path: str) -> int:
    text = _text(path)
    if text is None or not text.strip():
        return 0
    value = text.split()[0]
    if value == "max":
        return _MAX_UINT64
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def _keyed(path: str) -> dict[str, int]:
    """A "key value" per line file (memory.stat, cpu.stat, memory.events)."""
    out: dict[str, int] = {}
    for line in (_text(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def _omit(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys or v}


def _memory_entry(limit: int, usage: int = 0, max_: int = 0, failcnt: int = 0
                  ) -> dict[str, Any]:
    return _omit({"limit": limit, "usage": usage, "max": max_, "failcnt": failcnt},
                 "usage", "max")


def _cpu(target: Target) -> dict[str, Any]:
    usage: dict[str, Any] = {"total": 0, "percpu": [], "percpu_kernel": [], "percpu_user": [],
                             "kernel": 0, "user": 0}
    throttling = {"periods": 0, "throttledPeriods": 0, "throttledTime": 0}
    if target.v1("cpuacct") or target.v1("cpu"):
        acct = target.v1("cpuacct")
        if acct:
            usage["total"] = _uint(os.path.join(acct, "cpuacct.usage"))
            usage["percpu"] = [int(v) for v in
                               (_text(os.path.join(acct, "cpuacct.usage_percpu")) or "").split()]
            ticks = os.sysconf("SC_CLK_TCK")
            stat = _keyed(os.path.join(acct, "cpuacct.stat"))
            usage["user"] = stat.get("user", 0) * _NS // ticks
            usage["kernel"] = stat.get("system", 0) * _NS // ticks
            rows = (_text(os.path.join(acct, "cpuacct.usage_all")) or "").splitlines()[1:]
            usage["percpu_user"] = [int(r.split()[1]) for r in rows if len(r.split()) == 3]
            usage["percpu_kernel"] = [int(r.split()[2]) for r in rows if len(r.split()) == 3]
        cpu = target.v1("cpu")
        if cpu:
            stat = _keyed(os.path.join(cpu, "cpu.stat"))
            throttling = {"periods": stat.get("nr_periods", 0),
                          "throttledPeriods": stat.get("nr_throttled", 0),
                          "throttledTime": stat.get("throttled_time", 0)}
    elif target.unified:
        stat = _keyed(os.path.join(target.unified, "cpu.stat"))
        usage["total"] = stat.get("usage_usec", 0) * 1000
        usage["user"] = stat.get("user_usec", 0) * 1000
        usage["kernel"] = stat.get("system_usec", 0) * 1000
        throttling = {"periods": stat.get("nr_periods", 0),
                      "throttledPeriods": stat.get("nr_throttled", 0),
                      "throttledTime": stat.get("throttled_usec", 0) * 1000}
    return {"usage": _omit(usage, "total", "percpu", "percpu_kernel", "percpu_user"),
            "throttling": _omit(throttling, "periods", "throttledPeriods", "throttledTime")}


def _memory(target: Target) -> dict[str, Any]:
    empty = _memory_entry(0)
    out: dict[str, Any] = {"cache": 0, "usage": empty, "swap": empty, "kernel": empty,
                           "kernelTCP": empty, "raw": {}}
    v1 = target.v1("memory")
    if v1:
        raw = _keyed(os.path.join(v1, "memory.stat"))

        def entry(prefix: str) -> dict[str, Any]:
            p = os.path.join(v1, prefix)
            if not os.path.exists(p + "usage_in_bytes"):
                return empty
            return _memory_entry(_uint(p + "limit_in_bytes"), _uint(p + "usage_in_bytes"),
                                 _uint(p + "max_usage_in_bytes"), _uint(p + "failcnt"))

        out.update(cache=raw.get("cache", 0), raw=raw, usage=entry("memory."),
                   swap=entry("memory.memsw."), kernel=entry("memory.kmem."),
                   kernelTCP=entry("memory.kmem.tcp."))
    elif target.unified and "memory" in target.v2_controllers():
        d = target.unified
        raw = _keyed(os.path.join(d, "memory.stat"))
        usage = _uint(os.path.join(d, "memory.current"))
        limit = _uint(os.path.join(d, "memory.max"))
        events = _keyed(os.path.join(d, "memory.events"))
        out.update(cache=raw.get("file", 0), raw=raw,
                   usage=_memory_entry(limit, usage, _uint(os.path.join(d, "memory.peak")),
                                       events.get("max", 0)))
        if os.path.exists(os.path.join(d, "memory.swap.current")):
            # v1 reports memory+swap: so does runc on v2, for compatibility
            swap_limit = _uint(os.path.join(d, "memory.swap.max"))
            if swap_limit != _MAX_UINT64 and limit != _MAX_UINT64:
                swap_limit += limit
            out["swap"] = _memory_entry(swap_limit,
                                        _uint(os.path.join(d, "memory.swap.current")) + usage)
    return _omit(out, "cache", "raw")


def _pids(target: Target) -> dict[str, Any]:
    version = target.locate("pids")
    if version is None:
        return {}
    d = target.directory("pids")
    limit = _uint(os.path.join(d, "pids.max"))
    return _omit({"current": _uint(os.path.join(d, "pids.current")),
                  "limit": 0 if limit == _MAX_UINT64 else limit}, "current", "limit")


def _blkio_entries(path: str) -> list[dict[str, Any]]:
    entries = []
    for line in (_text(path) or "").splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue  # "Total N" and blank lines
        major, _, minor = parts[0].partition(":")
        try:
            entries.append(_omit({"major": int(major), "minor": int(minor), "op": parts[1],
                                  "value": int(parts[2])}, "major", "minor", "op", "value"))
        except ValueError:
            continue
    return entries


def _blkio(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {}
    v1 = target.v1("blkio")
    if v1:
        for prefix in ("blkio.", "blkio.bfq.", "blkio.throttle."):
            serviced_file = os.path.join(v1, prefix + "io_serviced_recursive")
            if _blkio_entries(serviced_file) or prefix == "blkio.throttle.":
                out["ioServiceBytesRecursive"] = _blkio_entries(
                    os.path.join(v1, prefix + "io_service_bytes_recursive"))
                out["ioServicedRecursive"] = _blkio_entries(serviced_file)
                break
    elif target.unified and "io" in target.v2_controllers():
        service_bytes: list[dict[str, Any]] = []
        serviced: list[dict[str, Any]] = []
        for line in (_text(os.path.join(target.unified, "io.stat")) or "").splitlines():
            parts = line.split()
            if not parts or ":" not in parts[0]:
                continue
            majmin = parts[0].split(":")
            fields = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            table: tuple[tuple[str, str, list[dict[str, Any]]], ...] = (
                ("rbytes", "Read", service_bytes), ("wbytes", "Write", service_bytes),
                ("rios", "Read", serviced), ("wios", "Write", serviced))
            for key, op, into in table:
                if key in fields:
                    into.append(_omit({"major": int(majmin[0]), "minor": int(majmin[1]),
                                       "op": op, "value": int(fields[key])},
                                      "major", "minor", "op", "value"))
        out = {"ioServiceBytesRecursive": service_bytes, "ioServicedRecursive": serviced}
    return {k: v for k, v in out.items() if v}


def page_sizes(hugepages: str = "/sys/kernel/mm/hugepages") -> list[str]:
    """hugepages-2048kB -> "2MB", as the hugetlb file names spell them."""
    sizes = []
    try:
        names = os.listdir(hugepages)
    except OSError:
        return []
    for name in sorted(names):
        if not name.startswith("hugepages-") or not name.endswith("kB"):
            continue
        kb = int(name[len("hugepages-"):-2])
        for unit, scale in (("GB", 1 << 20), ("MB", 1 << 10), ("KB", 1)):
            if kb % scale == 0:
                sizes.append(f"{kb // scale}{unit}")
                break
    return sizes


def _hugetlb(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {}
    version = target.locate("hugetlb")
    if version is None:
        return out
    d = target.directory("hugetlb")
    for size in page_sizes():
        p = os.path.join(d, f"hugetlb.{size}.")
        if version == 1:
            entry = {"usage": _uint(p + "usage_in_bytes"), "max": _uint(p + "max_usage_in_bytes"),
                     "failcnt": _uint(p + "failcnt")}
        else:
            entry = {"usage": _uint(p + "current"), "max": 0,
                     "failcnt": _keyed(p + "events").get("max", 0)}
        out[size] = _omit(entry, "usage", "max")
    return out


def collect(record: dict[str, Any]) -> dict[str, Any]:
    target = Target(record)
    return {"cpu": _cpu(target), "memory": _memory(target), "pids": _pids(target),
            "blkio": _blkio(target), "hugetlb": _hugetlb(target)}
