"""linux.resources -> cgroup file writes, for v1 and v2 controllers alike.

Planning is separate from writing: ``plan`` turns the resources into a list of ``Write``s (pure
logic, unit-tested), ``apply`` checks that every file the plan needs exists, so a missing
controller is reported before anything is written, then writes them. In hybrid mode each
resource goes wherever its controller lives (``Target.locate``).
"""

from __future__ import annotations

import errno
import os

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

R = "linux.resources"
UNLIMITED = -1


class Write:
    """One cgroup file to write. (A plain class: dataclasses costs ~10 ms to import.)"""

    __slots__ = ("controller", "field", "file", "optional", "readback", "then", "value")

    def __init__(self, field: str, controller: str, file: str, value: str,
                 then: tuple[str, str] | None = None, optional: bool = False,
                 readback: bool = False) -> None:
        self.field = field  # the config field an error names
        self.controller = controller  # "" = the cgroup2 directory itself (unified keys...)
        self.file, self.value = file, value
        # written after; swapped first when the kernel says EINVAL, for pairs whose valid
        # order depends on the old values (limit/memsw, period/quota)
        self.then = then
        self.optional = optional  # skipped where the kernel lacks the file (runc ignores these)
        self.readback = readback  # the kernel clamps silently (cpu.shares): compare what it kept

    def __repr__(self) -> str:
        return f"Write({self.field!r}, {self.controller!r}, {self.file!r}, {self.value!r})"


class Plan:
    __slots__ = ("bpf_dir", "bpf_rules", "writes")

    def __init__(self, writes: list[Write]) -> None:
        self.writes = writes
        self.bpf_rules: list[dict[str, Any]] | None = None  # v2 device rules -> eBPF program
        self.bpf_dir = ""


# -- conversions (runc's and crun's formulas) ----------------------------------------------

def cpu_shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144) -> cpu.weight (1..10000); 0 stays 0 (unset)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight (10..1000) -> io.weight (1..10000); 0 stays 0 (unset)."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_v2(swap: int, limit: int | None) -> int:
    """The spec's swap is memory+swap (v1 memsw); v2's memory.swap.max is the swap alone."""
    if swap == UNLIMITED:
        return UNLIMITED
    if swap == 0:
        return 0
    if limit is None or limit in (0, UNLIMITED):
        raise ValueError("cannot set a swap limit without a memory limit")
    if swap < limit:
        raise ValueError(f"memory+swap limit ({swap}) must be >= the memory limit ({limit})")
    return swap - limit


def v2_value(value: int) -> str:
    return "max" if value == UNLIMITED else str(value)


# -- where things are ----------------------------------------------------------------------

class Target:
    """A container's cgroup directories and which controllers each offers."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.paths: dict[str, str] = record.get("paths") or {}
        self.mode = record.get("mode") or ("v2" if record.get("version") == 2 else "v1")
        self._v2: set[str] | None = None
        self.config_devices: list[dict[str, Any]] | None = None  # linux.devices (runc dedup)

    @property
    def unified(self) -> str | None:
        return self.paths.get("")

    def v2_controllers(self) -> set[str]:
        if self._v2 is None:
            self._v2 = set()
            if self.unified:
                try:
                    with open(os.path.join(self.unified, "cgroup.controllers")) as f:
                        self._v2 = set(f.read().split())
                except FileNotFoundError:
                    pass
        return self._v2

    def v1(self, controller: str) -> str | None:
        for hierarchy, directory in self.paths.items():
            if hierarchy and controller in hierarchy.split(","):
                return directory
        return None

    def locate(self, v1_name: str, v2_name: str | None = None) -> int | None:
        """1 or 2: the version that serves this controller here; None: nowhere."""
        if self.v1(v1_name):
            return 1
        if (v2_name or v1_name) in self.v2_controllers():
            return 2
        return None

    def directory(self, controller: str) -> str:
        return self.v1(controller) or self.unified or ""

    def path(self, write: Write) -> str:
        return os.path.join(self.directory(write.controller), write.file)


def _need(target: Target, field: str, v1_name: str, v2_name: str | None = None) -> int:
    version = target.locate(v1_name, v2_name)
    if version is None:
        name = v1_name if v2_name in (None, v1_name) else f"{v1_name} (v2: {v2_name})"
        raise PyruncError(f"{field}: {name} controller not available")
    return version


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PyruncError(f"{field}: {value!r} is not an integer")
    return value


def _present(section: dict[str, Any], key: str) -> bool:
    return section.get(key) is not None


# -- planning ------------------------------------------------------------------------------

def plan(resources: dict[str, Any], target: Target, *, defaults: bool,
         exists: Callable[[str], bool] = os.path.exists) -> Plan:
    """Every write ``resources`` asks for. ``defaults``: a new container, whose device rules get
    runc's default allow list (``update`` only changes what it is given)."""
    if not isinstance(resources, dict):
        raise PyruncError(f"{R}: must be an object")
    result = Plan([])
    writes = result.writes
    if resources.get("memory"):
        writes += _memory(resources["memory"], target, exists)
    if resources.get("cpu"):
        writes += _cpu(resources["cpu"], target)
    if resources.get("pids") and _present(resources["pids"], "limit"):
        limit = _int(resources["pids"]["limit"], f"{R}.pids.limit")
        _need(target, f"{R}.pids", "pids")
        if limit != 0:  # 0 is "unset" to runc
            writes.append(Write(f"{R}.pids.limit", "pids", "pids.max",
                                str(limit) if limit > 0 else "max"))
    if resources.get("blockIO"):
        writes += _block_io(resources["blockIO"], target, exists)
    if resources.get("hugepageLimits"):
        writes += _hugetlb(resources["hugepageLimits"], target)
    if resources.get("network"):
        writes += _network(resources["network"], target)
    if resources.get("rdma"):
        writes += _rdma(resources["rdma"], target)
    if "devices" in resources or defaults:
        _devices(resources.get("devices") or [], target, result, defaults=defaults)
    if resources.get("unified"):
        writes += _unified(resources["unified"], target)
    return result


