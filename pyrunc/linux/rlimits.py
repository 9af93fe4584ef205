"""process.rlimits: names to RLIMIT_* numbers (Linux, all architectures pyrunc runs on)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}
INFINITY = 0xFFFFFFFFFFFFFFFF


def parse(rlimits: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """(resource, soft, hard) for each entry; duplicates and unknown names are errors."""
    seen: set[str] = set()
    result = []
    for i, entry in enumerate(rlimits):
        name = entry["type"]
        if name not in RLIMITS:
            raise ValueError(f'process.rlimits[{i}].type: unknown rlimit "{name}"')
        if name in seen:
            raise ValueError(f'process.rlimits[{i}].type: "{name}" is set twice')
        seen.add(name)
        soft, hard = int(entry["soft"]), int(entry["hard"])
        if soft > hard:
            raise ValueError(f"process.rlimits[{i}]: soft limit {soft} above hard limit {hard}")
        result.append((RLIMITS[name], soft & INFINITY, hard & INFINITY))
    return result
