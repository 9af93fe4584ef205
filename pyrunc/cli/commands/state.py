"""pyrunc state: print the container's state as runc does (indented JSON)."""

from __future__ import annotations

import sys

from pyrunc import jsonio

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str) -> int:
    from pyrunc.lifecycle import load

    cdir, container = load(opts, container_id, lock=False)
    with cdir:
        state = container.oci_state()
    sys.stdout.write(jsonio.dumps_indented(state) + "\n")
    return 0
