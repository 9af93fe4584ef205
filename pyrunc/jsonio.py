"""JSON for every command, through the json package's own C accelerator (``_json``).

``import json`` costs ~9 ms of a ~20 ms command on a small VM: json.decoder and json.encoder
import ``re`` (and with it enum and functools) for their pure-Python fallbacks and for
skipping whitespace. The C scanner and encoder that ``json.loads``/``json.dumps`` run anyway
need none of that, so this module calls them directly, configured exactly as json configures
them. tests/test_jsonio.py proves the results equal json's, errors included.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _DecoderContext:
    """The attributes of json.JSONDecoder() that the C scanner reads."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo: dict[str, str] = {}


_scan_once = _json.make_scanner(_DecoderContext())  # type: ignore[arg-type]  # duck-typed


def _json_loads(data: str | bytes) -> Any:
    """json.loads itself: for what the fast path does not take, and for every error, so the
    messages are json's own. (_json reports a syntax error through json.decoder's
    JSONDecodeError, and only when json.decoder is already imported: SystemError otherwise.)"""
    import json

    return json.loads(data)


def loads(data: str | bytes) -> Any:
    """json.loads(data), except that nesting too deep for the C scanner's recursion is a
    ValueError (json raises RecursionError): "[[[[..." in a config.json or process.json is bad
    input, to be named as such, not an internal error."""
    try:
        return _loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _loads(data: str | bytes) -> Any:
    if isinstance(data, bytes | bytearray):
        if data.startswith(b"\xef\xbb\xbf") or b"\x00" in data[:4]:
            return _json_loads(data)  # a BOM or UTF-16/32: json's encoding detection
        try:
            text = data.decode("utf-8", "surrogatepass")  # as json decodes UTF-8
        except UnicodeDecodeError:
            return _json_loads(data)
    else:
        text = data
    if text.startswith("\ufeff"):
        return _json_loads(data)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        obj, end = _scan_once(text, start)
    except (StopIteration, ValueError, SystemError):
        return _json_loads(data)
    if text[end:].strip(_WHITESPACE):  # "Extra data"
        return _json_loads(data)
    return obj


def _not_serializable(obj: object) -> Any:
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


def dumps(obj: Any, compact: bool = False, sort_keys: bool = False) -> str:
    """json.dumps(obj, sort_keys=sort_keys), or with ``compact`` also
    separators=(",", ":")."""
    # as json.JSONEncoder: ensure_ascii, check_circular (a fresh markers dict per call),
    # allow_nan, no skipkeys
    separators = (":", ",") if compact else (": ", ", ")
    encode = _json.make_encoder({}, _not_serializable, _json.encode_basestring_ascii, None,
                                *separators, sort_keys, False, True)
    return "".join(encode(obj, 0))


def dumps_indented(obj: Any, indent: int = 2, _level: int = 0) -> str:
    """json.dumps(obj, indent=indent) (what `state` prints), for str-keyed documents."""
    if isinstance(obj, dict) and obj:
        inner = " " * (indent * (_level + 1))
        items = []
        for key, value in obj.items():
            if not isinstance(key, str):
                import json  # rare: json's own rules for non-string keys

                return json.dumps(obj, indent=indent).replace("\n", "\n" + " " * (indent * _level))
            items.append(f"{inner}{_json.encode_basestring_ascii(key)}: "
                         f"{dumps_indented(value, indent, _level + 1)}")
        return "{\n" + ",\n".join(items) + "\n" + " " * (indent * _level) + "}"
    if isinstance(obj, list | tuple) and obj:
        inner = " " * (indent * (_level + 1))
        items = [inner + dumps_indented(value, indent, _level + 1) for value in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * (indent * _level) + "]"
    return dumps(obj)
