"""pyrunc run: create and start; in the foreground, wait and exit with the container's status."""

from __future__ import annotations

from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, bundle: str, console_socket: str | None,
         pidfd_socket: str | None, pid_file: str | None, no_pivot: bool, no_new_keyring: bool,
         preserve_fds: int, detach: bool, keep: bool) -> int:
    from pyrunc import lifecycle

    container = lifecycle.create(
        opts, container_id, bundle, console_socket=console_socket, pidfd_socket=pidfd_socket,
        pid_file=pid_file, no_pivot=no_pivot, no_new_keyring=no_new_keyring,
        preserve_fds=preserve_fds)
    try:
        lifecycle.start(opts, container_id)
    except BaseException:
        lifecycle.delete(opts, container_id, force=True)
        raise
    if detach:
        return 0
    status = lifecycle.wait_exit_status(container.pid)
    if not keep:
        lifecycle.delete(opts, container_id, force=True)
    return status
