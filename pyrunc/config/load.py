"""Read a bundle's config.json and check it: the schema first, then what a runtime must add.

The schema (pyrunc/config/schema, checked by validate.py) says what is well-formed; the
runtime checks here say what can be run: a process to run, a root that exists, paths the
spec requires to be absolute, no namespace listed twice.
"""

from __future__ import annotations

import os

from pyrunc import jsonio
from pyrunc.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

CONFIG_FILE = "config.json"
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")
# Real configs nest fewer than 10 levels. The limit keeps an accepted config writable and
# readable again inside state.json (json's C codec recurses once per level, and state.json
# nests the config two levels deeper): a config that parses at depth 990 would otherwise fail
# every later command on the container with a RecursionError.
MAX_DEPTH = 64


def read_config(bundle: str) -> dict[str, Any]:
    path = os.path.join(bundle, CONFIG_FILE)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ConfigError([f"cannot read {path}: no such file"]) from None
    except OSError as err:
        raise ConfigError([f"cannot read {path}: {err.strerror}"]) from None
    try:
        doc = jsonio.loads(data)
    except ValueError as err:
        raise ConfigError([f"invalid JSON: {err}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError(["(root): expected an object"])
    deep = too_deep(doc)
    if deep:
        raise ConfigError([f"{deep}: nested deeper than {MAX_DEPTH} levels"])
    return doc


def too_deep(doc: object, limit: int = MAX_DEPTH) -> str | None:
    """The JSON path of the first value nested deeper than ``limit``, or None (no
    recursion: the document may be deeper than Python's stack)."""
    stack: list[tuple[object, str, int]] = [(doc, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > limit:
            return path or "(root)"
        if isinstance(value, dict):
            stack += [(v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    return None


def runtime_problems(config: dict[str, Any], bundle: str) -> list[str]:
    """What the schema cannot say but the runtime-spec requires of a config to create."""
    found: list[str] = []
    process = config.get("process")
    if process is None:
        found.append("process: required to create a container")
    elif not str(process.get("cwd", "")).startswith("/"):
        found.append(f'process.cwd: must be an absolute path, got "{process.get("cwd")}"')
    root = config.get("root") or {}
    root_path = root.get("path")
    if not root_path:
        found.append('root.path: required on Linux')
    elif not os.path.isdir(os.path.join(bundle, root_path)):
        found.append(f'root.path: "{root_path}" is not a directory')
    linux = config.get("linux") or {}
    seen: set[str] = set()
    for i, ns in enumerate(linux.get("namespaces") or []):
        if ns.get("type") in seen:
            found.append(f'linux.namespaces[{i}].type: "{ns["type"]}" listed twice')
        seen.add(ns.get("type", ""))
    if (linux.get("uidMappings") or linux.get("gidMappings")) and "user" not in seen:
        found.append("linux.uidMappings: mappings need a user namespace in linux.namespaces")
    all_hooks = config.get("hooks") or {}
    # only the spec's kinds: the schema checked their shape, and lets other keys hold anything
    for kind in HOOK_KINDS:
        for i, hook in enumerate(all_hooks.get(kind) or []):
            if not str(hook.get("path", "")).startswith("/"):
                found.append(f'hooks.{kind}[{i}].path: must be absolute, got "{hook.get("path")}"')
    if os.geteuid() != 0:
        found += rootless_problems(config, seen)
    return found


def rootless_problems(config: dict[str, Any], namespaces: set[str]) -> list[str]:
    """runc's checks for a non-root caller: nothing but a user namespace gives it the
    privileges the other namespaces and mounts need, and a uid=/gid= mount option must name
    an id mapped in it."""
    if "user" not in namespaces:
        return [f"linux.namespaces: a rootless container (pyrunc runs as uid {os.geteuid()}) "
                "needs a user namespace; `pyrunc spec --rootless` writes such a config"]
    linux = config.get("linux") or {}
    found: list[str] = []
    for i, mount in enumerate(config.get("mounts") or []):
        for option in mount.get("options") or []:
            key, _, value = str(option).partition("=")
            if key not in ("uid", "gid") or not value.isdigit():
                continue
            maps = linux.get("uidMappings" if key == "uid" else "gidMappings") or []
            if maps and not any(m["containerID"] <= int(value) < m["containerID"] + m["size"]
                                for m in maps):
                found.append(f'mounts[{i}].options: "{option}" is not mapped in the user '
                             f"namespace (linux.{key}Mappings), so a rootless container "
                             "cannot use it")
    return found


def load_bundle(bundle: str) -> dict[str, Any]:
    """The bundle's config, valid for ``create``; ConfigError lists every problem."""
    config = read_config(bundle)
    from pyrunc.config.validate import problems

    found = problems(config)
    if not found:
        found = runtime_problems(config, bundle)
    if found:
        raise ConfigError(found)
    return config
