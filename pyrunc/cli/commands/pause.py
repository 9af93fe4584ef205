"""pyrunc pause: freeze every process of the container."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str) -> int:
    from pyrunc import lifecycle

    lifecycle.pause(opts, container_id)
    return 0
