"""Entry point: parse argv cheaply, run the command; typer only for help and version."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pyrunc.cli.dispatch import NeedsTyper, parse
    from pyrunc.cli.invoke import GlobalOptions, invoke
    from pyrunc.errors import UsageError

    try:
        command, global_values, args = parse(argv)
    except NeedsTyper:
        return _typer_main(argv)
    except UsageError as err:
        from pyrunc import log

        log.error(str(err))
        return 1
    return invoke(command, GlobalOptions(**global_values), args)


def _typer_main(argv: list[str]) -> int:
    from pyrunc.cli.app import app

    try:
        app(args=argv, prog_name="pyrunc", standalone_mode=False)
    except SystemExit as exit_:  # typer.Exit surfaces as this with standalone_mode off
        return int(exit_.code or 0)
    except Exception as err:  # click usage errors: one line, exit 1
        format_message = getattr(err, "format_message", None)
        message = format_message() if format_message else str(err)
        sys.stderr.write(f"pyrunc: {message}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