def _memory(mem: dict[str, Any], target: Target, exists: Callable[[str], bool]) -> list[Write]:
    f = f"{R}.memory"
    keys = ("limit", "reservation", "swap", "swappiness", "disableOOMKiller", "useHierarchy")
    if not any(_present(mem, k) for k in keys):
        return []  # kernel/kernelTCP alone: nothing to do on v2, maybe nothing on v1
    version = _need(target, f, "memory")
    limit = _int(mem["limit"], f"{f}.limit") if _present(mem, "limit") else None
    swap = _int(mem["swap"], f"{f}.swap") if _present(mem, "swap") else None
    out: list[Write] = []
    if version == 1:
        memsw = "memory.memsw.limit_in_bytes"
        if swap is None and limit == UNLIMITED:
            swap = UNLIMITED  # runc: an unlimited memory limit lifts the memsw limit too
            if not exists(os.path.join(target.directory("memory"), memsw)):
                swap = None
        if limit is not None and swap is not None:
            out.append(Write(f"{f}.limit", "memory", "memory.limit_in_bytes", str(limit),
                             then=(memsw, str(swap))))
        elif limit is not None:
            out.append(Write(f"{f}.limit", "memory", "memory.limit_in_bytes", str(limit)))
        elif swap is not None:
            out.append(Write(f"{f}.swap", "memory", memsw, str(swap)))
        if _present(mem, "reservation"):
            out.append(Write(f"{f}.reservation", "memory", "memory.soft_limit_in_bytes",
                             str(_int(mem["reservation"], f"{f}.reservation"))))
        # runc 1.1 ignores kernel memory limits; we set them where the kernel still has them
        if _present(mem, "kernel"):
            out.append(Write(f"{f}.kernel", "memory", "memory.kmem.limit_in_bytes",
                             str(_int(mem["kernel"], f"{f}.kernel")), optional=True))
        if _present(mem, "kernelTCP"):
            out.append(Write(f"{f}.kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes",
                             str(_int(mem["kernelTCP"], f"{f}.kernelTCP")), optional=True))
        if _present(mem, "swappiness"):
            value = _int(mem["swappiness"], f"{f}.swappiness")
            if not 0 <= value <= 100:
                raise PyruncError(f"{f}.swappiness: {value} is out of range 0-100")
            out.append(Write(f"{f}.swappiness", "memory", "memory.swappiness", str(value)))
        if mem.get("disableOOMKiller"):
            out.append(Write(f"{f}.disableOOMKiller", "memory", "memory.oom_control", "1"))
        if _present(mem, "useHierarchy"):
            out.append(Write(f"{f}.useHierarchy", "memory", "memory.use_hierarchy",
                             "1" if mem["useHierarchy"] else "0"))
        return out
    if limit is not None:
        out.append(Write(f"{f}.limit", "memory", "memory.max", v2_value(limit)))
    if swap is not None:
        try:
            converted = swap_v2(swap, limit)
        except ValueError as err:
            raise PyruncError(f"{f}.swap: {err}") from None
        if converted != 0 or swap == limit:
            out.append(Write(f"{f}.swap", "memory", "memory.swap.max", v2_value(converted)))
    if _present(mem, "reservation"):
        out.append(Write(f"{f}.reservation", "memory", "memory.low",
                         v2_value(_int(mem["reservation"], f"{f}.reservation"))))
    if _present(mem, "swappiness"):
        raise PyruncError(f"{f}.swappiness: not supported on cgroup v2")
    if mem.get("disableOOMKiller"):
        raise PyruncError(f"{f}.disableOOMKiller: not supported on cgroup v2")
    # kernel, kernelTCP and useHierarchy have no v2 counterpart: ignored, as runc does
    return out


