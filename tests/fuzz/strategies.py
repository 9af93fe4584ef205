"""Hypothesis strategies for malformed input: configs mutated from a valid one, raw bytes,
argvs, signals and ids. Shared by tests/test_fuzz_inputs.py and tests/fuzz/fuzz_config.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# Fields worth aiming at (besides every path already in the base config): each is read by a
# different encoder (plan, mounts, process, seccomp, cgroups, namespaces, hooks).
TARGET_PATHS: list[tuple[str | int, ...]] = [
    ("ociVersion",), ("hostname",), ("domainname",), ("annotations",),
    ("root",), ("root", "path"), ("root", "readonly"),
    ("process",), ("process", "args"), ("process", "args", 0), ("process", "env", 0),
    ("process", "cwd"), ("process", "terminal"), ("process", "consoleSize"),
    ("process", "consoleSize", "height"), ("process", "user", "uid"),
    ("process", "user", "gid"), ("process", "user", "umask"),
    ("process", "user", "additionalGids"), ("process", "rlimits"),
    ("process", "rlimits", 0, "type"), ("process", "rlimits", 0, "hard"),
    ("process", "rlimits", 0, "soft"), ("process", "capabilities", "bounding"),
    ("process", "capabilities", "ambient", 0), ("process", "noNewPrivileges"),
    ("process", "oomScoreAdj"), ("process", "scheduler"), ("process", "scheduler", "policy"),
    ("process", "scheduler", "priority"), ("process", "scheduler", "flags"),
    ("process", "ioPriority"), ("process", "ioPriority", "class"),
    ("process", "ioPriority", "priority"), ("process", "apparmorProfile"),
    ("process", "selinuxLabel"), ("process", "execCPUAffinity"),
    ("process", "execCPUAffinity", "initial"), ("process", "commandLine"),
    ("mounts",), ("mounts", 0), ("mounts", 0, "destination"), ("mounts", 0, "type"),
    ("mounts", 0, "source"), ("mounts", 1, "options"), ("mounts", 1, "options", 0),
    ("mounts", 0, "uidMappings"), ("mounts", 0, "gidMappings"),
    ("hooks",), ("hooks", "prestart"), ("hooks", "createRuntime"),
    ("hooks", "poststart", 0), ("hooks", "poststart", 0, "path"),
    ("hooks", "poststart", 0, "timeout"), ("hooks", "poststop", 0, "args"),
    ("hooks", "createContainer", 0), ("hooks", "createContainer", 0, "timeout"),
    ("hooks", "startContainer", 0, "env"), ("hooks", "unknownKind"),
    ("linux",), ("linux", "namespaces"), ("linux", "namespaces", 0),
    ("linux", "namespaces", 0, "type"), ("linux", "namespaces", 0, "path"),
    ("linux", "uidMappings"), ("linux", "gidMappings"), ("linux", "uidMappings", 0),
    ("linux", "sysctl"), ("linux", "sysctl", "net.ipv4.ip_forward"),
    ("linux", "devices"), ("linux", "devices", 0), ("linux", "devices", 0, "major"),
    ("linux", "devices", 0, "type"), ("linux", "devices", 0, "fileMode"),
    ("linux", "devices", 0, "path"), ("linux", "cgroupsPath"),
    ("linux", "resources"), ("linux", "resources", "memory"),
    ("linux", "resources", "memory", "limit"), ("linux", "resources", "memory", "swap"),
    ("linux", "resources", "memory", "swappiness"), ("linux", "resources", "cpu"),
    ("linux", "resources", "cpu", "shares"), ("linux", "resources", "cpu", "quota"),
    ("linux", "resources", "cpu", "period"), ("linux", "resources", "cpu", "cpus"),
    ("linux", "resources", "cpu", "idle"), ("linux", "resources", "pids", "limit"),
    ("linux", "resources", "blockIO"), ("linux", "resources", "blockIO", "weight"),
    ("linux", "resources", "blockIO", "throttleReadBpsDevice"),
    ("linux", "resources", "blockIO", "weightDevice", 0),
    ("linux", "resources", "hugepageLimits"), ("linux", "resources", "hugepageLimits", 0),
    ("linux", "resources", "network"), ("linux", "resources", "network", "priorities"),
    ("linux", "resources", "rdma"), ("linux", "resources", "unified"),
    ("linux", "resources", "devices"), ("linux", "resources", "devices", 0),
    ("linux", "resources", "devices", 1, "access"), ("linux", "resources", "devices", 1),
    ("linux", "resources", "devices", 0, "major"),
    ("linux", "seccomp"), ("linux", "seccomp", "defaultAction"),
    ("linux", "seccomp", "defaultErrnoRet"), ("linux", "seccomp", "architectures"),
    ("linux", "seccomp", "flags"), ("linux", "seccomp", "listenerPath"),
    ("linux", "seccomp", "syscalls"), ("linux", "seccomp", "syscalls", 0),
    ("linux", "seccomp", "syscalls", 0, "names"), ("linux", "seccomp", "syscalls", 0, "action"),
    ("linux", "seccomp", "syscalls", 0, "errnoRet"), ("linux", "seccomp", "syscalls", 0, "args"),
    ("linux", "seccomp", "syscalls", 0, "args", 0),
    ("linux", "seccomp", "syscalls", 0, "args", 0, "value"),
    ("linux", "seccomp", "syscalls", 0, "args", 0, "op"),
    ("linux", "maskedPaths"), ("linux", "maskedPaths", 0), ("linux", "readonlyPaths", 0),
    ("linux", "rootfsPropagation"), ("linux", "mountLabel"), ("linux", "personality"),
    ("linux", "personality", "domain"), ("linux", "personality", "flags"),
    ("linux", "intelRdt"), ("linux", "timeOffsets"), ("linux", "timeOffsets", "monotonic"),
    ("linux", "netDevices"), ("linux", "memoryPolicy"), ("linux", "memoryPolicy", "mode"),
    ("linux", "memoryPolicy", "nodes"),
]

# integers at the edges of every width an encoder may pack them into
EDGE_INTS = [0, 1, -1, 2, 5, 255, 256, 1024, 65535, 65536, 2**31 - 1, 2**31, -2**31,
             -2**31 - 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64 - 1,
             2**64, 2**100, -2**100, 10**30]
ODD_TEXT = ["", " ", "/", "//", ".", "..", "../../../etc", "/proc/self/exe", "a\x00b",
            "\n", "line1\nline2", "\t", "é", "\u202e", "\U0001f600", "\ud800", "\udfff",
            "x" * 5000, "/" * 300, "-1", "0x10", "1e3", "CAP_SYS_ADMIN", "RLIMIT_NOFILE",
            "SCMP_ACT_KILL", "SCMP_ARCH_X86_64", "user", "network", "mount", "pid", "rwm",
            "c", "b", "u", "p", "a", "bind", "rbind", "ro", "rw", "nosuid", "mode=0755",
            "size=-1", "uid=99999999999", "idmap", "ridmap", "nodev,noexec", "tmpfs",
            "proc", "cgroup", "/sys/fs/cgroup", "max", "1-3", "0-", "a:b:c", "system.slice",
            "SCHED_FIFO", "SCHED_OTHER", "IOPRIO_CLASS_RT", "LINUX", "MPOL_BIND"]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from(EDGE_INTS), st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_TEXT), st.text(max_size=20),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
# a value of the right shape with a wrong detail gets past the schema into the encoders
plausible = st.one_of(
    st.sampled_from(EDGE_INTS), st.sampled_from(ODD_TEXT),
    st.lists(st.sampled_from(ODD_TEXT), max_size=3),
    st.lists(st.sampled_from(EDGE_INTS), max_size=3),
    st.builds(lambda c, h, s: {"type": c, "hard": h, "soft": s},
              st.sampled_from(ODD_TEXT), st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS)),
    st.builds(lambda t, p: {"type": t, "path": p} if p else {"type": t},
              st.sampled_from(ODD_TEXT), st.sampled_from(["", "/proc/1/ns/net", "/x", "rel"])),
    st.builds(lambda c, h, s: {"containerID": c, "hostID": h, "size": s},
              st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS)),
    st.builds(lambda n, a, e: {"names": n, "action": a, "errnoRet": e},
              st.lists(st.sampled_from(["read", "write", "nosuch", "", "\ud800", "a" * 300]),
                       max_size=3),
              st.sampled_from(["SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_NOTIFY",
                               "SCMP_ACT_TRACE", "x"]), st.sampled_from(EDGE_INTS)),
    st.builds(lambda i, v, v2, op: {"index": i, "value": v, "valueTwo": v2, "op": op},
              st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS),
              st.sampled_from(["SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_GT", "x"])),
    st.builds(lambda a, ty, ma, mi: {"allow": a, "type": ty, "major": ma, "minor": mi,
                                     "access": "rwm"},
              st.booleans(), st.sampled_from(["a", "b", "c", "u", "p", "x"]),
              st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS)),
    st.builds(lambda d, t, s, o: {"destination": d, "type": t, "source": s, "options": o},
              st.sampled_from(ODD_TEXT), st.sampled_from(ODD_TEXT), st.sampled_from(ODD_TEXT),
              st.lists(st.sampled_from(ODD_TEXT), max_size=4)),
    st.builds(lambda p, a, e, t: {"path": p, "args": a, "env": e, "timeout": t},
              st.sampled_from(["/bin/true", "rel", "", "/x\ny"]),
              st.lists(st.sampled_from(ODD_TEXT), max_size=2),
              st.lists(st.sampled_from(ODD_TEXT), max_size=2), st.sampled_from(EDGE_INTS)),
    st.dictionaries(st.sampled_from(ODD_TEXT), st.sampled_from(ODD_TEXT), max_size=3),
    st.dictionaries(st.sampled_from(["limit", "swap", "reservation", "shares", "quota",
                                     "period", "cpus", "mems", "weight", "max", "pageSize",
                                     "hard", "soft", "class", "priority"]),
                    st.one_of(st.sampled_from(EDGE_INTS), st.sampled_from(ODD_TEXT)),
                    max_size=4),
)


def paths_in(doc: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value in ``doc`` (objects and arrays included)."""
    found = [prefix] if prefix else []
    if len(prefix) > 10:
        return found
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths_in(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += paths_in(value, (*prefix, i))
    return found


def _set(doc: Any, path: tuple[str | int, ...], value: Any, delete: bool) -> Any:
    """``doc`` with ``path`` set to ``value`` (or removed), creating what is missing."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        if not isinstance(doc, list):
            doc = []
        while len(doc) <= head:
            doc.append({})
        if delete and not rest:
            del doc[head]
        else:
            doc[head] = _set(doc[head], rest, value, delete)
        return doc
    if not isinstance(doc, dict):
        doc = {}
    if delete and not rest:
        doc.pop(head, None)
    else:
        doc[head] = _set(doc.get(head), rest, value, delete)
    return doc


DEEP = "\x00deep:"  # a placeholder that encode() replaces with nesting too deep for json.dumps


def deep_text(depth: int) -> str:
    return '{"a":[' * (depth // 2) + "1" + "]}" * (depth // 2)


# -- values that pass the schema, so that the encoders behind it get them -------------------

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "pyrunc" / "config" / "schema" / \
    "config.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node:  # the schema's allOf only narrows one object: merge
        merged: dict[str, Any] = {}
        for part in node["allOf"]:
            for key, value in _deref(part).items():
                merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) \
                    else value
        return merged
    return node


def schema_at(path: tuple[str | int, ...]) -> dict[str, Any] | None:
    """The schema of the value at ``path`` in a config, or None where it says nothing."""
    node = _deref(SCHEMA)
    for part in path:
        if isinstance(part, int):
            items = node.get("items")
            if not isinstance(items, dict):
                return None
            node = _deref(items)
        elif part in node.get("properties", {}):
            node = _deref(node["properties"][part])
        elif isinstance(node.get("additionalProperties"), dict):
            node = _deref(node["additionalProperties"])
        elif node.get("patternProperties"):
            node = _deref(next(iter(node["patternProperties"].values())))
        else:
            return None
    return node


@st.composite
def from_schema(draw: st.DrawFn, node: dict[str, Any], depth: int = 0) -> Any:
    """A value of the schema's shape, with edge-case contents (huge and negative numbers
    within the declared range, odd strings, empty and repeated items)."""
    node = _deref(node)
    for key in ("oneOf", "anyOf"):
        if key in node:
            return draw(from_schema(draw(st.sampled_from(node[key])), depth))
    if "enum" in node and draw(st.integers(0, 4)):
        return draw(st.sampled_from(node["enum"]))
    kind = node.get("type")
    if isinstance(kind, list):
        kind = draw(st.sampled_from(kind))
    if kind == "integer":
        low, high = node.get("minimum", -2**63), node.get("maximum", 2**64 - 1)
        edges = [v for v in EDGE_INTS if low <= v <= high] + [low, high]
        return draw(st.one_of(st.sampled_from(edges), st.integers(low, high)))
    if kind == "number":
        return draw(st.floats(allow_nan=False))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "string":
        return draw(st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=8)))
    if kind == "array":
        items = node.get("items")
        if not isinstance(items, dict) or depth > 4:
            return []
        return draw(st.lists(from_schema(items, depth + 1), max_size=3))
    if kind == "object" or "properties" in node:
        if depth > 4:
            return {}
        props = node.get("properties", {})
        required = list(node.get("required", []))
        chosen = draw(st.lists(st.sampled_from(sorted(props)), max_size=4, unique=True)) \
            if props else []
        value = {k: draw(from_schema(props[k], depth + 1)) for k in dict.fromkeys(required + chosen)
                 if k in props}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for key in draw(st.lists(st.sampled_from(ODD_TEXT), max_size=2)):
                value[key] = draw(from_schema(extra, depth + 1))
        return value
    return draw(scalars)


@st.composite
def mutated_config(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        existing = paths_in(doc)
        path = draw(st.sampled_from(existing + TARGET_PATHS) if existing
                    else st.sampled_from(TARGET_PATHS))
        action = draw(st.sampled_from(["typed"] * 6 + ["plausible"] * 3 +
                                      ["any", "any", "delete", "deep"]))
        node = schema_at(path) if action == "typed" else None
        if action == "typed" and node is not None:
            doc = _set(doc, path, draw(from_schema(node)), delete=False)
        elif action == "delete":
            doc = _set(doc, path, None, delete=True)
        elif action == "deep":
            depth = draw(st.sampled_from([40, 70, 500, 990, 5000, 100_000]))
            doc = _set(doc, path, f"{DEEP}{depth}", delete=False)
        else:
            value = draw(plausible if action == "plausible" else json_values)
            doc = _set(doc, path, value, delete=False)
    return doc


def encode(doc: Any) -> bytes:
    """JSON as a caller would write it; lone surrogates survive as \\ud800 escapes."""
    text = json.dumps(doc)
    while DEEP_JSON in text:  # nesting deeper than json.dumps would write
        start = text.index(DEEP_JSON)
        end = text.index('"', start + len(DEEP_JSON))
        text = text[:start] + deep_text(int(text[start + len(DEEP_JSON):end])) + text[end + 1:]
    return text.encode()


DEEP_JSON = json.dumps(DEEP)[:-1]  # how the placeholder's start looks once encoded


@st.composite
def config_bytes(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    kind = draw(st.sampled_from(["mutated"] * 8 + ["text", "raw", "deep"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    if kind == "deep":
        opener = draw(st.sampled_from([b"[", b'{"a":', b'{"process":{"args":[']))
        return opener * draw(st.sampled_from([100, 1000, 100_000]))
    data = encode(draw(mutated_config(base)))
    if kind == "text":  # damage the JSON text itself
        cut = draw(st.integers(0, len(data)))
        junk = draw(st.binary(max_size=8))
        data = data[:cut] + junk + data[cut + draw(st.integers(0, 8)):]
    return data


FLAG_WORDS = ["--root", "--log", "--log-format", "--debug", "--systemd-cgroup", "--rootless",
              "-b", "--bundle", "--pid-file", "--console-socket", "--pidfd-socket",
              "--preserve-fds", "--no-pivot", "--no-new-keyring", "-d", "--detach",
              "-t", "--tty", "-f", "--force", "-a", "--all", "--format", "-q", "--quiet",
              "--process", "-p", "--cwd", "-e", "--env", "-u", "--user", "--cap",
              "--signal", "--memory", "--cpu-shares", "--pids-limit", "-r", "--resources",
              "--interval", "--stats", "--help", "-h", "--version", "-v", "-", "--", "-dt",
              "--force=maybe", "--preserve-fds=x", "--preserve-fds=-5", "-bundle", "-log",
              "--nosuch", "-x", "=", "--root=", "--detach=true", "--additional-gids"]
COMMANDS = ["create", "start", "run", "state", "kill", "delete", "list", "ps", "exec",
            "pause", "resume", "update", "events", "spec", "features", "checkpoint",
            "restore", "nosuch", ""]
argv_tokens = st.one_of(st.sampled_from(FLAG_WORDS), st.sampled_from(COMMANDS),
                        st.sampled_from(ODD_TEXT), st.text(max_size=10),
                        st.sampled_from(["KILL", "9", "0", "65", "SIGRTMIN+3", "RTMAX-40",
                                         "-9", "sigterm", "SIG", "SIGRTMIN+", "1.5"]))


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    words = draw(st.lists(argv_tokens, max_size=8))
    if draw(st.booleans()):
        words.insert(0, draw(st.sampled_from(COMMANDS)))
    return [w.replace("\x00", "") for w in words]  # argv cannot carry NUL


signal_texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["KILL", "SIGKILL", "kill", "9", "0", "64", "65", "-1", "SIGRTMIN",
                     "SIGRTMIN+0", "SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMAX-0", "SIGRTMAX-31",
                     "RTMIN+99999999999999999999", "SIGRTMAX-", "SIG_DFL", "SIG_IGN",
                     "NSIG", "SIGCLD", "ITIMER_REAL", "Sigterm", "٣", "²", "99999999999999"]),
)
id_texts = st.one_of(st.text(max_size=20), st.sampled_from(ODD_TEXT),
                     st.text(alphabet="abc.+_-/", max_size=6))
