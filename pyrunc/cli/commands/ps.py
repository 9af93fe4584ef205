"""pyrunc ps: the container's processes, as runc prints them: ps(1)'s table filtered to the
container's pids, or (--format json) a JSON array of host pids."""

from __future__ import annotations

import json
import sys

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, ps_args: list[str], format: str) -> int:
    from pyrunc import lifecycle

    if format not in ("table", "json"):
        raise PyruncError(f'--format: "{format}" is not one of table, json')
    cdir, container = lifecycle.load(opts, container_id, lock=False)
    with cdir:
        pids = lifecycle.container_pids(container) if container.status() != "stopped" else []
    if format == "json":
        sys.stdout.write(json.dumps(pids) + "\n")
        return 0
    sys.stdout.write(filter_ps_table(_ps_output(ps_args or ["-ef"]), set(pids)))
    return 0


def _ps_output(args: list[str]) -> str:
    import subprocess

    try:
        proc = subprocess.run(["ps", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise PyruncError("ps: ps(1) is not installed") from None
    if proc.returncode != 0:
        raise PyruncError(f"ps {' '.join(args)}: {proc.stderr.strip() or 'failed'}")
    return proc.stdout


def filter_ps_table(output: str, pids: set[int]) -> str:
    """The header and the lines whose PID column is one of ``pids``."""
    lines = output.splitlines()
    if not lines:
        return ""
    header = lines[0].split()
    if "PID" not in header:
        raise PyruncError("ps: couldn't find PID field in ps output")
    column = header.index("PID")
    kept = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            kept.append(line)
    return "\n".join(kept) + "\n"