def _cpu(cpu: dict[str, Any], target: Target) -> list[Write]:
    f = f"{R}.cpu"
    out: list[Write] = []
    scheduler = ("shares", "quota", "period", "burst", "realtimeRuntime", "realtimePeriod",
                 "idle")
    values = {k: _int(cpu[k], f"{f}.{k}") for k in scheduler if _present(cpu, k)}
    if values:
        version = _need(target, f, "cpu")
        shares, quota, period = (values.get(k, 0) for k in ("shares", "quota", "period"))
        runtime, rt_period = values.get("realtimeRuntime", 0), values.get("realtimePeriod", 0)
        if version == 1:
            if shares:
                out.append(Write(f"{f}.shares", "cpu", "cpu.shares", str(shares),
                                 readback=True))
            if period and quota:
                out.append(Write(f"{f}.period", "cpu", "cpu.cfs_period_us", str(period),
                                 then=("cpu.cfs_quota_us", str(quota))))
            elif period:
                out.append(Write(f"{f}.period", "cpu", "cpu.cfs_period_us", str(period)))
            elif quota:
                out.append(Write(f"{f}.quota", "cpu", "cpu.cfs_quota_us", str(quota)))
            if "burst" in values:
                out.append(Write(f"{f}.burst", "cpu", "cpu.cfs_burst_us", str(values["burst"])))
            if rt_period and runtime:
                out.append(Write(f"{f}.realtimePeriod", "cpu", "cpu.rt_period_us",
                                 str(rt_period), then=("cpu.rt_runtime_us", str(runtime))))
            elif rt_period:
                out.append(Write(f"{f}.realtimePeriod", "cpu", "cpu.rt_period_us",
                                 str(rt_period)))
            elif runtime:
                out.append(Write(f"{f}.realtimeRuntime", "cpu", "cpu.rt_runtime_us",
                                 str(runtime)))
        else:
            if runtime or rt_period:
                key = "realtimeRuntime" if runtime else "realtimePeriod"
                raise PyruncError(f"{f}.{key}: realtime scheduling is not supported on "
                                  "cgroup v2")
            if shares:
                out.append(Write(f"{f}.shares", "cpu", "cpu.weight",
                                 str(cpu_shares_to_weight(shares))))
            if quota or period:
                value = str(quota) if quota > 0 else "max"
                out.append(Write(f"{f}.quota" if quota else f"{f}.period", "cpu", "cpu.max",
                                 f"{value} {period}" if period else value))
            if "burst" in values:
                out.append(Write(f"{f}.burst", "cpu", "cpu.max.burst", str(values["burst"])))
        if "idle" in values:
            out.append(Write(f"{f}.idle", "cpu", "cpu.idle", str(values["idle"])))
    for key in ("cpus", "mems"):
        if cpu.get(key):
            _need(target, f"{f}.{key}", "cpuset")
            out.append(Write(f"{f}.{key}", "cpuset", f"cpuset.{key}", str(cpu[key])))
    return out


