"""`pyrunc exec`: one more process in a running container.

The process is the container's ``process`` with runc's overrides (args, --env, --cwd, --user,
--cap, ...) or a whole process.json (--process). pyrunc-init joins the init's namespaces through
a pidfd, the new process is put into the container's cgroups before it runs, and it gets the
container's seccomp filter, capabilities and rlimits like the init did (linux/launcher.py).
"""

from __future__ import annotations

import os

from pyrunc import jsonio
from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.cli.invoke import GlobalOptions


class ExecOptions:
    """What `pyrunc exec` was asked, apart from the container id. (A plain class: importing
    dataclasses costs every exec ~20 ms, docs/performance.md.)"""

    __slots__ = ("additional_gids", "apparmor", "caps", "command", "console_socket", "cwd",
                 "detach", "env", "ignore_paused", "no_new_privs", "pid_file", "pidfd_socket",
                 "preserve_fds", "process_file", "process_label", "sub_cgroup", "tty", "user")

    def __init__(self, *, command: list[str] | None = None, process_file: str | None = None,
                 cwd: str | None = None, env: list[str] | None = None,
                 tty: bool | None = None, user: str | None = None,
                 additional_gids: list[int] | None = None, caps: list[str] | None = None,
                 no_new_privs: bool = False, apparmor: str | None = None,
                 process_label: str | None = None, console_socket: str | None = None,
                 pidfd_socket: str | None = None, pid_file: str | None = None,
                 detach: bool = False, preserve_fds: int = 0,
                 sub_cgroup: list[str] | None = None, ignore_paused: bool = False) -> None:
        self.command: list[str] = command or []
        self.process_file, self.cwd, self.tty, self.user = process_file, cwd, tty, user
        self.env: list[str] = env or []
        self.additional_gids: list[int] = additional_gids or []
        self.caps: list[str] = caps or []
        self.no_new_privs, self.apparmor, self.process_label = (no_new_privs, apparmor,
                                                                process_label)
        self.console_socket, self.pidfd_socket, self.pid_file = (console_socket,
                                                                 pidfd_socket, pid_file)
        self.detach, self.preserve_fds, self.ignore_paused = detach, preserve_fds, ignore_paused
        self.sub_cgroup: list[str] = sub_cgroup or []


def build_process(config: dict[str, Any], opts: ExecOptions) -> dict[str, Any]:
    """The process to run, as runc's exec builds it."""
    if opts.process_file:
        return _read_process_file(opts.process_file)
    if not opts.command:
        raise PyruncError("exec: a command is required (or --process FILE)")
    # a deep copy of JSON data: a round trip through the C codec (copy.deepcopy imports ~2 ms)
    process: dict[str, Any] = jsonio.loads(jsonio.dumps(config.get("process") or {}))
    process["args"] = list(opts.command)
    process["terminal"] = bool(opts.tty)
    if opts.cwd:
        process["cwd"] = opts.cwd
    process["env"] = list(process.get("env") or []) + list(opts.env)
    user = process.setdefault("user", {"uid": 0, "gid": 0})
    if opts.user:
        uid, _, gid = opts.user.partition(":")
        user["uid"] = _id_number("--user", uid)
        if gid:
            user["gid"] = _id_number("--user", gid)
    if opts.additional_gids:
        user["additionalGids"] = list(user.get("additionalGids") or []) + list(
            opts.additional_gids)
    if opts.caps:
        caps = process.setdefault("capabilities", {})
        for name in opts.caps:
            name = name.upper() if name.upper().startswith("CAP_") else f"CAP_{name.upper()}"
            for kind in ("bounding", "effective", "permitted"):
                caps[kind] = [*list(caps.get(kind) or []), name]
            # ambient needs inheritable; like runc, only when the config has some
            if caps.get("inheritable"):
                caps["ambient"] = [*list(caps.get("ambient") or []), name]
    if opts.no_new_privs:
        process["noNewPrivileges"] = True
    if opts.apparmor:
        process["apparmorProfile"] = opts.apparmor
    if opts.process_label:
        process["selinuxLabel"] = opts.process_label
    return process


def _id_number(flag: str, text: str) -> int:
    if not (text.isascii() and text.isdigit()):  # "²" is a digit that int() refuses
        raise PyruncError(f'{flag}: "{text}" is not a numeric uid[:gid]')
    return int(text)


def _read_process_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            process = jsonio.loads(f.read())  # deep nesting: ValueError, not RecursionError
    except OSError as err:
        raise PyruncError(f"--process {path}: {err.strerror}") from None
    except ValueError as err:
        raise PyruncError(f"--process {path}: invalid JSON: {err}") from None
    from pyrunc.config.validate import problems

    # the same schema as config.json's process: one definition of a valid process
    found = problems({"ociVersion": "1.0.0", "process": process})
    if found:
        raise PyruncError(f"--process {path}: {found[0]}")
    if not isinstance(process, dict):
        raise PyruncError(f"--process {path}: expected an object")
    return process


