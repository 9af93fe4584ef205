"""linux.seccomp compiled into a classic BPF program with libseccomp, for pyrunc-init to load.

libseccomp is used through cffi in ABI mode (``dlopen("libseccomp.so.2")`` with a small cdef
of our own): no headers or compiler are needed at install time, only the shared library when
a config has a seccomp profile. cffi is imported only then, so importing this module stays
cheap. The program is exported with seccomp_export_bpf and handed to the init in the plan
(T_SECCOMP: u32 seccomp(2) flags, struct sock_filter[]); the init makes the seccomp(2) call
itself, as its last step before exec (docs/seccomp.md).

Where the runtime-spec is silent this follows runc: KILL means KILL_THREAD, errnoRet defaults
to EPERM, rules whose action equals the default are skipped, unknown syscall names are
ignored, conditions on the same argument become separate rules, and an -ENOSYS stub makes
syscalls newer than every syscall the profile names fail with ENOSYS instead of the default
action (so that libc falls back, e.g. from clone3 to clone).
"""

from __future__ import annotations

import errno
import os
import struct

from pyrunc import log

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

# action name -> (SCMP_ACT_* value without the errno, whether it takes errnoRet)
_ACTIONS: dict[str, tuple[int, bool]] = {
    "SCMP_ACT_KILL": (0x00000000, False),          # runc: KILL is KILL_THREAD
    "SCMP_ACT_KILL_THREAD": (0x00000000, False),
    "SCMP_ACT_KILL_PROCESS": (0x80000000, False),
    "SCMP_ACT_TRAP": (0x00030000, False),
    "SCMP_ACT_ERRNO": (0x00050000, True),
    "SCMP_ACT_TRACE": (0x7FF00000, True),
    "SCMP_ACT_LOG": (0x7FFC0000, False),
    "SCMP_ACT_ALLOW": (0x7FFF0000, False),
    "SCMP_ACT_NOTIFY": (0x7FC00000, False),
}
ACTIONS = frozenset(_ACTIONS)

# enum scmp_compare
_OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
              "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
OPERATORS = frozenset(_OPERATORS)

# SCMP_ARCH_<X> is libseccomp's arch "<x>" (seccomp_arch_resolve_name)
ARCHES = frozenset(f"SCMP_ARCH_{a.upper()}" for a in (
    "x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "m68k", "mips", "mips64",
    "mips64n32", "mipsel", "mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390",
    "s390x", "parisc", "parisc64", "riscv64", "sh", "sheb"))

# seccomp(2) SECCOMP_FILTER_FLAG_*: the init passes these itself, so they need no support
# from libseccomp (2.5 knows nothing of WAIT_KILLABLE_RECV)
_FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
          "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32}
FLAGS = frozenset(_FLAGS)
FLAG_NEW_LISTENER = 8
FLAG_TSYNC_ESRCH = 16

ACT_NOTIFY = "SCMP_ACT_NOTIFY"
# The init sends the listener fd with sendmsg and then READY with send (sendto), both under
# the filter: a NOTIFY on sendmsg (or write, as runc forbids it) would wait for an agent that
# has not got the fd yet, and `create` would hang.
_NO_NOTIFY = ("write", "sendmsg")

_AUDIT_ARCH_X86_64 = 0xC000003E
_SCMP_ARCH_X32 = 0x4000003E         # libseccomp's token: x32 is x86_64 to the kernel
_X32_SYSCALL_BIT = 0x40000000
_S390_ARCHES = (0x16, 0x80000016)   # AUDIT_ARCH_S390, AUDIT_ARCH_S390X
_RET_ENOSYS = 0x00050000 | errno.ENOSYS
_BPF_MAXINSNS = 4096
_ALLOW_LIKE = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")

_CDEF = """
typedef void *scmp_filter_ctx;
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
struct scmp_arg_cmp { unsigned int arg; int op; uint64_t datum_a; uint64_t datum_b; };
const struct scmp_version *seccomp_version(void);
unsigned int seccomp_api_get(void);
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
int seccomp_attr_set(scmp_filter_ctx ctx, int attr, uint32_t value);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
"""
_SCMP_FLTATR_CTL_NNP = 3
_SCMP_FLTATR_CTL_OPTIMIZE = 8

_lib: Any = None
_ffi: Any = None


