"""pyrunc exec: run one more process in a running container (pyrunc/execute.py)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, command: list[str], console_socket: str | None,
         pidfd_socket: str | None, cwd: str | None, env: list[str], tty: bool,
         user: str | None, additional_gids: list[int], process: str | None, detach: bool,
         pid_file: str | None, process_label: str | None, apparmor: str | None,
         no_new_privs: bool, cap: list[str], preserve_fds: int, cgroup: list[str],
         ignore_paused: bool, **_: Any) -> int:
    from pyrunc import execute

    return execute.run(opts, container_id, execute.ExecOptions(
        command=command, process_file=process, cwd=cwd, env=env, tty=tty, user=user,
        additional_gids=additional_gids, caps=cap, no_new_privs=no_new_privs,
        apparmor=apparmor, process_label=process_label, console_socket=console_socket,
        pidfd_socket=pidfd_socket, pid_file=pid_file, detach=detach,
        preserve_fds=preserve_fds, sub_cgroup=cgroup, ignore_paused=ignore_paused))
