"""pyrunc list: every container under --root, as runc's table, JSON or ids."""

from __future__ import annotations

import sys

from pyrunc import jsonio
from pyrunc.errors import ContainerNotFound, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, format: str, quiet: bool) -> int:
    from pyrunc.lifecycle import load, store_for

    if format not in ("table", "json"):
        raise UsageError(f'--format: "{format}" is not one of table, json')
    rows = []
    for container_id in store_for(opts).ids():
        try:
            cdir, container = load(opts, container_id, lock=False)
        except ContainerNotFound:
            continue  # deleted while we listed
        with cdir:
            state = container.oci_state()
            state["owner"] = container.owner()
        rows.append(state)
    if quiet:
        sys.stdout.write("".join(f"{r['id']}\n" for r in rows))
    elif format == "json":
        sys.stdout.write(jsonio.dumps(rows) + "\n")
    else:
        table = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        table += [(r["id"], str(r["pid"]), r["status"], r["bundle"], r["created"], r["owner"])
                  for r in rows]
        # Go's tabwriter as runc configures it: min width 12, padding 3, space-padded
        widths = [max(12, *(len(row[i]) + 3 for row in table)) for i in range(5)]
        for row in table:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:5])]
            sys.stdout.write("".join(cells) + row[5] + "\n")
    return 0