def _load() -> tuple[Any, Any]:
    """cffi and libseccomp.so.2, on first use. OSError when the library is missing."""
    global _lib, _ffi
    if _lib is None:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        _lib = ffi.dlopen("libseccomp.so.2")
        _ffi = ffi
    return _ffi, _lib


def library_version() -> str:
    v = _load()[1].seccomp_version()
    return f"{v.major}.{v.minor}.{v.micro}"


def _kernel_accepts(flags: int) -> bool:
    """seccomp(SET_MODE_FILTER, flags, NULL): EFAULT (the NULL program) once the flags passed
    the kernel's check, EINVAL when it does not know one (libseccomp probes the same way)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    nr_seccomp = _load()[1].seccomp_syscall_resolve_name(b"seccomp")
    rc = libc.syscall(ctypes.c_long(nr_seccomp), ctypes.c_long(1), ctypes.c_long(flags),
                      ctypes.c_void_p(None))
    return rc < 0 and ctypes.get_errno() == errno.EFAULT


def _flag_supported(name: str) -> bool:
    value = _FLAGS[name]
    if value == _FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]:
        value |= FLAG_NEW_LISTENER  # the kernel refuses it without a listener
    return _kernel_accepts(value)


def supported_flags() -> list[str]:
    """The known flags this kernel accepts (OSError without libseccomp.so.2)."""
    _load()
    return [name for name in sorted(FLAGS) if _flag_supported(name)]


class _Rule:
    __slots__ = ("action", "action_name", "args", "names", "where")

    def __init__(self, where: str, names: list[str], action: int, action_name: str,
                 args: list[tuple[int, int, int, int]]) -> None:
        self.where = where                 # linux.seccomp.syscalls[i]
        self.names = names
        self.action = action
        self.action_name = action_name
        self.args = args                   # (index, op, value, valueTwo)


def _uint(value: Any, where: str, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise ValueError(f"{where}: {value!r} is not an unsigned {bits}-bit integer")
    return value


def _action(name: Any, errno_ret: Any, where: str, errno_field: str) -> int:
    if name not in _ACTIONS:
        raise ValueError(f'{where}: unknown action "{name}"')
    value, takes_errno = _ACTIONS[name]
    if errno_ret is None:
        return value | (errno.EPERM if takes_errno else 0)
    if not takes_errno:  # runtime-spec: MUST fail (runc ignores it; crun fails)
        raise ValueError(f"{errno_field}: {name} takes no errno")
    return value | _uint(errno_ret, errno_field, 16)


def _rules(seccomp: dict[str, Any]) -> list[_Rule]:
    rules = []
    for i, entry in enumerate(seccomp.get("syscalls") or []):
        where = f"linux.seccomp.syscalls[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be an object")
        names = entry.get("names")
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"{where}.names: must be a list of syscall names")
        action_name = str(entry.get("action"))
        action = _action(entry.get("action"), entry.get("errnoRet"), f"{where}.action",
                         f"{where}.errnoRet")
        if action_name == ACT_NOTIFY:
            for name in _NO_NOTIFY:
                if name in names:
                    raise ValueError(f"{where}: SCMP_ACT_NOTIFY cannot be used for {name}: "
                                     "pyrunc-init needs it to hand over the listener")
        args = []
        for k, arg in enumerate(entry.get("args") or []):
            at = f"{where}.args[{k}]"
            if not isinstance(arg, dict):
                raise ValueError(f"{at}: must be an object")
            index = arg.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 6:
                raise ValueError(f"{at}.index: {index!r} is not an argument index (0-5)")
            op = arg.get("op")
            if op not in _OPERATORS:
                raise ValueError(f'{at}.op: unknown operator "{op}"')
            args.append((index, _OPERATORS[op], _uint(arg.get("value", 0), f"{at}.value", 64),
                         _uint(arg.get("valueTwo", 0), f"{at}.valueTwo", 64)))
        rules.append(_Rule(where, names, action, action_name, args))
    return rules


def _flags(seccomp: dict[str, Any], notify: bool) -> int:
    names = seccomp.get("flags")
    if names is None:
        # runc >= 1.2: SPEC_ALLOW by default (no forced SSB mitigation), where supported
        names = ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
        if not _flag_supported(names[0]):
            names = []
    flags = 0
    for i, name in enumerate(names):
        where = f"linux.seccomp.flags[{i}]"
        if name not in _FLAGS:
            raise ValueError(f'{where}: unknown flag "{name}"')
        if not _flag_supported(name):
            raise ValueError(f"{where}: {name} is not supported by this kernel")
        flags |= _FLAGS[name]
    if notify:
        flags |= FLAG_NEW_LISTENER
        if flags & _FLAGS["SECCOMP_FILTER_FLAG_TSYNC"]:
            flags |= FLAG_TSYNC_ESRCH  # the kernel refuses TSYNC with a listener otherwise
    else:
        # only meaningful, and only accepted, with a listener (libseccomp drops it too)
        flags &= ~_FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    return flags


def uses_notify(config: dict[str, Any]) -> bool:
    seccomp = (config.get("linux") or {}).get("seccomp") or {}
    return any(isinstance(e, dict) and e.get("action") == ACT_NOTIFY
               for e in seccomp.get("syscalls") or [])


def compile_filter(seccomp: dict[str, Any]) -> tuple[int, bytes] | None:
    """linux.seccomp -> (seccomp(2) flags, struct sock_filter[] in host byte order), or None
    when the profile disables seccomp (no defaultAction and no syscalls, as runc)."""
    if not isinstance(seccomp, dict):
        raise ValueError("linux.seccomp: must be an object")
    if not seccomp.get("defaultAction") and not seccomp.get("syscalls"):
        return None
    default_name = seccomp.get("defaultAction")
    if not default_name:
        raise ValueError("linux.seccomp.defaultAction: required with syscalls")
    default = _action(default_name, seccomp.get("defaultErrnoRet"),
                      "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")
    if default_name == ACT_NOTIFY:
        raise ValueError("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default "
                         "action")
    rules = _rules(seccomp)
    notify = any(r.action_name == ACT_NOTIFY for r in rules)
    if notify and not seccomp.get("listenerPath"):
        raise ValueError("linux.seccomp.listenerPath: required with SCMP_ACT_NOTIFY")
    arches = seccomp.get("architectures") or []
    for i, arch in enumerate(arches):
        if arch not in ARCHES:
            raise ValueError(f'linux.seccomp.architectures[{i}]: unknown architecture "{arch}"')
    flags = _flags(seccomp, notify)
    try:
        ffi, lib = _load()
    except (OSError, ImportError) as err:
        raise ValueError(f"linux.seccomp: libseccomp.so.2 is needed: {err}") from None
    tokens = [lib.seccomp_arch_native()]
    for i, arch in enumerate(arches):
        token = lib.seccomp_arch_resolve_name(arch[len("SCMP_ARCH_"):].lower().encode())
        if not token:
            raise ValueError(f"linux.seccomp.architectures[{i}]: {arch} is not supported by "
                             f"libseccomp {library_version()}")
        if token not in tokens:
            tokens.append(token)
    program = _export(ffi, lib, default, default_name, tokens, rules)
    if _needs_enosys_stub(default_name, default):
        program = _enosys_stub(lib, tokens, rules) + program
    if len(program) // 8 > _BPF_MAXINSNS:
        raise ValueError(f"linux.seccomp: the filter has {len(program) // 8} instructions, "
                         f"more than the kernel's {_BPF_MAXINSNS}")
    return flags, program


def _export(ffi: Any, lib: Any, default: int, default_name: str, tokens: list[int],
            rules: list[_Rule]) -> bytes:
    ctx = lib.seccomp_init(default)
    if ctx == ffi.NULL:
        raise ValueError(f"linux.seccomp.defaultAction: {default_name} is not supported by "
                         f"libseccomp {library_version()} or this kernel")
    try:
        lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_NNP, 0)  # the plan's noNewPrivileges rules
        if sum(len(r.names) for r in rules) > 32:  # runc: binary tree for long profiles
            lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for token in tokens[1:]:
            rc = lib.seccomp_arch_add(ctx, token)
            if rc < 0 and rc != -errno.EEXIST:
                raise ValueError(f"linux.seccomp.architectures: {os.strerror(-rc)}")
        for rule in rules:
            _add_rule(ffi, lib, ctx, rule, default)
        fd = os.memfd_create("pyrunc-seccomp", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise ValueError(f"linux.seccomp: export the filter: {os.strerror(-rc)}")
            return os.pread(fd, os.fstat(fd).st_size, 0)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)


def _add_rule(ffi: Any, lib: Any, ctx: Any, rule: _Rule, default: int) -> None:
    if rule.action == default:  # runc: redundant, and libseccomp would refuse it
        return
    # runc: several conditions on one argument cannot be ANDed by libseccomp; each becomes a
    # rule of its own (so they are ORed)
    indexes = [a[0] for a in rule.args]
    groups = [[a] for a in rule.args] if len(set(indexes)) < len(indexes) else [rule.args]
    for name in rule.names:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == -1:  # __NR_SCMP_ERROR: not a syscall this libseccomp knows, as runc
            log.debug(f'seccomp: unknown syscall "{name}" ignored')
            continue
        for group in groups:
            conds = ffi.new("struct scmp_arg_cmp[]", max(len(group), 1))
            for k, (index, op, value, value_two) in enumerate(group):
                conds[k].arg, conds[k].op = index, op
                conds[k].datum_a, conds[k].datum_b = value, value_two
            rc = lib.seccomp_rule_add_array(ctx, rule.action, nr, len(group), conds)
            if rc < 0:
                raise ValueError(f'{rule.where}: syscall "{name}": {os.strerror(-rc)}')


def _needs_enosys_stub(default_name: str, default: int) -> bool:
    # as runc: not for permissive defaults (new syscalls are allowed anyway; a tracer
    # handles them), nor when the default already answers ENOSYS
    return default_name not in _ALLOW_LIKE and default != _RET_ENOSYS


def _enosys_stub(lib: Any, tokens: list[int], rules: list[_Rule]) -> bytes:
    """runc's -ENOSYS stub (libcontainer/seccomp/patchbpf), written anew: per architecture,
    a syscall number above the highest one the profile names returns ENOSYS; everything else
    goes on to libseccomp's program. Container images ship libcs newer than the profile, and
    they fall back from a syscall on ENOSYS (clone3 -> clone), not on EPERM."""
    highest: dict[int, dict[int, int]] = {}   # audit arch -> {scmp token: highest nr}
    names = {name for rule in rules for name in rule.names}
    for token in tokens:
        numbers = [lib.seccomp_syscall_resolve_name_arch(token, n.encode()) for n in names]
        top = max((nr for nr in numbers if nr >= 0), default=0)
        if top:
            audit = _AUDIT_ARCH_X86_64 if token == _SCMP_ARCH_X32 else token
            highest.setdefault(audit, {})[token] = top
    if not highest:
        return b""
    asm = _Asm()
    asm.ld(4)  # seccomp_data.arch
    for audit in highest:
        asm.jeq(audit, f"arch{audit}", None)
    asm.ja("filter")
    for audit, tops in highest.items():
        asm.label(f"arch{audit}")
        asm.ld(0)  # seccomp_data.nr
        if audit in _S390_ARCHES:  # unknown large syscalls arrive as setup(2), number 0
            asm.jeq(0, "enosys", None)
        if audit == _AUDIT_ARCH_X86_64:
            x64, x32 = tops.get(_AUDIT_ARCH_X86_64), tops.get(_SCMP_ARCH_X32)
            asm.jset(_X32_SYSCALL_BIT, f"x32_{audit}" if x32 else "filter", None)
            if x64:
                asm.jgt(x64, "enosys", "filter")
            else:
                asm.ja("filter")
            if x32:
                asm.label(f"x32_{audit}")
                asm.jgt(x32, "enosys", "filter")
        else:
            asm.jgt(next(iter(tops.values())), "enosys", "filter")
    asm.label("enosys")
    asm.ret(_RET_ENOSYS)
    asm.label("filter")
    return asm.assemble()


class _Asm:
    """Just enough of a classic BPF assembler for the stub: forward jumps to labels."""

    _LD_W_ABS, _JA, _JEQ, _JGT, _JSET, _RET_K = 0x20, 0x05, 0x15, 0x25, 0x45, 0x06

    def __init__(self) -> None:
        self.insns: list[tuple[int, str | None, str | None, int | str]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.insns)

    def ld(self, offset: int) -> None:
        self.insns.append((self._LD_W_ABS, None, None, offset))

    def ja(self, target: str) -> None:
        self.insns.append((self._JA, None, None, target))

    def jeq(self, k: int, jt: str | None, jf: str | None) -> None:
        self.insns.append((self._JEQ, jt, jf, k))

    def jgt(self, k: int, jt: str | None, jf: str | None) -> None:
        self.insns.append((self._JGT, jt, jf, k))

    def jset(self, k: int, jt: str | None, jf: str | None) -> None:
        self.insns.append((self._JSET, jt, jf, k))

    def ret(self, k: int) -> None:
        self.insns.append((self._RET_K, None, None, k))

    def _rel(self, label: str | None, at: int) -> int:
        """A conditional jump's 8-bit offset from the instruction after ``at``."""
        if label is None:
            return 0
        offset = self.labels[label] - (at + 1)
        if not 0 <= offset <= 255:
            raise ValueError("linux.seccomp: the -ENOSYS stub is too long")
        return offset

    def assemble(self) -> bytes:
        out = []
        for i, (code, jt, jf, k) in enumerate(self.insns):
            if isinstance(k, str):  # ja: a 32-bit offset in k
                k = self.labels[k] - (i + 1)
            out.append(struct.pack("=HBBI", code, self._rel(jt, i), self._rel(jf, i), k))
        return b"".join(out)


