"""The systemd cgroup driver: a transient unit per container, made over D-Bus.

Used by ``--systemd-cgroup`` where systemd runs (sd_booted's rule: /run/systemd/system is a
directory). Like runc's systemd driver, ``create`` asks systemd for a transient unit holding
the init (StartTransientUnit: Slice=, Delegate=, PIDs=, the *Accounting= switches and the
resources systemd can express) and waits for its job; pyrunc then writes every cgroupfs file
itself in the unit's cgroup, as on a host without systemd. ``delete`` stops the unit
(StopUnit, wait for the job, ResetFailedUnit).

D-Bus goes through libsystemd's sd-bus, used through cffi in ABI mode
(``dlopen("libsystemd.so.0")`` with a small cdef of our own, as pyrunc.linux.seccomp uses
libseccomp): the library is present wherever systemd runs, and needs no headers or compiler.
This module is imported only on the systemd path, so cffi stays out of the other commands.
Like go-systemd for root, it connects to the system bus and, when that fails, to the
manager's private socket /run/systemd/private (there is no dbus-daemon in every container or
early boot).
"""

from __future__ import annotations

import errno
import os
import time

from pyrunc import log
from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_CDEF = """
typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_slot sd_bus_slot;
typedef struct { const char *name; const char *message; int _need_free; } sd_bus_error;
typedef int (*sd_bus_message_handler_t)(sd_bus_message *m, void *userdata,
                                        sd_bus_error *ret_error);
int sd_bus_open_system(sd_bus **ret);
int sd_bus_new(sd_bus **ret);
int sd_bus_set_address(sd_bus *bus, const char *address);
int sd_bus_start(sd_bus *bus);
sd_bus *sd_bus_flush_close_unref(sd_bus *bus);
int sd_bus_process(sd_bus *bus, sd_bus_message **r);
int sd_bus_wait(sd_bus *bus, uint64_t timeout_usec);
int sd_bus_match_signal(sd_bus *bus, sd_bus_slot **ret, const char *sender, const char *path,
                        const char *interface, const char *member,
                        sd_bus_message_handler_t callback, void *userdata);
sd_bus_slot *sd_bus_slot_unref(sd_bus_slot *slot);
int sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **m, const char *destination,
                                   const char *path, const char *interface,
                                   const char *member);
sd_bus_message *sd_bus_message_unref(sd_bus_message *m);
int sd_bus_message_append_basic(sd_bus_message *m, char type, const void *p);
int sd_bus_message_append_array(sd_bus_message *m, char type, const void *ptr, size_t size);
int sd_bus_message_open_container(sd_bus_message *m, char type, const char *contents);
int sd_bus_message_close_container(sd_bus_message *m);
int sd_bus_message_enter_container(sd_bus_message *m, char type, const char *contents);
int sd_bus_message_read_basic(sd_bus_message *m, char type, void *p);
int sd_bus_call(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
                sd_bus_message **reply);
void sd_bus_error_free(sd_bus_error *e);
"""

_DEST = b"org.freedesktop.systemd1"
_PATH = b"/org/freedesktop/systemd1"
_MANAGER = b"org.freedesktop.systemd1.Manager"
_PRIVATE = b"unix:path=/run/systemd/private"
JOB_TIMEOUT = 30.0  # runc's wait for a unit's job
_INFINITY = 2**64 - 1  # systemd's "infinity" for limits and times alike
_CPU_PERIOD_DEFAULT = 100000  # the kernel's cfs period, µs
_MAX_CPUS = 1 << 16  # beyond any kernel's NR_CPUS: a typo, not a mask of megabytes

_ffi: Any = None
_lib: Any = None


