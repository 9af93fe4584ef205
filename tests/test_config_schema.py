"""pyrunc's schema gives the official runtime-spec schema's verdict (pure logic: no containers).

The one intended difference: pyrunc runs ociVersion 1.0.0 to 1.3.x, the official schema takes
any string there.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import SHARED, official_validator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrunc.config.default import default_config
from pyrunc.config.validate import problems

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


def ours_ok_but_version(doc: Any) -> bool:
    """Our verdict, setting aside the intended difference (a version string out of range)."""
    return not [p for p in problems(doc) if "is not a version pyrunc runs" not in p]


FIXTURES = sorted((OFFICIAL / "test" / "config").glob("*/*.json")) if OFFICIAL.exists() else []


@pytest.mark.parametrize("path", FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURES])
def test_official_fixtures(path: Path, official: Any) -> None:
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        pytest.skip("not JSON: rejected before any schema")
    assert ours_ok_but_version(doc) == official_ok(official, doc) == (path.parent.name == "good")


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_real_configs_valid_for_both(path: Path, official: Any) -> None:
    doc = json.loads(path.read_text())
    assert problems(doc) == []
    assert official_ok(official, doc)


def test_pyrunc_spec_valid_for_both(official: Any) -> None:
    for rootless in (False, True):
        assert problems(default_config(rootless)) == []
        assert official_ok(official, default_config(rootless))


@pytest.mark.parametrize("version,ok", [
    ("1.0.0", True), ("1.0.2-dev", True), ("1.3.0", True), ("1.3.17", True),
    ("1.4.0", False), ("2.0.0", False), ("0.9.0", False), ("", False)])
def test_version_range_is_the_intended_difference(version: str, ok: bool, official: Any) -> None:
    doc = default_config()
    doc["ociVersion"] = version
    assert ours_ok(doc) == ok
    assert official_ok(official, doc)  # the official schema takes any string


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


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    assert ours_ok_but_version(doc) == official_ok(official, doc), (path, action, problems(doc))


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
