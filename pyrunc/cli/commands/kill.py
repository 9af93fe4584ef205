"""pyrunc kill: send a signal to the container's init (or, with --all, every process)."""

from __future__ import annotations

from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, signal: str, all: bool) -> int:
    from pyrunc import lifecycle

    lifecycle.kill(opts, container_id, signal, all)
    return 0