class BusError(PyruncError):
    """A D-Bus error reply: ``name`` is its D-Bus name, str() systemd's message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def booted() -> bool:
    """sd_booted(3): systemd is the init when /run/systemd/system is a directory."""
    import stat

    try:
        return stat.S_ISDIR(os.lstat("/run/systemd/system").st_mode)
    except OSError:
        return False


def _load() -> tuple[Any, Any]:
    """cffi and libsystemd.so.0, on first use."""
    global _ffi, _lib
    if _lib is None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        try:
            _lib = ffi.dlopen("libsystemd.so.0")
        except OSError as err:
            raise PyruncError(f"systemd cgroup driver: cannot load libsystemd.so.0: {err}"
                              ) from None
        _ffi = ffi
    return _ffi, _lib


# --- unit properties (pure logic; the unit name comes from cgroups._systemd_unit) ---------

def _bits(field: str, spec: str) -> bytes:
    """A cpuset list ("0-3,6") as systemd's AllowedCPUs=/AllowedMemoryNodes= bitmask: byte i
    holds cpus 8i..8i+7, lowest bit first."""
    mask = 0
    try:
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            first, _, last = part.partition("-")
            lo, hi = int(first), int(last or first)
            if lo < 0 or hi < lo or hi >= _MAX_CPUS:
                raise ValueError(part)
            mask |= ((1 << (hi - lo + 1)) - 1) << lo
    except ValueError:
        raise PyruncError(f'{field}: "{spec}" is not a list of ranges') from None
    if not mask:
        raise PyruncError(f'{field}: "{spec}" names nothing')
    return mask.to_bytes((mask.bit_length() + 7) // 8, "little")


def resource_properties(resources: dict[str, Any], v2: bool, version: int
                        ) -> list[tuple[str, str, Any]]:
    """(name, D-Bus signature, value) of the unit properties that say what linux.resources
    says, as runc's systemd driver sets them (v1 names on v1 and hybrid hosts). Whatever is
    left out is still written to cgroupfs by pyrunc."""
    props: list[tuple[str, str, Any]] = []
    memory = resources.get("memory") or {}
    limit = memory.get("limit")
    if limit:
        value = _INFINITY if limit < 0 else int(limit)
        props.append(("MemoryMax" if v2 else "MemoryLimit", "t", value))
    if v2:
        if memory.get("reservation"):
            reservation = int(memory["reservation"])
            props.append(("MemoryLow", "t", _INFINITY if reservation < 0 else reservation))
        swap = memory.get("swap")
        if swap and limit and limit > 0:
            if swap < 0:
                props.append(("MemorySwapMax", "t", _INFINITY))
            elif swap >= limit:  # cgroupfs reports swap < limit
                props.append(("MemorySwapMax", "t", int(swap - limit)))
    cpu = resources.get("cpu") or {}
    shares = cpu.get("shares")
    if shares:
        if v2:
            props.append(("CPUWeight", "t", 1 + ((int(shares) - 2) * 9999) // 262142))
        else:
            props.append(("CPUShares", "t", int(shares)))
    quota, period = int(cpu.get("quota") or 0), int(cpu.get("period") or 0)
    if period and version >= 242:
        props.append(("CPUQuotaPeriodUSec", "t", period))
    if quota or period:
        per_sec = _INFINITY
        if quota > 0:
            # systemd keeps whole percents of a cpu: round up to 10 ms a second, as runc, so
            # that the cgroupfs quota pyrunc writes next still fits under the unit's
            per_sec = quota * 1000000 // (period or _CPU_PERIOD_DEFAULT)
            if per_sec % 10000:
                per_sec = (per_sec // 10000 + 1) * 10000
        props.append(("CPUQuotaPerSecUSec", "t", per_sec))
    pids_limit = (resources.get("pids") or {}).get("limit")
    if pids_limit:
        props.append(("TasksMax", "t", _INFINITY if pids_limit < 0 else int(pids_limit)))
    if version >= 244:
        if cpu.get("cpus"):
            props.append(("AllowedCPUs", "ay",
                          _bits("linux.resources.cpu.cpus", str(cpu["cpus"]))))
        if cpu.get("mems"):
            props.append(("AllowedMemoryNodes", "ay",
                          _bits("linux.resources.cpu.mems", str(cpu["mems"]))))
    return props


def unit_properties(unit: str, slice_: str, pid: int, container_id: str,
                    resources: dict[str, Any], v2: bool, version: int
                    ) -> list[tuple[str, str, Any]]:
    """Everything StartTransientUnit gets, as runc's systemd driver: a scope goes in its
    Slice= with Delegate=; a slice is ordered after its parent with Wants= and gets no
    process (systemd refuses PIDs= for a slice: pyrunc puts the init in it through
    cgroupfs)."""
    props: list[tuple[str, str, Any]] = [
        ("Description", "s", f"pyrunc container {container_id}")]
    if unit.endswith(".slice"):
        props.append(("Wants", "as", [slice_]))
    else:
        props += [("Slice", "s", slice_), ("Delegate", "b", True), ("PIDs", "au", [pid])]
    props += [("MemoryAccounting", "b", True), ("CPUAccounting", "b", True),
              ("IOAccounting" if v2 else "BlockIOAccounting", "b", True),
              ("TasksAccounting", "b", True), ("DefaultDependencies", "b", False)]
    return props + resource_properties(resources, v2, version)


# --- D-Bus ----------------------------------------------------------------------------------

class _Bus:
    """One connection to systemd, closed by close() (or the with block)."""

    def __init__(self) -> None:
        ffi, lib = _load()
        self.ffi, self.lib = ffi, lib
        self.jobs: dict[str, str] = {}  # job path -> result, from JobRemoved
        self._slot: Any = None
        self._handler: Any = None
        ret = ffi.new("sd_bus **")
        rc = lib.sd_bus_open_system(ret)
        where = "the system bus"
        if rc < 0:
            where = "/run/systemd/private"
            # no dbus-daemon: the manager's own socket, as go-systemd does for root
            rc = lib.sd_bus_new(ret)
            if rc >= 0:
                rc = lib.sd_bus_set_address(ret[0], _PRIVATE)
                if rc >= 0:
                    rc = lib.sd_bus_start(ret[0])
                if rc < 0:
                    lib.sd_bus_flush_close_unref(ret[0])
        if rc < 0:
            raise PyruncError("systemd cgroup driver: cannot connect to systemd (system bus "
                              f"and /run/systemd/private): {os.strerror(-rc)}")
        self.bus = ret[0]
        log.debug(f"systemd: connected through {where}")

    def __enter__(self) -> _Bus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._slot is not None:
            self.lib.sd_bus_slot_unref(self._slot)
            self._slot = None
        if self.bus is not None:
            self.lib.sd_bus_flush_close_unref(self.bus)
            self.bus = None

    def _check(self, rc: int, what: str) -> None:
        if rc < 0:
            raise PyruncError(f"systemd: {what}: {os.strerror(-rc)}")

    def subscribe(self) -> None:
        """Collect JobRemoved signals (before the call whose job we wait for: the signal may
        come right behind the reply). systemd sends them on the bus only to subscribers."""
        if self._slot is not None:
            return
        ffi, lib = self.ffi, self.lib

        def on_job_removed(message: Any, _userdata: Any, _error: Any) -> int:
            job_id = ffi.new("uint32_t *")
            path, unit, result = (ffi.new("char **") for _ in range(3))
            if (lib.sd_bus_message_read_basic(message, b"u", job_id) >= 0
                    and lib.sd_bus_message_read_basic(message, b"o", path) >= 0
                    and lib.sd_bus_message_read_basic(message, b"s", unit) >= 0
                    and lib.sd_bus_message_read_basic(message, b"s", result) >= 0):
                self.jobs[ffi.string(path[0]).decode()] = ffi.string(result[0]).decode()
            return 0

        self._handler = ffi.callback("int(sd_bus_message *, void *, sd_bus_error *)",
                                     on_job_removed)
        slot = ffi.new("sd_bus_slot **")
        self._check(lib.sd_bus_match_signal(self.bus, slot, _DEST, _PATH, _MANAGER,
                                            b"JobRemoved", self._handler, ffi.NULL),
                    "watching JobRemoved")
        self._slot = slot[0]
        try:
            self.call(_MANAGER, "Subscribe", [])
        except PyruncError:
            pass  # already subscribed (systemd answers AlreadySubscribed on some versions)

    def call(self, interface: bytes, member: str, args: list[tuple[str, Any]],
             path: bytes = _PATH, reply: str = "") -> Any:
        """A method call to systemd; returns the reply's first value when ``reply`` gives its
        type ("o", "s", or "v:s" for a string in a variant). A D-Bus error becomes a
        BusError."""
        ffi, lib = self.ffi, self.lib
        m = ffi.new("sd_bus_message **")
        self._check(lib.sd_bus_message_new_method_call(self.bus, m, _DEST, path, interface,
                                                       member.encode()), member)
        msg = m[0]
        answer = ffi.new("sd_bus_message **")
        error = ffi.new("sd_bus_error *")
        try:
            for signature, value in args:
                self._append(msg, signature, value)
            rc = lib.sd_bus_call(self.bus, msg, 0, error, answer)
            if rc < 0:
                name = ffi.string(error.name).decode() if error.name else ""
                text = (ffi.string(error.message).decode() if error.message
                        else os.strerror(-rc))
                raise BusError(name, text)
            if not reply:
                return None
            if reply.startswith("v:"):
                reply = reply[2:]
                self._check(lib.sd_bus_message_enter_container(answer[0], b"v",
                                                               reply.encode()), member)
            out = ffi.new("char **")
            self._check(lib.sd_bus_message_read_basic(answer[0], reply.encode(), out), member)
            return ffi.string(out[0]).decode()
        finally:
            lib.sd_bus_error_free(error)
            lib.sd_bus_message_unref(msg)
            if answer[0] != ffi.NULL:
                lib.sd_bus_message_unref(answer[0])

    def _append(self, msg: Any, signature: str, value: Any) -> None:
        """Append one value: s, b, t, u, as (list of str), au (list of int), ay (bytes),
        a(sv) (list of (name, signature, value)), a(sa(sv)) (always empty here)."""
        ffi, lib = self.ffi, self.lib
        check = self._check
        if signature == "s":
            check(lib.sd_bus_message_append_basic(msg, b"s", value.encode()), "append")
        elif signature == "b":
            check(lib.sd_bus_message_append_basic(msg, b"b", ffi.new("int *", int(value))),
                  "append")
        elif signature == "t":
            check(lib.sd_bus_message_append_basic(msg, b"t", ffi.new("uint64_t *", value)),
                  "append")
        elif signature == "u":
            check(lib.sd_bus_message_append_basic(msg, b"u", ffi.new("uint32_t *", value)),
                  "append")
        elif signature == "ay":
            check(lib.sd_bus_message_append_array(msg, b"y", value, len(value)), "append")
        elif signature in ("as", "au", "a(sv)", "a(sa(sv))"):
            check(lib.sd_bus_message_open_container(msg, b"a", signature[1:].encode()),
                  "append")
            for item in value:
                if signature == "a(sv)":
                    name, sig, inner = item
                    check(lib.sd_bus_message_open_container(msg, b"r", b"sv"), "append")
                    self._append(msg, "s", name)
                    check(lib.sd_bus_message_open_container(msg, b"v", sig.encode()),
                          "append")
                    self._append(msg, sig, inner)
                    check(lib.sd_bus_message_close_container(msg), "append")
                    check(lib.sd_bus_message_close_container(msg), "append")
                else:
                    self._append(msg, signature[1:], item)
            check(lib.sd_bus_message_close_container(msg), "append")
        else:
            raise AssertionError(f"no D-Bus encoding for {signature}")

    def wait_job(self, job: str, timeout: float) -> str:
        """The result of ``job`` ("done", "failed", "canceled", ...), or "timeout"."""
        lib = self.lib
        deadline = time.monotonic() + timeout
        while job not in self.jobs:
            rc = lib.sd_bus_process(self.bus, self.ffi.NULL)
            self._check(rc, "waiting for the job")
            if rc > 0:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            rc = lib.sd_bus_wait(self.bus, int(left * 1e6) + 1)
            if rc < 0 and rc != -errno.EINTR:
                self._check(rc, "waiting for the job")
        return self.jobs[job]

    def reset_failed(self, unit: str) -> None:
        try:
            self.call(_MANAGER, "ResetFailedUnit", [("s", unit)])
        except PyruncError:
            pass  # not failed, or not loaded: nothing to reset

    def stop(self, unit: str, timeout: float = JOB_TIMEOUT) -> None:
        """StopUnit and wait; a unit systemd no longer knows is already stopped (a scope
        whose processes are gone stops by itself)."""
        self.subscribe()
        try:
            job = self.call(_MANAGER, "StopUnit", [("s", unit), ("s", "replace")],
                            reply="o")
        except BusError as err:
            if err.name != "org.freedesktop.systemd1.NoSuchUnit":
                raise PyruncError(f"systemd unit {unit}: stop: {err}") from None
        else:
            if self.wait_job(job, timeout) == "timeout":
                raise PyruncError(f"systemd unit {unit}: not stopped within {timeout:g}s")
        self.reset_failed(unit)

    def version(self) -> int:
        """The manager's Version ("252.38-1~deb12u1" -> 252); 0 when unreadable."""
        try:
            text = self.call(b"org.freedesktop.DBus.Properties", "Get",
                             [("s", _MANAGER.decode()), ("s", "Version")], reply="v:s")
        except PyruncError:
            return 0
        digits = ""
        for char in str(text).lstrip('"v'):
            if not char.isdigit():
                break
            digits += char
        return int(digits or 0)

    def control_group(self, unit: str) -> str:
        path = self.call(_MANAGER, "GetUnit", [("s", unit)], reply="o")
        kind = "Slice" if unit.endswith(".slice") else "Scope"
        return str(self.call(b"org.freedesktop.DBus.Properties", "Get",
                             [("s", f"org.freedesktop.systemd1.{kind}"),
                              ("s", "ControlGroup")], path=path.encode(), reply="v:s"))


