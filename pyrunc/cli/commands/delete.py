"""pyrunc delete: remove a stopped container (--force: kill it first)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, force: bool) -> int:
    from pyrunc import lifecycle
    from pyrunc.errors import ContainerNotFound

    try:
        lifecycle.delete(opts, container_id, force)
    except ContainerNotFound:
        if force:  # runc: delete --force of a missing container succeeds
            return 0
        raise
    return 0
