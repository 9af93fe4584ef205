"""pyrunc kill: send a signal to the container's init (or, with --all, every process)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, signal: str, all: bool) -> int:
    from pyrunc import lifecycle

    lifecycle.kill(opts, container_id, signal, all)
    return 0