def start_unit(unit: str, slice_: str, pid: int, container_id: str,
               resources: dict[str, Any], v2: bool, expected_cgroup: str) -> None:
    """StartTransientUnit and wait for its job, then check that systemd put the unit where
    pyrunc will write (``expected_cgroup``). On any failure a unit made here is stopped and
    reset (its init killed first: see _kill), and the error (one line) names the unit and
    says systemd's message."""
    with _Bus() as bus:
        props = unit_properties(unit, slice_, pid, container_id, resources, v2, bus.version())
        bus.subscribe()
        args = [("s", unit), ("s", "replace"), ("a(sv)", props), ("a(sa(sv))", [])]
        try:
            try:
                job = bus.call(_MANAGER, "StartTransientUnit", args, reply="o")
            except BusError as err:
                if err.name != "org.freedesktop.systemd1.UnitExists":
                    raise
                # as runc: a failed unit left by an earlier container is reset and the start
                # tried once more; a live unit of that name is not ours and stays as it is
                bus.reset_failed(unit)
                job = bus.call(_MANAGER, "StartTransientUnit", args, reply="o")
        except PyruncError as err:
            raise PyruncError(f"systemd unit {unit}: {err}") from None
        try:
            result = bus.wait_job(job, JOB_TIMEOUT)
            if result != "done":
                raise PyruncError(f"systemd unit {unit}: its start job ended with "
                                  f'"{result}"' + (f" after {JOB_TIMEOUT:g}s"
                                                   if result == "timeout" else ""))
            actual = bus.control_group(unit)
            if actual != expected_cgroup:
                raise PyruncError(f"systemd unit {unit}: systemd placed it in {actual}, not "
                                  f"in {expected_cgroup} as --systemd-cgroup lays it out")
        except BaseException:
            _kill(pid)
            try:
                bus.stop(unit)
            except PyruncError:
                pass  # the original error is what the caller needs
            raise


def _kill(pid: int) -> None:
    """SIGKILL the init of a create that is failing (its caller would kill it next anyway):
    systemd stops a scope with SIGTERM, which does not reach a pid namespace's init from
    outside, and the stop job would wait for the unit's stop timeout."""
    try:
        os.kill(pid, 9)
    except OSError:
        pass


def stop_unit(unit: str) -> None:
    with _Bus() as bus:
        bus.stop(unit)


def set_properties(unit: str, resources: dict[str, Any], v2: bool) -> None:
    """`update`: tell systemd the new limits too (SetUnitProperties, runtime), so that it
    does not write the old ones back over pyrunc's on its next cgroup refresh."""
    with _Bus() as bus:
        props = resource_properties(resources, v2, bus.version())
        if not props:
            return
        try:
            bus.call(_MANAGER, "SetUnitProperties", [("s", unit), ("b", True),
                                                      ("a(sv)", props)])
        except PyruncError as err:
            raise PyruncError(f"systemd unit {unit}: setting properties: {err}") from None
