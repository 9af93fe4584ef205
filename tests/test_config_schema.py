"""pyrunc's schema gives the official runtime-spec schema's verdict (pure logic: no containers).

The intended differences: pyrunc runs ociVersion 1.0.0 to 1.3.x, the official schema takes
any string there; linux.devices[].fileMode takes any uint32 (podman sends the host node's
st_mode, file type bits included, which runc drops), the official schema 0 to 511; and
linux.rootfsPropagation also takes rprivate, rshared, rslave and runbindable (runc does;
podman sends rslave), the official schema only the four without "r".

And pyrunc's two checkers of that schema agree: on every document below, the compiled check
(pyrunc/config/_compiled.py, from compile_schema.py) says valid exactly when jsonschema does.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, SHARED, Runtime, official_validator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyrunc
from pyrunc.config import compile_schema
from pyrunc.config.default import default_config
from pyrunc.config.validate import SCHEMA_PATH, _validator, compiled_check, problems

OFFICIAL = SHARED / "oci-runtime-spec-v1.3.0"
DATA = Path(__file__).parent / "data"
REAL = sorted((DATA / "real").glob("*.json"))

pytestmark = pytest.mark.skipif(not OFFICIAL.exists(), reason=f"{OFFICIAL} not found")


def _official_validator() -> Any:
    return official_validator("config-schema.json")


@pytest.fixture(scope="module")
def official() -> Any:
    return _official_validator()


def official_ok(validator: Any, doc: Any) -> bool:
    try:
        return bool(validator.is_valid(doc))
    except Exception:  # a broken $ref in the official schema (#definitions/uint32) raises
        return False


def ours_ok(doc: Any) -> bool:
    return not problems(doc)


def same_verdict(doc: Any) -> bool:
    """The compiled check and jsonschema (both on pyrunc's schema) agree; returns the verdict."""
    verdict = bool(_validator().is_valid(doc))
    assert compiled_check()(doc) == verdict, json.dumps(doc)[:2000]
    return verdict


def ours_ok_but_version(doc: Any) -> bool:
    """Our verdict, setting aside the intended difference (a version string out of range)."""
    return not [p for p in problems(doc) if "is not a version pyrunc runs" not in p]


RECURSIVE_PROPAGATION = {"rprivate", "rshared", "rslave", "runbindable"}


def official_ok_but_intended(validator: Any, doc: Any) -> bool:
    """The official verdict, setting aside the intended differences in devices' fileMode
    and the recursive rootfsPropagation values (the version is set aside by the caller)."""
    linux = doc.get("linux") if isinstance(doc, dict) else None
    if not isinstance(linux, dict):
        return official_ok(validator, doc)
    doc = copy.deepcopy(doc)
    linux = doc["linux"]
    devices = linux.get("devices")
    for device in devices if isinstance(devices, list) else []:
        if isinstance(device, dict) and type(device.get("fileMode")) is int \
                and 511 < device["fileMode"] <= 0xFFFFFFFF:
            device["fileMode"] = 0o600
    if linux.get("rootfsPropagation") in RECURSIVE_PROPAGATION:
        linux["rootfsPropagation"] = linux["rootfsPropagation"][1:]
    return official_ok(validator, doc)


FIXTURES = sorted((OFFICIAL / "test" / "config").glob("*/*.json")) if OFFICIAL.exists() else []


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURES])
def test_official_fixtures(path: Path, official: Any) -> None:
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        pytest.skip("not JSON: rejected before any schema")
    same_verdict(doc)
    assert ours_ok_but_version(doc) == official_ok_but_intended(official, doc) == (
        path.parent.name == "good")


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_configs_valid_for_both(path: Path, official: Any) -> None:
    doc = json.loads(path.read_text())
    assert same_verdict(doc)
    assert problems(doc) == []
    assert official_ok(official, doc)


def test_pyrunc_spec_valid_for_both(official: Any) -> None:
    for rootless in (False, True):
        assert same_verdict(default_config(rootless))
        assert problems(default_config(rootless)) == []
        assert official_ok(official, default_config(rootless))


@pytest.mark.parametrize("version,ok", [
    ("1.0.0", True), ("1.0.2-dev", True), ("1.3.0", True), ("1.3.17", True),
    ("1.4.0", False), ("2.0.0", False), ("0.9.0", False), ("", False)])
