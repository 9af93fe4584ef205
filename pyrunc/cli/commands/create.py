"""pyrunc create: set up the container; its init waits for ``start``."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, container_id: str, bundle: str, console_socket: str | None,
         pidfd_socket: str | None, pid_file: str | None, no_pivot: bool, no_new_keyring: bool,
         preserve_fds: int) -> int:
    from pyrunc import lifecycle

    lifecycle.create(opts, container_id, bundle, console_socket=console_socket,
                     pidfd_socket=pidfd_socket, pid_file=pid_file, no_pivot=no_pivot,
                     no_new_keyring=no_new_keyring, preserve_fds=preserve_fds)
    return 0
