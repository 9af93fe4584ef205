"""pyrunc state: print the container's state as runc does (indented JSON)."""

from __future__ import annotations

import json
import sys

from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str) -> int:
    from pyrunc.lifecycle import load

    cdir, container = load(opts, container_id, lock=False)
    with cdir:
        state = container.oci_state()
    sys.stdout.write(json.dumps(state, indent=2) + "\n")
    return 0
