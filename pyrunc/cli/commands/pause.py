"""pyrunc pause: freeze every process of the container."""

from __future__ import annotations

from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str) -> int:
    from pyrunc import lifecycle

    lifecycle.pause(opts, container_id)
    return 0