def _block_io(blkio: dict[str, Any], target: Target, exists: Callable[[str], bool]
              ) -> list[Write]:
    f = f"{R}.blockIO"
    keys = ("weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
            "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice")
    if not any(blkio.get(k) for k in keys):
        return []
    version = _need(target, f, "blkio", "io")
    controller = "blkio" if version == 1 else "io"
    base = target.directory(controller)
    out: list[Write] = []

    def device(entry: dict[str, Any], where: str) -> str:
        return f"{_int(entry.get('major'), where + '.major')}:" \
               f"{_int(entry.get('minor'), where + '.minor')}"

    if version == 1:
        # CFQ's files, or BFQ's where the kernel only has that scheduler (runc 1.1 does too)
        bfq = not exists(os.path.join(base, "blkio.weight")) and \
            exists(os.path.join(base, "blkio.bfq.weight"))
        weight_file = "blkio.bfq.weight" if bfq else "blkio.weight"
        weight_device_file = "blkio.bfq.weight_device" if bfq else "blkio.weight_device"
        if blkio.get("weight"):
            out.append(Write(f"{f}.weight", controller, weight_file,
                             str(_int(blkio["weight"], f"{f}.weight"))))
        if blkio.get("leafWeight"):
            out.append(Write(f"{f}.leafWeight", controller, "blkio.leaf_weight",
                             str(_int(blkio["leafWeight"], f"{f}.leafWeight"))))
        for i, entry in enumerate(blkio.get("weightDevice") or []):
            where = f"{f}.weightDevice[{i}]"
            if entry.get("weight"):
                out.append(Write(f"{where}.weight", controller, weight_device_file,
                                 f"{device(entry, where)} {_int(entry['weight'], where)}"))
            if entry.get("leafWeight"):
                out.append(Write(f"{where}.leafWeight", controller, "blkio.leaf_weight_device",
                                 f"{device(entry, where)} {_int(entry['leafWeight'], where)}"))
        for key, file in (("throttleReadBpsDevice", "read_bps_device"),
                          ("throttleWriteBpsDevice", "write_bps_device"),
                          ("throttleReadIOPSDevice", "read_iops_device"),
                          ("throttleWriteIOPSDevice", "write_iops_device")):
            for i, entry in enumerate(blkio.get(key) or []):
                where = f"{f}.{key}[{i}]"
                out.append(Write(where, controller, f"blkio.throttle.{file}",
                                 f"{device(entry, where)} {_int(entry.get('rate'), where)}"))
        return out
    bfq = exists(os.path.join(base, "io.bfq.weight"))
    if blkio.get("leafWeight"):
        raise PyruncError(f"{f}.leafWeight: not supported on cgroup v2")
    if blkio.get("weight"):
        weight = _int(blkio["weight"], f"{f}.weight")
        out.append(Write(f"{f}.weight", "io", "io.bfq.weight" if bfq else "io.weight",
                         str(weight if bfq else blkio_weight_to_io_weight(weight))))
    for i, entry in enumerate(blkio.get("weightDevice") or []):
        where = f"{f}.weightDevice[{i}]"
        if entry.get("leafWeight"):
            raise PyruncError(f"{where}.leafWeight: not supported on cgroup v2")
        if entry.get("weight"):
            weight = _int(entry["weight"], where)
            out.append(Write(f"{where}.weight", "io", "io.bfq.weight" if bfq else "io.weight",
                             f"{device(entry, where)} "
                             f"{weight if bfq else blkio_weight_to_io_weight(weight)}"))
    for key, name in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                      ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
        for i, entry in enumerate(blkio.get(key) or []):
            where = f"{f}.{key}[{i}]"
            rate = _int(entry.get("rate"), where)
            out.append(Write(where, "io", "io.max",
                             f"{device(entry, where)} {name}={rate if rate else 'max'}"))
    return out


def _hugetlb(limits: list[dict[str, Any]], target: Target) -> list[Write]:
    f = f"{R}.hugepageLimits"
    version = _need(target, f, "hugetlb")
    out: list[Write] = []
    for i, entry in enumerate(limits):
        size = entry.get("pageSize")
        if not isinstance(size, str) or not size or "/" in size:
            raise PyruncError(f"{f}[{i}].pageSize: {size!r} is not a page size like \"2MB\"")
        limit = _int(entry.get("limit"), f"{f}[{i}].limit")
        if version == 1:
            files = (f"hugetlb.{size}.limit_in_bytes", f"hugetlb.{size}.rsvd.limit_in_bytes")
            value = str(limit)
        else:
            files = (f"hugetlb.{size}.max", f"hugetlb.{size}.rsvd.max")
            value = v2_value(limit)
        out.append(Write(f"{f}[{i}].pageSize", "hugetlb", files[0], value))
        out.append(Write(f"{f}[{i}].limit", "hugetlb", files[1], value, optional=True))
    return out


