"""The container process: args, env, cwd, user, capabilities, rlimits, no_new_privs,
scheduler, I/O priority, personality, LSM labels and the seccomp filter (seccomp.py), as
launch-plan records."""

from __future__ import annotations

import struct

from pyrunc.linux import capabilities, rlimits
from pyrunc.linux.plan import (
    T_ADDITIONAL_GID,
    T_ARG,
    T_CAPS,
    T_CWD,
    T_ENV,
    T_IOPRIO,
    T_LSM_EXEC,
    T_NO_NEW_PRIVS,
    T_PERSONALITY,
    T_RLIMIT,
    T_SCHEDULER,
    T_USER,
    flag,
    s,
    u32,
    u64,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.linux.plan import (
        Record,
    )

SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}


def _scheduler(sched: dict[str, Any]) -> bytes:
    policy = sched.get("policy")
    if policy not in SCHED_POLICIES:
        raise ValueError(f'process.scheduler.policy: unknown policy "{policy}"')
    flags = 0
    for i, name in enumerate(sched.get("flags") or []):
        if name not in SCHED_FLAGS:
            raise ValueError(f'process.scheduler.flags[{i}]: unknown flag "{name}"')
        flags |= SCHED_FLAGS[name]
    priority = int(sched.get("priority", 0))
    if priority < 0:  # the schema's int32, the kernel's u32 sched_priority
        raise ValueError(f"process.scheduler.priority: {priority} must not be negative")
    # struct sched_attr: size, policy, flags(u64), nice(s32), priority, runtime, deadline, period
    return struct.pack("=IIQiIQQQII", 56, SCHED_POLICIES[policy], flags,
                       int(sched.get("nice", 0)), priority,
                       int(sched.get("runtime", 0)), int(sched.get("deadline", 0)),
                       int(sched.get("period", 0)), 0, 0)


def _lsm(process: dict[str, Any]) -> list[Record]:
    records: list[Record] = []
    profile = process.get("apparmorProfile")
    if profile:
        try:
            with open("/sys/module/apparmor/parameters/enabled") as f:
                enabled = f.read().strip() == "Y"
        except OSError:
            enabled = False
        if not enabled:
            raise ValueError("process.apparmorProfile: AppArmor is not enabled on this host")
        records.append((T_LSM_EXEC, s("/proc/self/attr/apparmor/exec", f"exec {profile}")))
    label = process.get("selinuxLabel")
    if label:
        import os

        if not os.path.exists("/sys/fs/selinux/enforce"):
            raise ValueError("process.selinuxLabel: SELinux is not enabled on this host")
        records.append((T_LSM_EXEC, s("/proc/self/attr/exec", label)))
    return records


def records(config: dict[str, Any]) -> list[Record]:
    process = config["process"]
    found: list[Record] = [(T_ARG, s(arg)) for arg in process.get("args") or []]
    if not process.get("args"):
        raise ValueError("process.args: at least the program to run is required")
    found += [(T_ENV, s(env)) for env in process.get("env") or []]
    found.append((T_CWD, s(process.get("cwd") or "/")))
    user = process.get("user") or {}
    umask = user.get("umask")
    found.append((T_USER, u32(int(user.get("uid", 0)), int(user.get("gid", 0)),
                              0xFFFFFFFF if umask is None else int(umask))))
    found += [(T_ADDITIONAL_GID, u32(int(g))) for g in user.get("additionalGids") or []]
    if process.get("capabilities") is not None:
        found.append((T_CAPS, u64(*capabilities.masks(process["capabilities"]))))
    found += [(T_RLIMIT, u32(r) + u64(soft, hard))
              for r, soft, hard in rlimits.parse(process.get("rlimits") or [])]
    found.append(flag(T_NO_NEW_PRIVS, bool(process.get("noNewPrivileges"))))
    if process.get("scheduler"):
        found.append((T_SCHEDULER, _scheduler(process["scheduler"])))
    io = process.get("ioPriority")
    if io:
        if io.get("class") not in IOPRIO_CLASSES:
            raise ValueError(f'process.ioPriority.class: unknown class "{io.get("class")}"')
        level = int(io.get("priority", 0))
        # the kernel's levels are 0-7; anything else would not fit the 13 data bits (or
        # would spill into the class bits and pick another class)
        if not 0 <= level <= 7:
            raise ValueError(f"process.ioPriority.priority: {level} is out of range 0-7")
        found.append((T_IOPRIO, u32((IOPRIO_CLASSES[io["class"]] << 13) | level)))
    persona = (config.get("linux") or {}).get("personality")
    if persona:
        domain = persona.get("domain")
        if domain not in PERSONALITY_DOMAINS:
            raise ValueError(f'linux.personality.domain: unknown domain "{domain}"')
        if persona.get("flags"):
            raise ValueError("linux.personality.flags: not supported by pyrunc yet")
        found.append((T_PERSONALITY, u32(PERSONALITY_DOMAINS[domain])))
    found += _lsm(process)
    if (config.get("linux") or {}).get("seccomp") is not None:
        from pyrunc.linux import seccomp  # only then: libseccomp's bindings are not free

        found += seccomp.records(config)  # linux.seccomp: also for `exec`, as runc
    return found
