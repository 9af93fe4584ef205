"""Parse argv with the table derived from the typer app, without importing typer.

Accepts what the typer app accepts, plus what Go-based callers of runc send: single-dash long
flags (``-log``, ``-bundle``) and ``--flag=true|false`` for booleans. Help requests and eager
options (``--help``, ``--version``) raise NeedsTyper so that typer renders them.
"""

from __future__ import annotations

from pyrunc.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

HELP = ("-h", "--help")


class NeedsTyper(Exception):
    """This argv is for typer itself (help, version, no command)."""


def load_table() -> dict[str, Any]:
    try:
        from pyrunc.cli._table import TABLE
    except ImportError:  # a source checkout that was never built: derive it now (slow)
        from pyrunc.cli.derive import derive_table

        return derive_table()
    return TABLE


def _lookup(options: dict[str, Any], token: str) -> tuple[str, Any, str | None]:
    """Find the option for ``token``; return (flag, spec, inline value)."""
    name, eq, inline = token.partition("=")
    value = inline if eq else None
    if name in options:
        return name, options[name], value
    if not name.startswith("--") and f"-{name}" in options:  # Go style: -log, -bundle
        return f"-{name}", options[f"-{name}"], value
    raise UsageError(f"flag provided but not defined: {name}")


def _convert(flag: str, spec: Any, raw: str) -> Any:
    if spec[3] == "int":
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f'invalid value "{raw}" for flag {flag}: not an integer') from None
    return raw


def _parse(
    spec: dict[str, Any], argv: list[str], where: str, stop_at_positional: bool
) -> tuple[dict[str, Any], list[str]]:
    """Parse options of one level. Return (values, remaining positional tokens)."""
    values: dict[str, Any] = {k: (list(v) if isinstance(v, list) else v)
                              for k, v in spec["defaults"].items()}
    options = spec["options"]
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if positional and not spec["interspersed"]:
            positional.extend(argv[i - 1:])  # like click: the rest, "--" included, is args
            break
        if token == "--":
            positional.extend(argv[i:])
            break
        if token in HELP:
            raise NeedsTyper
        if token.startswith("-") and token != "-":
            if not token.startswith("--") and len(token) > 2 and token[:2] in options \
                    and options[token[:2]][1] == "flag" and f"-{token}" not in options:
                # combined short flags: -dt
                expanded = [f"-{c}" for c in token[1:]]
                argv = argv[:i] + expanded + argv[i:]
                continue
            flag, opt, inline = _lookup(options, token)
            param, kind, multiple, _ = opt
            if kind == "typer":
                raise NeedsTyper
            if kind == "flag":
                if inline is None:
                    values[param] = True
                elif inline.lower() in ("true", "1", "false", "0"):
                    values[param] = inline.lower() in ("true", "1")
                else:
                    raise UsageError(f'invalid boolean value "{inline}" for flag {flag}')
                continue
            if inline is None:
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: {flag}")
                inline = argv[i]
                i += 1
            value = _convert(flag, opt, inline)
            if multiple:
                values[param].append(value)
            else:
                values[param] = value
            continue
        positional.append(token)
        if stop_at_positional:
            positional.extend(argv[i:])
            break
    return values, positional


def parse(argv: list[str], table: dict[str, Any] | None = None) -> tuple[str, dict[str, Any],
                                                                          dict[str, Any]]:
    """Return (command, global option values, command arguments)."""
    table = table or load_table()
    global_values, rest = _parse(table["global"], argv, "pyrunc", stop_at_positional=True)
    if not rest:
        raise NeedsTyper
    command, argv = rest[0], rest[1:]
    spec = table["commands"].get(command)
    if spec is None:
        raise UsageError(f'"{command}" is not a pyrunc command')
    values, positional = _parse(spec, argv, command, stop_at_positional=False)
    for name, nargs, required, typ in spec["arguments"]:
        if nargs == -1:
            values[name] = [_convert(name, (name, "value", False, typ), p) for p in positional]
            positional = []
        elif positional:
            values[name] = _convert(name, (name, "value", False, typ), positional.pop(0))
        elif required:
            raise UsageError(f'"{command}" requires a {name.upper()} argument')
    if positional:
        raise UsageError(f'"{command}": unexpected argument "{positional[0]}"')
    return command, global_values, values
