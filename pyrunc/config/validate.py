"""Validate a config against pyrunc's runtime-spec schema (schema/config.schema.json).

Every problem is one line, ``<json path>: <what was expected>``, e.g.
``linux.namespaces[2].type: "foo" is not one of mount, pid, ...``.

Two checkers from the one schema: ``_compiled.py`` (plain functions that compile_schema.py
writes at build time) says valid or not in microseconds and imports nothing; jsonschema costs
50-130 ms to import, so it is asked only about a document the compiled check rejects, to name
the problems. tests/test_config_schema.py proves that both give the same verdict.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "config.schema.json")
TYPE_NAMES = {"object": "an object", "array": "an array", "string": "a string",
              "integer": "an integer", "boolean": "a boolean", "number": "a number"}


_cached: dict[str, Any] = {}  # (functools.cache would import functools: ~2 ms)


def compiled_check() -> Callable[[Any], bool]:
    """The schema's verdict, compiled to plain Python (see compile_schema.py)."""
    check: Callable[[Any], bool]
    if "check" not in _cached:
        try:
            from pyrunc.config._compiled import is_valid as check
        except ImportError:  # a source tree that was never built: compile in memory (~20 ms)
            from pyrunc.config.compile_schema import load

            check = load(SCHEMA_PATH)
        _cached["check"] = check
    check = _cached["check"]
    return check


def _validator() -> Any:
    """jsonschema, only to name the problems of a config the compiled check rejected."""
    if "validator" in _cached:
        return _cached["validator"]
    import json

    import jsonschema

    with open(SCHEMA_PATH, "rb") as f:
        schema = json.load(f)
    _cached["validator"] = jsonschema.Draft4Validator(schema)
    return _cached["validator"]


def json_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(root)"


def _short(value: Any) -> str:
    import json

    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(error: Any) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        names = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(TYPE_NAMES.get(n) or n for n in names)}, got {_short(value)}"
    if kind == "enum":
        return f"{_short(value)} is not one of {', '.join(map(str, expected))}"
    if kind == "pattern" and list(error.absolute_path) == ["ociVersion"]:
        return f"{_short(value)} is not a version pyrunc runs (1.0.0 to 1.3.x)"
    if kind == "pattern":
        return f"{_short(value)} does not match {expected}"
    if kind == "minimum":
        return f"{value} is below the minimum {expected}"
    if kind == "maximum":
        return f"{value} is above the maximum {expected}"
    if kind == "minItems":
        return f"expected at least {expected} item{'s' if expected != 1 else ''}"
    if kind == "required":
        return str(error.message).replace("'", '"').replace(" is a required property",
                                                            " is required")
    return str(error.message).replace("\n", " ")


def problems(doc: object) -> list[str]:
    """Every schema problem of ``doc``, one line each, sorted by path."""
    if compiled_check()(doc):  # the common case, without importing jsonschema
        return []
    by_path: dict[str, set[str]] = {}
    wrong_type: set[str] = set()
    for error in _validator().iter_errors(doc):
        path = list(error.absolute_path)
        if error.validator == "required":
            # name the missing field itself: root.path, not root
            missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
            by_path.setdefault(json_path([*path, missing]), set()).add("required, but missing")
            continue
        key = json_path(path)
        if error.validator == "type":
            wrong_type.add(key)
        by_path.setdefault(key, set()).add(_message(error))
    lines = []
    for key, messages in sorted(by_path.items()):
        if key in wrong_type:  # a value of the wrong type: that is the one problem to name
            messages = {m for m in messages if m.startswith("expected ")}
        lines += [f"{key}: {m}" for m in sorted(messages)]
    return lines


def check_version(doc: dict[str, Any]) -> str | None:
    """A message when ociVersion is outside what pyrunc runs (1.0.0 to 1.3.x), else None."""
    for line in problems({"ociVersion": doc.get("ociVersion")}):
        return line
    return None