def _network(network: dict[str, Any], target: Target) -> list[Write]:
    f = f"{R}.network"
    out: list[Write] = []
    if _present(network, "classID"):
        if target.v1("net_cls") is None:
            raise PyruncError(f"{f}.classID: net_cls controller not available"
                              + (" (cgroup v2 has none)" if target.mode != "v1" else ""))
        out.append(Write(f"{f}.classID", "net_cls", "net_cls.classid",
                         str(_int(network["classID"], f"{f}.classID"))))
    for i, entry in enumerate(network.get("priorities") or []):
        if target.v1("net_prio") is None:
            raise PyruncError(f"{f}.priorities: net_prio controller not available"
                              + (" (cgroup v2 has none)" if target.mode != "v1" else ""))
        out.append(Write(f"{f}.priorities[{i}]", "net_prio", "net_prio.ifpriomap",
                         f"{entry.get('name')} {_int(entry.get('priority'), f'{f}[{i}]')}"))
    return out


def _rdma(rdma: dict[str, Any], target: Target) -> list[Write]:
    f = f"{R}.rdma"
    _need(target, f, "rdma")
    out: list[Write] = []
    for name, limits in rdma.items():
        parts = [name]
        for key, word in (("hcaHandles", "hca_handle"), ("hcaObjects", "hca_object")):
            if (limits or {}).get(key) is not None:
                parts.append(f"{word}={_int(limits[key], f'{f}.{name}.{key}')}")
        if len(parts) > 1:
            out.append(Write(f"{f}.{name}", "rdma", "rdma.max", " ".join(parts)))
    return out


def _unified(unified: dict[str, Any], target: Target) -> list[Write]:
    f = f"{R}.unified"
    if target.unified is None:
        raise PyruncError(f"{f}: cgroup v2 is not mounted (this host has cgroup v1 only)")
    out: list[Write] = []
    for key, value in unified.items():
        if "/" in key or key in (".", "..") or not key:
            raise PyruncError(f'{f}: "{key}" is not a cgroup file name')
        if key in ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control"):
            raise PyruncError(f'{f}.{key}: pyrunc manages this file itself')
        controller = key.split(".", 1)[0]
        if controller != "cgroup" and controller not in target.v2_controllers():
            raise PyruncError(f"{f}.{key}: {controller} controller not available in cgroup v2")
        out.append(Write(f"{f}.{key}", "", key, str(value)))
    return out


# -- devices -------------------------------------------------------------------------------

# runc 1.1's default rules (libcontainer/specconv AllowedDevices), appended after the config's:
# (type, major, minor, access, path of the node they are for or "")
DEFAULT_RULES: tuple[tuple[str, int, int, str, str], ...] = (
    ("c", -1, -1, "m", ""), ("b", -1, -1, "m", ""),
    ("c", 1, 3, "rwm", "/dev/null"), ("c", 1, 8, "rwm", "/dev/random"),
    ("c", 1, 7, "rwm", "/dev/full"), ("c", 5, 0, "rwm", "/dev/tty"),
    ("c", 1, 5, "rwm", "/dev/zero"), ("c", 1, 9, "rwm", "/dev/urandom"),
    ("c", 136, -1, "rwm", ""), ("c", 5, 2, "rwm", ""), ("c", 10, 200, "rwm", ""),
)


def device_rules(rules: list[dict[str, Any]], *, defaults: bool,
                 config_devices: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The config's rules, checked and normalised ({allow, type, major, minor, access}, -1 for
    a wildcard), then runc's defaults, less those for nodes that linux.devices redefines."""
    f = f"{R}.devices"
    out = []
    for i, rule in enumerate(rules):
        where = f"{f}[{i}]"
        if not isinstance(rule, dict):
            raise PyruncError(f"{where}: must be an object")
        kind = rule.get("type") or "a"
        if kind not in ("a", "b", "c"):
            raise PyruncError(f'{where}.type: "{kind}" is not one of a, b, c')
        access = rule.get("access") or ""
        if not access or set(access) - set("rwm") or len(set(access)) != len(access):
            raise PyruncError(f'{where}.access: "{access}" must be a non-empty combination of '
                              '"r", "w", "m"')
        major = rule.get("major")
        minor = rule.get("minor")
        out.append({"allow": bool(rule.get("allow")), "type": kind,
                    "major": -1 if major is None else _int(major, f"{where}.major"),
                    "minor": -1 if minor is None else _int(minor, f"{where}.minor"),
                    "access": access})
    if defaults:
        redefined = {d.get("path") for d in config_devices or []}
        for kind, major, minor, access, path in DEFAULT_RULES:
            if path and path in redefined:
                continue
            out.append({"allow": True, "type": kind, "major": major, "minor": minor,
                        "access": access})
    return out


