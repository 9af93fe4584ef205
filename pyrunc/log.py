"""Error and warning output: stderr, and the ``--log`` file in text or JSON.

containerd's shim reads the last ``error`` line of the --log file to report why a command
failed, so every error goes to both places with the same message.
"""

from __future__ import annotations

import os
import sys
import time

_log_path: str | None = None
_log_format = "text"
_debug = False


def configure(path: str | None, fmt: str, debug: bool) -> None:
    global _log_path, _log_format, _debug
    _log_path, _log_format, _debug = path or None, fmt, debug


def _json_quote(s: str) -> str:
    # json.dumps of a str without importing json (hot path); same escaping rules.
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\u{o:04x}"))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _write_file(level: str, msg: str) -> None:
    if not _log_path:
        return
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    if _log_format == "json":
        line = f'{{"level":"{level}","msg":{_json_quote(msg)},"time":"{stamp}"}}\n'
    else:
        line = f"time={_json_quote(stamp)} level={level} msg={_json_quote(msg)}\n"
    try:
        fd = os.open(_log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        # a lone surrogate (from a \\ud800 escape in a config) must not turn the error into a
        # traceback
        os.write(fd, line.encode(errors="backslashreplace"))
    finally:
        os.close(fd)


def _stderr(line: str) -> None:
    """stderr may be closed or unwritable: containerd's shim runs `create` for a pod sandbox
    with no usable stderr. The --log file, written first, must still get the message, and
    the command its exit status (not a traceback about the stream)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(line)
        stream.flush()
    except (OSError, ValueError):
        sys.stderr = None  # nothing more to say there, nor to flush at exit


_ESCAPES: dict[int, str] = {}


def one_line(msg: str) -> str:
    """``msg`` with line breaks and other control characters escaped (\\n, \\x1b): a
    message quotes what the caller gave (an id, a path, a signal name), and callers read
    exactly one line per error."""
    if msg.isprintable():  # the common case: nothing to escape (and no table to build)
        return msg
    if not _ESCAPES:
        _ESCAPES.update({c: repr(chr(c))[1:-1] for c in (*range(0x20), 0x7f, 0x85)})
        _ESCAPES.update({0x2028: "\\u2028", 0x2029: "\\u2029"})
    return msg.translate(_ESCAPES)


def error(msg: str) -> None:
    msg = one_line(msg)
    _write_file("error", msg)
    _stderr(f"pyrunc: {msg}\n")


def warning(msg: str) -> None:
    msg = one_line(msg)
    _write_file("warning", msg)
    _stderr(f"pyrunc: warning: {msg}\n")


def debug(msg: str) -> None:
    if _debug:
        _write_file("debug", msg)
