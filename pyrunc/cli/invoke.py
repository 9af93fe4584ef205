"""Run one command module with the parsed arguments; turn every failure into one log line."""

from __future__ import annotations

import os
import sys

from pyrunc import log
from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing costs ~4 ms to import; only the type checker needs it
if TYPE_CHECKING:
    from typing import Any


class GlobalOptions:
    """runc's global flags. A plain class: dataclasses (and inspect, which it imports) would
    cost every command ~10 ms of start-up."""

    __slots__ = ("criu", "debug", "log", "log_format", "root", "rootless", "systemd_cgroup")

    def __init__(self, root: str | None = None, log: str | None = None,
                 log_format: str = "text", debug: bool = False, systemd_cgroup: bool = False,
                 rootless: str = "auto", criu: str = "criu") -> None:
        self.root, self.log, self.log_format, self.debug = root, log, log_format, debug
        self.systemd_cgroup, self.rootless, self.criu = systemd_cgroup, rootless, criu

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"GlobalOptions({fields})"

    def is_rootless(self) -> bool:
        """runc's rule for --rootless auto: rootless when not root, or root in a user
        namespace (cgroups may then not be ours to write)."""
        if self.rootless in ("1", "t", "T", "TRUE", "true", "True"):  # Go's ParseBool, as runc
            return True
        if self.rootless in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        if self.rootless not in ("", "auto"):
            from pyrunc.errors import UsageError

            raise UsageError(f'--rootless: invalid value "{self.rootless}": want true, false '
                             "or auto")
        return os.geteuid() != 0 or in_user_namespace()

    def xdg_root(self) -> str | None:
        """The default root in $XDG_RUNTIME_DIR, when runc would use it there: not root, or
        root in a user namespace unless $USER is root (a root shell's /run/user/0 is not
        where root's containers are)."""
        if self.root:
            return None
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
        if not runtime_dir:
            return None
        if os.geteuid() == 0 and (not in_user_namespace()
                                  or os.environ.get("USER", "") == "root"):
            return None
        return os.path.join(os.path.abspath(runtime_dir), "pyrunc")

    def state_root(self) -> str:
        if self.root:
            return os.path.abspath(self.root)
        return self.xdg_root() or "/run/pyrunc"


def in_user_namespace() -> bool:
    """True inside a user namespace (a uid map other than the initial namespace's)."""
    try:
        fd = os.open("/proc/self/uid_map", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        text = os.read(fd, 4096).decode()
    finally:
        os.close(fd)
    return text.split() != ["0", "0", "4294967295"]


def version_text() -> str:
    from pyrunc import SPEC_VERSION, __version__

    return f"pyrunc version {__version__}\ncommit: none\nspec: {SPEC_VERSION}\n"


def invoke(command: str, opts: GlobalOptions | None, args: dict[str, Any]) -> int:
    """Run ``pyrunc.cli.commands.<command>.main(opts, **args)``; return the exit status."""
    opts = opts or GlobalOptions()
    if opts.log_format not in ("text", "json"):
        log.configure(opts.log, "text", opts.debug)
        log.error(f'--log-format: "{opts.log_format}" is not one of text, json')
        return 1
    log.configure(opts.log, opts.log_format, opts.debug)
    try:
        # __import__, not importlib.import_module: importlib imports warnings
        __import__(f"pyrunc.cli.commands.{command}")
        module = sys.modules[f"pyrunc.cli.commands.{command}"]
    except ModuleNotFoundError as err:
        if err.name != f"pyrunc.cli.commands.{command}":
            raise
        log.error(f"{command}: not implemented yet")
        return 1
    try:
        status = module.main(opts, **args)
    except PyruncError as err:
        for line in err.lines:
            log.error(line)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a bug: still one line for the caller, detail in the debug log
        if opts.debug:
            import traceback

            log.debug(traceback.format_exc())
        log.error(f"internal error: {type(err).__name__}: {err}")
        return 1
    return int(status or 0)