def test_version_range_is_the_intended_difference(version: str, ok: bool, official: Any) -> None:
    doc = default_config()
    doc["ociVersion"] = version
    assert same_verdict(doc) == ok
    assert ours_ok(doc) == ok
    assert official_ok(official, doc)  # the official schema takes any string


@pytest.mark.parametrize("mode,ok", [
    (0o600, True), (0o20600, True), (0o60660, True), (0xFFFFFFFF, True), (2**32, False),
    (-1, False), (True, False)])
def test_device_file_mode_with_type_bits_is_the_intended_difference(
        mode: int, ok: bool, official: Any) -> None:
    doc = default_config()
    doc["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                "fileMode": mode}]
    assert same_verdict(doc) == ok
    assert ours_ok(doc) == ok
    assert official_ok(official, doc) == (mode in (0o600,))  # the official schema: 0 to 511


@pytest.mark.parametrize("propagation,ok", [
    ("slave", True), ("rslave", True), ("rprivate", True), ("rshared", True),
    ("runbindable", True), ("rrslave", False), ("recursive", False), ("", False)])
def test_recursive_rootfs_propagation_is_the_intended_difference(
        propagation: str, ok: bool, official: Any) -> None:
    doc = default_config()
    doc["linux"]["rootfsPropagation"] = propagation
    assert same_verdict(doc) == ok
    assert ours_ok(doc) == ok
    assert official_ok(official, doc) == (propagation == "slave")


# ---- generated mutations --------------------------------------------------------------

BASES = [default_config(), default_config(True)] + [json.loads(p.read_text()) for p in REAL]
if OFFICIAL.exists():
    BASES += [json.loads(p.read_text()) for p in (OFFICIAL / "test" / "config" / "good").glob("*")]

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**65, max_value=2**65),
    st.sampled_from([0, -1, 1, 255, 256, 511, 512, 65535, 65536, 2**31, 2**32, 2**63, 2**64,
                     -2**31 - 1, -2**63 - 1, 1.5, 1.0]),
    st.text(max_size=8), st.sampled_from(["RLIMIT_X", "rlimit_nofile", "SCMP_ACT_FOO", "c", "q",
                                          "private", "rshared", "LINUX", "1KB", "0KB", "MB:x"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_get_the_official_verdict(data: st.DataObject) -> None:
    official = _cached_official()
    doc = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    path = data.draw(st.sampled_from(_paths(doc)))
    action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    if not path:
        return
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = data.draw(VALUES)
    else:
        target = parent[last]
        if isinstance(target, dict):
            target[data.draw(st.text(min_size=1, max_size=8))] = data.draw(VALUES)
        elif isinstance(target, list):
            target.append(data.draw(VALUES))
        else:
            parent[last] = data.draw(VALUES)
    same_verdict(doc)
    assert ours_ok_but_version(doc) == official_ok_but_intended(official, doc), (
        path, action, problems(doc))


_OFFICIAL_CACHE: list[Any] = []


def _cached_official() -> Any:
    if not _OFFICIAL_CACHE:
        _OFFICIAL_CACHE.append(_official_validator())
    return _OFFICIAL_CACHE[0]


def test_every_problem_is_one_line_naming_a_path() -> None:
    doc = default_config()
    doc["process"]["args"] = "sh"
    doc["linux"]["namespaces"].append({"type": "bogus"})
    doc["mounts"][0]["options"] = [1, 2]
    del doc["root"]["path"]
    found = problems(doc)
    assert found == [
        'linux.namespaces[6].type: "bogus" is not one of mount, pid, network, uts, ipc, user, '
        "cgroup, time",
        "mounts[0].options[0]: expected a string, got 1",
        "mounts[0].options[1]: expected a string, got 2",
        'process.args: expected an array, got "sh"',
        "root.path: required, but missing",
    ]
    assert all("\n" not in line for line in found)


# ---- the compiled check: same verdict as jsonschema, current, and on the create path ----------
#
# The corpora above assert same_verdict on every document. Below: a walk of the schema itself
# that reaches every node (the corpora never set most of windows/vm/solaris...) and tries the
# edge of each keyword there; toy schemas for the keywords config.schema.json does not use.

SCHEMA: dict[str, Any] = json.loads(Path(SCHEMA_PATH).read_text())
# Strings for every "pattern" node: matches, near misses, and "$" before a final newline.
STRINGS = ["", "x", "\n", "1.0.0", "1.3.0\n", "1.3.9-rc.1", "1.4.0", "1.0", "01.0.0",
           "RLIMIT_NOFILE", "RLIMIT_", "RLIMIT_NOFILE\n", "rlimit_nofile", "RLIMIT_NO FILE",
           "c", "b", "u", "p", "q", "cb", "c\n", "1KB", "64MB", "2GB", "0KB", "1kB", "1KB\n",
           "MB:", "MB:0=20", "MB:0\n1", "mb:0", "0-3, 5", "0-3,a", ""]
ANY_TYPE = [None, True, False, 0, -1, 1, 1.0, 0.5, "", "x", [], {}, [1], {"a": 1}]


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SCHEMA
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = target
    return node


def _full(node: Any, path: tuple[Any, ...], where: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """A valid instance of ``node`` with every property and one item of every array set;
    ``where`` collects (path, schema node) for each value in it."""
    node = _resolve(node)
    where.append((path, node))
    if "allOf" in node:
        merged: dict[str, Any] = {}
        for sub in node["allOf"]:
            merged.update(_full(sub, path, where))
        return merged
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        doc = {k: _full(sub, (*path, k), where) for k, sub in node.get("properties", {}).items()}
        for i, sub in enumerate(node.get("patternProperties", {}).values()):
            doc[f"k{i}"] = _full(sub, (*path, f"k{i}"), where)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            doc["extra"] = _full(extra, (*path, "extra"), where)
        return doc
    if kind == "array":
        items = node.get("items", {})
        subs = items if isinstance(items, list) else [items]
        return [_full(sub, (*path, i), where) for i, sub in enumerate(subs)]
    if kind == "string":
        pattern = node.get("pattern")
        return next(s for s in STRINGS if s and (pattern is None or re.search(pattern, s)))
    if kind == "integer":
        return max(node.get("minimum", 0), min(0, node.get("maximum", 0)))
    if kind == "boolean":
        return False
    raise AssertionError(f"no instance for {node}")


def _probes(node: Any) -> list[Any]:
    """Values at the edges of what ``node`` accepts, from its own keywords."""
    found = list(ANY_TYPE)
    for sub in [node, *node.get("allOf", [])]:
        sub = _resolve(sub)
        for bound in ("minimum", "maximum"):
            if bound in sub:
                b = sub[bound]
                found += [b - 1, b, b + 1, float(b), str(b)]
        for value in sub.get("enum", []):
            found += [value, value + "\n", value.lower(), value[:-1], " " + value]
        if "pattern" in sub:
            found += STRINGS
        if "minItems" in sub:
            found += [[], ["x"], ["x", "y"]]
    return found


def _required(node: Any) -> set[str]:
    return {r for sub in [node, *node.get("allOf", [])] for r in _resolve(sub).get("required", [])}


def _spine(full: Any, path: tuple[Any, ...], nodes: dict[tuple[Any, ...], Any],
           at: tuple[Any, ...] = ()) -> Any:
    """A copy of ``full`` cut down to the value at ``path`` and, above it, only what is
    required: all else stays valid, so the verdict is the mutation's (and jsonschema is quick)."""
    if not path:
        return copy.copy(full)
    key, below = path[0], (*at, path[0])
    if isinstance(full, list):
        return [_spine(item, path[1:], nodes, below) if i == key else item
                for i, item in enumerate(full)]
    required = _required(nodes[at])
    kept = {k: v for k, v in full.items() if k in required}
    return kept | {key: _spine(full[key], path[1:], nodes, below)}


DELETE = object()


def _walk() -> tuple[Any, dict[tuple[Any, ...], Any]]:
    """The fully populated document, and the schema node of each path in it (for an allOf,
    the allOf itself: the first node recorded there)."""
    where: list[tuple[tuple[Any, ...], Any]] = []
    full = _full(SCHEMA, (), where)
    nodes: dict[tuple[Any, ...], Any] = {}
    for path, node in where:
        nodes.setdefault(path, node)
    return full, nodes


def _targeted_mutations() -> list[Any]:
    full, nodes = _walk()
    docs: list[Any] = [full]

    def at(path: tuple[Any, ...], change: Any) -> None:
        """A document whose value at ``path`` is ``change(value)`` (DELETE: removed)."""
        doc = _spine(full, path, nodes)
        if not path:
            docs.append(change(doc))
            return
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        new = change(parent[path[-1]])
        if new is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
        docs.append(doc)

    for path, node in nodes.items():
        for value in _probes(node):
            at(path, lambda _, v=value: v)
        if path:
            at(path, lambda _: DELETE)
        target = _value(full, path)
        if isinstance(target, dict):  # other keys; "" and "\n" escape patternProperties
            for key in ("", "\n", "x", "extra2"):
                for value in (None, "x", 1, {}):
                    at(path, lambda d, k=key, v=value: {**d, k: v})
        elif isinstance(target, list):
            for value in (None, 1, "x", {}, [], *target[:1]):
                at(path, lambda d, v=value: [*d, v])
                at(path, lambda d, v=value: [v, *d])
    return docs


def _value(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def test_every_spine_is_valid() -> None:
    """What the targeted mutations start from: each cut-down document is valid as it is."""
    full, nodes = _walk()
    assert len(nodes) > 350  # every node of the schema, windows/vm/freebsd... included
    for path in nodes:
        assert same_verdict(_spine(full, path, nodes)), path


def test_targeted_mutations_of_every_schema_node_get_jsonschemas_verdict() -> None:
    docs = _targeted_mutations()
    verdicts = [same_verdict(doc) for doc in docs]
    assert verdicts[0], "the fully populated document is valid"
    # the walk must be meaningful: plenty of both verdicts
    assert verdicts.count(True) > 500 and verdicts.count(False) > 2000, (
        len(docs), verdicts.count(True))
# Keywords and forms config.schema.json does not use (today), each against jsonschema.
TOY_SCHEMAS: list[dict[str, Any]] = [
    {"type": ["string", "null"], "minLength": 2, "maxLength": 3},
    {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1.5},
    {"minimum": 1, "maximum": 2, "exclusiveMaximum": True},  # no type: non-numbers pass
    {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^a"}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 2}]},
    {"not": {"type": "array", "maxItems": 1}},
    {"properties": {"a": {"type": "integer"}}, "patternProperties": {"^b": {"type": "string"}},
     "additionalProperties": False, "required": ["a"], "minProperties": 1, "maxProperties": 2},
    {"type": "object", "patternProperties": {"^x": {}, "y$": {"enum": ["q"]}},
     "additionalProperties": {"type": "boolean"}},
    {"items": [{"type": "string"}, {"enum": ["a", "b"]}], "minItems": 1},
    {"definitions": {"n": {"type": "integer"}}, "$ref": "#/definitions/n", "type": "string"},
    {"allOf": [{"$ref": "#/definitions/s"}, {"enum": ["x", "xy"]}],
     "definitions": {"s": {"type": "string", "pattern": "x"}}},
    {"enum": ["a", "b"]},
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, 1.0, 1.5, 2.0])
    | st.sampled_from(["", "a", "ab", "abc", "abcd", "x", "xy", "q", "b", "\n"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "bb", "x1", "zy", "c", ""]), children,
                      max_size=3),
    max_leaves=6)


@pytest.mark.parametrize("schema", TOY_SCHEMAS, ids=[json.dumps(s)[:40] for s in TOY_SCHEMAS])
@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_toy_schemas_get_jsonschemas_verdict(schema: dict[str, Any], value: Any) -> None:
    import jsonschema

    check = _toy_check(json.dumps(schema))
    assert check(value) == jsonschema.Draft4Validator(schema).is_valid(value)


_TOY_CHECKS: dict[str, Any] = {}


def _toy_check(key: str) -> Any:
    if key not in _TOY_CHECKS:
        namespace: dict[str, Any] = {}
        exec(compile_schema.render(json.loads(key)), namespace)
        _TOY_CHECKS[key] = namespace["is_valid"]
    return _TOY_CHECKS[key]


@pytest.mark.parametrize("schema", [
    {"uniqueItems": True}, {"multipleOf": 2}, {"format": "uri"}, {"dependencies": {}},
    {"enum": [1, "a"]}, {"$ref": "other.json#/x"}, {"type": "any"},
    {"$schema": "http://json-schema.org/draft-07/schema#"}])
def test_what_the_compiler_cannot_translate_fails_the_build(schema: dict[str, Any]) -> None:
    with pytest.raises(compile_schema.Unsupported):
        compile_schema.render(schema)


def test_generated_module_is_current() -> None:
    """The _compiled.py this test imports, and the installed one, are today's schema's."""
    expected = compile_schema.render_file(SCHEMA_PATH)
    checked = 0
    for python_path in (str(Path(pyrunc.__file__).parents[1]), None):
        # None: the installed package (-I: no current directory, no PYTHONPATH)
        args = [sys.executable, "-c", "import pyrunc.config._compiled as m; print(m.__file__)"]
        env = {**os.environ, "PYTHONPATH": python_path} if python_path else None
        found = subprocess.run(args if python_path else [args[0], "-I", *args[1:]], cwd="/",
                               env=env, capture_output=True, text=True)
        if found.returncode == 0:
            assert Path(found.stdout.strip()).read_text() == expected, (
                f"{found.stdout.strip()} is stale: `python -m pyrunc.config.compile_schema` "
                "or reinstall (sh bundles/install.sh)")
            checked += 1
    if not checked:
        pytest.skip("no generated module: neither a built source tree nor an installed pyrunc")


_CHECK_IMPORTS = """
import sys
from pyrunc.config.load import load_bundle
from pyrunc.errors import ConfigError
try:
    load_bundle(sys.argv[1])
    found = []
except ConfigError as err:
    found = err.problems
loaded = {"jsonschema": "jsonschema" in sys.modules, "re": "re" in sys.modules}
import json
print(json.dumps({**loaded, "problems": found}))
"""


def _load_in_subprocess(bundle: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(Path(pyrunc.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", _CHECK_IMPORTS, str(bundle)], env=env, cwd="/",
                         capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_valid_config_is_loaded_without_jsonschema() -> None:
    result = _load_in_subprocess(REPO / "bundles" / "busybox")
    # nor `re`: the schema's patterns come precompiled for this interpreter's _sre
    assert result == {"jsonschema": False, "re": False, "problems": []}


def test_an_invalid_config_gets_jsonschemas_messages(tmp_path: Path) -> None:
    config = json.loads((REPO / "bundles" / "busybox" / "config.json").read_text())
    config["process"]["args"] = "sh"
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = _load_in_subprocess(tmp_path)
    assert result == {"jsonschema": True, "re": True,
                      "problems": ['process.args: expected an array, got "sh"']}


def test_pyrunc_create_imports_no_jsonschema(runtime: Runtime, make_bundle: Any) -> None:
    """The installed CLI, end to end: PYTHONPROFILEIMPORTTIME lists every module imported."""
    bundle = make_bundle(["true"])
    container = f"schema-{os.getpid()}"
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = runtime("create", "--bundle", str(bundle), container, env=env)
    try:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "import time:" in proc.stderr
        assert "jsonschema" not in proc.stderr
    finally:
        runtime("delete", "--force", container)


def test_precompiled_patterns_are_res_own() -> None:
    """Each pattern handed to _sre at build time is the Pattern re.compile makes, and they
    search alike (the schema's patterns, on strings near their boundaries)."""
    import re

    from pyrunc.config import _compiled

    def patterns(node: Any) -> set[str]:
        if isinstance(node, list):
            return set().union(*map(patterns, node))
        if not isinstance(node, dict):
            return set()
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*map(patterns, node.values()))

    schema_patterns = patterns(json.loads(Path(SCHEMA_PATH).read_text()))
    assert schema_patterns and schema_patterns <= set(_compiled._PATTERNS), (
        "the fast path is off on this interpreter")
    samples = ["", "1.0.0", "1.3.0-rc.1", "1.4.0", "RLIMIT_NOFILE", "RLIMIT_", "0-3,5", "c",
               "cb", "2MB", "1GB", "0MB", "MB:x", "MB:\n", "x\n", "\u00e9"]
    for pattern, compiled in _compiled._PATTERNS.items():
        assert compiled == re.compile(pattern)
        for text in samples:
            assert bool(compiled.search(text)) == bool(re.search(pattern, text)), (pattern, text)
