"""pyrunc.jsonio gives json's results: the same text from dumps, the same values and the same
errors from loads, on generated documents (it calls json's C accelerator directly, to spare
every command the ~9 ms of importing json's pure-Python layer and `re`)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyrunc import jsonio

scalars = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=True, allow_infinity=True))
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=1500)
@given(documents)
def test_dumps_is_json_dumps(doc: Any) -> None:
    assert jsonio.dumps(doc) == json.dumps(doc)
    assert jsonio.dumps(doc, compact=True) == json.dumps(doc, separators=(",", ":"))
    assert jsonio.dumps(doc, sort_keys=True) == json.dumps(doc, sort_keys=True)
    assert jsonio.dumps_indented(doc) == json.dumps(doc, indent=2)


@settings(max_examples=1500)
@given(documents, st.sampled_from(["", " ", "\n", "\t\r\n "]))
def test_loads_is_json_loads(doc: Any, pad: str) -> None:
    text = pad + json.dumps(doc, indent=2 if len(pad) % 2 else None) + pad
    assert same(jsonio.loads(text), json.loads(text))
    assert same(jsonio.loads(text.encode()), json.loads(text.encode()))


def _outcome(load: Any, data: str | bytes) -> tuple[str, str]:
    try:
        return "ok", repr(load(data))
    except (ValueError, TypeError) as err:
        return type(err).__name__, str(err)


@settings(max_examples=3000)
@given(st.text(alphabet=st.sampled_from('{}[]:,"\\ \n\tabeflnrstu0123456789.-+Ee\u00e9\ufeff'),
               max_size=20))
def test_loads_fails_as_json_does(text: str) -> None:
    assert _outcome(jsonio.loads, text) == _outcome(json.loads, text)


@settings(max_examples=1000)
@given(st.binary(max_size=16))
def test_loads_of_bytes_fails_as_json_does(data: bytes) -> None:
    assert _outcome(jsonio.loads, data) == _outcome(json.loads, data)


def test_unserializable_is_json_error_and_leaves_no_marker() -> None:
    with pytest.raises(TypeError) as mine:
        jsonio.dumps({"a": [object()]})
    with pytest.raises(TypeError) as theirs:
        json.dumps({"a": [object()]})
    assert str(mine.value) == str(theirs.value)
    shared = [1]
    assert jsonio.dumps([shared, shared]) == "[[1], [1]]"  # no false "circular reference"


def test_importing_it_imports_no_re() -> None:
    code = "import sys, pyrunc.jsonio as j; j.loads(j.dumps({'a': 1})); print('re' in sys.modules)"
    out = subprocess.run([sys.executable, "-P", "-I", "-c", code], capture_output=True,
                         text=True, cwd="/")
    assert out.stdout.strip() == "False", out.stderr