def v1_device_line(rule: dict[str, Any]) -> str:
    if rule["type"] == "a":
        return "a"
    major = "*" if rule["major"] == -1 else str(rule["major"])
    minor = "*" if rule["minor"] == -1 else str(rule["minor"])
    return f"{rule['type']} {major}:{minor} {rule['access']}"


def _devices(rules: list[dict[str, Any]], target: Target, result: Plan, *, defaults: bool
             ) -> None:
    f = f"{R}.devices"
    normalised = device_rules(rules, defaults=defaults, config_devices=target.config_devices)
    if target.v1("devices"):
        # deny everything, then the rules in order: the kernel's own last-match semantics
        result.writes.append(Write(f, "devices", "devices.deny", "a"))
        for i, rule in enumerate(normalised):
            where = f"{f}[{i}]" if i < len(rules) else f"{f} (runc's default rules)"
            result.writes.append(Write(where, "devices",
                                       "devices.allow" if rule["allow"] else "devices.deny",
                                       v1_device_line(rule)))
        return
    if target.mode == "v2" and target.unified:
        result.bpf_rules = normalised
        result.bpf_dir = target.unified
        return
    if rules:
        raise PyruncError(f"{f}: devices controller not available")


# -- applying ------------------------------------------------------------------------------

def apply(record: dict[str, Any], resources: dict[str, Any], *, defaults: bool,
          updating: bool = False, config_devices: list[dict[str, Any]] | None = None) -> None:
    target = Target(record)
    target.config_devices = config_devices
    result = plan(resources, target, defaults=defaults)
    for write in result.writes:
        if write.optional:
            continue
        for name in (write.file, *(write.then[:1] if write.then else ())):
            if not os.path.exists(os.path.join(target.directory(write.controller), name)):
                raise PyruncError(f"{write.field}: {name} not available in "
                                  f"{target.directory(write.controller) or 'any cgroup'}")
    if updating:
        _check_before_update(resources, target)
    for write in result.writes:
        _perform(target, write)
    if result.bpf_rules is not None:
        from pyrunc.linux.cgroups import _bpf

        _bpf.attach_device_filter(result.bpf_dir, result.bpf_rules)


def _check_before_update(resources: dict[str, Any], target: Target) -> None:
    """memory.checkBeforeUpdate: refuse a limit below what the container uses already."""
    mem = resources.get("memory") or {}
    if not mem.get("checkBeforeUpdate") or not mem.get("limit") or mem["limit"] < 0:
        return
    version = target.locate("memory")
    usage_file = "memory.usage_in_bytes" if version == 1 else "memory.current"
    with open(os.path.join(target.directory("memory"), usage_file)) as fh:
        usage = int(fh.read())
    if mem["limit"] < usage:
        raise PyruncError(f"{R}.memory.limit: {mem['limit']} is below the current usage "
                          f"{usage} (checkBeforeUpdate)")


def _write_file(path: str, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _perform(target: Target, write: Write) -> None:
    directory = target.directory(write.controller)
    path = os.path.join(directory, write.file)
    try:
        if write.optional and not os.path.exists(path):
            return
        if write.then is None:
            _write_file(path, write.value)
        else:
            second = os.path.join(directory, write.then[0])
            try:
                _write_file(path, write.value)
                _write_file(second, write.then[1])
            except OSError as err:
                if err.errno not in (errno.EINVAL, errno.EBUSY):
                    raise
                _write_file(second, write.then[1])
                _write_file(path, write.value)
        if write.readback:
            with open(path) as fh:
                kept = fh.read().strip()
            if kept != write.value:
                raise PyruncError(f"{write.field}: the kernel set {write.file} to {kept}, not "
                                  f"{write.value} (out of its range)")
    except OSError as err:
        if write.optional and err.errno in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
            return  # a deprecated knob (kmem) the kernel keeps but refuses: runc ignores it
        raise PyruncError(f"{write.field}: writing {write.value!r} to {path}: "
                          f"{err.strerror}") from None