def records(config: dict[str, Any]) -> list[tuple[int, bytes]]:
    """The T_SECCOMP plan record for linux.seccomp, if any (called by process.records)."""
    seccomp = (config.get("linux") or {}).get("seccomp")
    if seccomp is None:
        return []
    compiled = cached_compile(seccomp)
    if compiled is None:
        return []
    from pyrunc.linux.plan import T_SECCOMP, u32

    flags, program = compiled
    return [(T_SECCOMP, u32(flags) + program)]


# ---- the compiled-filter cache -------------------------------------------------------------
#
# Compiling an engine's profile (podman's, ~1400 instructions) costs `create` 30-110 ms:
# importing cffi and ctypes, probing the kernel's flags, libseccomp's own work. Engines send
# the same profile for every container, so the result is kept, keyed by everything it
# depends on: the profile (canonical JSON), this module's file (a new pyrunc compiles anew),
# libseccomp's file and the running kernel. Only root uses it, in a root-only directory on
# /run (a tmpfs: gone at reboot); a cached file is trusted only when root owns it and no one
# else may write it, since a container would run under what it says.

CACHE_DIR = "/run/pyrunc-cache/seccomp"
_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
             "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib")


def _cache_key(seccomp: dict[str, Any]) -> str | None:
    """The cache file's name for ``seccomp``, or None where caching is off."""
    if os.geteuid() != 0 or "LD_LIBRARY_PATH" in os.environ or "LD_PRELOAD" in os.environ:
        return None  # (dlopen could load another libseccomp than the one fingerprinted)
    library = None
    for directory in _LIB_DIRS:
        try:
            st = os.stat(os.path.join(directory, "libseccomp.so.2"))
        except OSError:
            continue
        library = f"{directory}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
        break
    if library is None:
        return None
    me = os.stat(__file__)
    import hashlib

    from pyrunc import jsonio

    material = "\0".join([f"{me.st_ino}:{me.st_size}:{me.st_mtime_ns}", library,
                           os.uname().release, jsonio.dumps(seccomp, sort_keys=True)])
    return hashlib.sha256(material.encode()).hexdigest()


