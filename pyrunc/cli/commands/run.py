"""pyrunc run: create and start; in the foreground, wait and exit with the container's status.

With process.terminal and no --console-socket, pyrunc itself takes the pty and relays it to
its own stdio, as runc does (pyrunc/linux/terminal.py).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, bundle: str, console_socket: str | None,
         pidfd_socket: str | None, pid_file: str | None, no_pivot: bool, no_new_keyring: bool,
         preserve_fds: int, detach: bool, keep: bool) -> int:
    from pyrunc import lifecycle

    receiver = None
    if not console_socket and not detach and _wants_terminal(bundle):
        from pyrunc.linux.terminal import ConsoleReceiver

        receiver = ConsoleReceiver()
        console_socket = receiver.path
    try:
        container = lifecycle.create(
            opts, container_id, bundle, console_socket=console_socket,
            pidfd_socket=pidfd_socket, pid_file=pid_file, no_pivot=no_pivot,
            no_new_keyring=no_new_keyring, preserve_fds=preserve_fds)
        master = receiver.receive() if receiver else -1
    finally:
        if receiver:
            receiver.close()
    try:
        lifecycle.start(opts, container_id)
    except BaseException:
        lifecycle.delete(opts, container_id, force=True)
        raise
    if detach:
        return 0
    if master >= 0:
        from pyrunc.linux.terminal import relay

        status = relay(master, container.pid)
    else:
        status = lifecycle.wait_exit_status(container.pid)
    if not keep:
        lifecycle.delete(opts, container_id, force=True)
    return status


def _wants_terminal(bundle: str) -> bool:
    from pyrunc.config.load import read_config

    try:
        return bool((read_config(bundle).get("process") or {}).get("terminal"))
    except Exception:  # create reports an unreadable config properly
        return False
