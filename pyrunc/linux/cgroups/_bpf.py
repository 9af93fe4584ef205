"""The cgroup v2 device controller: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) built from
the device rules and attached to the container's cgroup by C code in ``pyrunc._native``.

The program sees ``struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}`` where
access_type is ``access << 16 | type`` (type 1 block, 2 char; access 1 mknod, 2 read, 4 write)
and returns 1 to allow. Rules are tested last to first, so the last matching rule decides, as
the v1 controller's rule list does; nothing matching means deny.
"""

from __future__ import annotations

import os
import struct

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_TYPES = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}

# opcodes (linux/bpf.h, linux/bpf_common.h)
_LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_ALU32_AND_K = 0x54
_ALU32_RSH_K = 0x74
_ALU32_MOV_K = 0xB4
_ALU32_MOV_X = 0xBC
_JEQ_K = 0x15
_JNE_K = 0x55
_EXIT = 0x95


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def _access_mask(access: str) -> int:
    mask = 0
    for ch in access:
        mask |= _ACCESS[ch]
    return mask


def program(rules: list[dict[str, Any]]) -> bytes:
    """The instructions (struct bpf_insn, 8 bytes each) for normalised rules (see
    _resources.device_rules: allow, type a/b/c, major/minor -1 = any, access)."""
    # r2 = type, r3 = access, r4 = major, r5 = minor
    code = [
        _insn(_LDX_MEM_W, 2, 1, 0), _insn(_ALU32_AND_K, 2, imm=0xFFFF),
        _insn(_LDX_MEM_W, 3, 1, 0), _insn(_ALU32_RSH_K, 3, imm=16),
        _insn(_LDX_MEM_W, 4, 1, 4), _insn(_LDX_MEM_W, 5, 1, 8),
    ]
    for rule in reversed(rules):
        # each test jumps past the rest of this block when the rule does not match
        block: list[tuple[str, tuple[int, ...]]] = []
        if rule["type"] != "a":
            block.append(("jump", (_JNE_K, 2, _TYPES[rule["type"]])))
        mask = _access_mask(rule["access"])
        if mask != 7:
            block.append(("op", (_ALU32_MOV_X, 1, 3)))
            if rule["allow"]:
                # allow only when every requested access is in the rule
                block.append(("op", (_ALU32_AND_K, 1, ~mask & 0xFFFFFFFF)))
                block.append(("jump", (_JNE_K, 1, 0)))
            else:
                # deny when any requested access is in the rule
                block.append(("op", (_ALU32_AND_K, 1, mask)))
                block.append(("jump", (_JEQ_K, 1, 0)))
        if rule["major"] != -1:
            block.append(("jump", (_JNE_K, 4, rule["major"])))
        if rule["minor"] != -1:
            block.append(("jump", (_JNE_K, 5, rule["minor"])))
        size = len(block) + 2  # + mov r0, exit
        for index, (kind, args) in enumerate(block):
            if kind == "op":
                op, dst, val = args
                if op == _ALU32_MOV_X:
                    code.append(_insn(op, dst, val))
                else:
                    imm = val - (1 << 32) if val >= 1 << 31 else val
                    code.append(_insn(op, dst, imm=imm))
            else:
                op, dst, imm = args
                code.append(_insn(op, dst, off=size - index - 1, imm=imm))
        code.append(_insn(_ALU32_MOV_K, 0, imm=1 if rule["allow"] else 0))
        code.append(_insn(_EXIT))
        if not block:
            # matches every access: earlier rules could never decide, and the verifier
            # refuses unreachable instructions
            return b"".join(code)
    code.append(_insn(_ALU32_MOV_K, 0, imm=0))
    code.append(_insn(_EXIT))
    return b"".join(code)


def attach_device_filter(directory: str, rules: list[dict[str, Any]]) -> None:
    """Load the program for ``rules`` and attach it to the cgroup2 ``directory``
    (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI), detaching the programs attached there before: the
    new one is in place before the old ones go, so there is no moment without a filter."""
    from pyrunc._native import ffi, lib

    insns = program(rules)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        log = ffi.new("char[]", 4096)
        rc = lib.pyrunc_bpf_device_prog(fd, insns, len(insns) // 8, log, 4096)
    finally:
        os.close(fd)
    if rc < 0:
        detail = [line for line in ffi.string(log).decode(errors="replace").splitlines()
                  if line.strip() and not line.startswith("processed ")]
        raise PyruncError(f"linux.resources.devices: eBPF device program for {directory}: "
                          f"{os.strerror(-rc)}" + (f" ({detail[-1]})" if detail else ""))
