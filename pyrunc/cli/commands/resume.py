"""pyrunc resume: thaw a paused container."""

from __future__ import annotations

from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str) -> int:
    from pyrunc import lifecycle

    lifecycle.resume(opts, container_id)
    return 0