def _cache_read(path: str) -> tuple[int, bytes] | None:
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
            return None
        data = b""
        while chunk := os.read(fd, 65536):
            data += chunk
    finally:
        os.close(fd)
    if len(data) < 4 or (len(data) - 4) % 8:
        return None
    return struct.unpack("=I", data[:4])[0], data[4:]


def _cache_dir() -> str | None:
    """CACHE_DIR, made 0700 if missing; None unless it is root's own directory."""
    import stat

    try:
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        st = os.lstat(CACHE_DIR)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
        return None
    return CACHE_DIR


def _cache_write(path: str, flags: int, program: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            os.write(fd, struct.pack("=I", flags) + program)
        finally:
            os.close(fd)
        os.rename(tmp, path)  # atomic: a concurrent create reads the old file or the new one
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def cached_compile(seccomp: dict[str, Any]) -> tuple[int, bytes] | None:
    """compile_filter(seccomp), from the cache when it was compiled before on this host."""
    if not isinstance(seccomp, dict):
        return compile_filter(seccomp)
    key = _cache_key(seccomp)
    if key is None:
        return compile_filter(seccomp)
    path = os.path.join(CACHE_DIR, key)
    found = _cache_read(path)
    if found is not None:
        return found
    compiled = compile_filter(seccomp)  # errors are raised, never cached
    if compiled is not None and _cache_dir() is not None:
        _cache_write(path, *compiled)
    return compiled