def run(global_opts: GlobalOptions, container_id: str, opts: ExecOptions) -> int:
    """Start the process; for a foreground exec wait for it and return its exit status."""
    from pyrunc import lifecycle
    from pyrunc.linux import launcher

    if opts.detach and opts.tty and not opts.console_socket:
        raise PyruncError("cannot allocate a pseudo-TTY for a detached exec without "
                          "--console-socket")
    if opts.console_socket and not opts.tty and not opts.process_file:
        raise PyruncError("--console-socket: needs --tty")
    if opts.preserve_fds < 0:
        raise PyruncError("--preserve-fds: must not be negative")
    cdir, container = lifecycle.load(global_opts, container_id)
    with cdir:
        status = container.status()
        if status == "stopped":
            raise PyruncError("cannot exec in a stopped container")
        if status == "paused" and not opts.ignore_paused:
            raise PyruncError("cannot exec in a paused container (use --ignore-paused to "
                              "override)")
        process = build_process(container.config, opts)
        pidfd = lifecycle.init_pidfd(container)
        if pidfd is None:
            raise PyruncError("cannot exec in a stopped container")
        cgroup = container.doc.get("cgroup") or {}
        state = container.oci_state(status)  # for a seccomp listener's agent
    # the lock is not held while the process runs: others may act on the container
    config = dict(container.config, process=process)
    receiver = None
    console_socket = opts.console_socket
    if process.get("terminal") and not console_socket:
        from pyrunc.linux.terminal import ConsoleReceiver

        receiver = ConsoleReceiver()
        console_socket = receiver.path
    master = -1
    request = launcher.ExecRequest(init_pidfd=pidfd, config=config,
                                   console_socket=console_socket,
                                   pidfd_socket=opts.pidfd_socket,
                                   preserve_fds=opts.preserve_fds, state=state)
    stop_warming = None
    if cgroup and not global_opts.is_rootless():
        from pyrunc.linux.namespaces import namespace_types

        if (status == "paused" or opts.sub_cgroup
                or "user" in namespace_types(container.config)):
            # pyrunc moves it in by pid (a process moving itself into a frozen v1 cgroup
            # would freeze before it starts the process; in a user namespace the cgroup
            # files are not its to write); the kernel's wait starts now (_migration.py)
            from pyrunc.linux import cgroups

            stop_warming = cgroups.start_warming()
        else:  # it enters them by itself, with no wait (docs/cgroups.md)
            request.cgroups = dict(cgroup.get("paths") or {})
    try:
        try:
            pid = launcher.exec_process(
                request, lambda pid: None if request.cgroups else _join_cgroups(
                    cgroup, pid, opts.sub_cgroup))
        except launcher.LaunchError as err:
            raise PyruncError(str(err)) from None
        except ValueError as err:  # an encoder found a field it cannot honour
            raise PyruncError(f"exec: {err}") from None
        if receiver:
            master = receiver.receive()
    finally:
        if stop_warming is not None:
            stop_warming()
        os.close(pidfd)
        if receiver:
            receiver.close()
    if opts.pid_file:
        from pyrunc.state.store import write_atomic

        write_atomic(os.path.abspath(opts.pid_file), str(pid).encode())
    if opts.detach:
        return 0
    if master >= 0:
        from pyrunc.linux.terminal import relay

        return relay(master, pid)
    return lifecycle.wait_exit_status(pid)


def _join_cgroups(record: dict[str, Any], pid: int, sub_cgroups: list[str]) -> None:
    """The container's cgroups, or with --cgroup a sub-cgroup of them (runc's
    ``[controller:]path``), before the process runs."""
    if not record:
        return
    from pyrunc.linux import cgroups

    if not sub_cgroups:
        cgroups.add_process(record, pid)
        return
    paths: dict[str, str] = dict(record.get("paths") or {})
    for item in sub_cgroups:
        controllers, _, sub = item.rpartition(":")
        if ".." in sub.split("/"):
            raise PyruncError(f'--cgroup: "{item}" must not contain ".."')
        for hierarchy, directory in list(paths.items()):
            names = hierarchy.split(",")
            if not controllers or any(c in names for c in controllers.split(",")):
                paths[hierarchy] = os.path.join(directory, sub.strip("/"))
    for directory in paths.values():
        try:
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        except OSError as err:
            raise PyruncError(f"--cgroup: {directory}: {err.strerror}") from None
