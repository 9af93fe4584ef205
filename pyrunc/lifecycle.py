"""The container state machine: create, start, kill, delete (and run = create + start + wait).

    creating --create--> created --start--> running --(init exits)--> stopped --delete--> gone

Every transition holds the container's lock (state/store.py). ``create`` validates the bundle
before anything touches the system and undoes everything it did if a later step fails: no
state dir, cgroup, process or fd is left behind by a failed command.
"""

from __future__ import annotations

import os
import time

from pyrunc import jsonio, log
from pyrunc.container import Container
from pyrunc.errors import ConfigError, ContainerNotRunning, PyruncError
from pyrunc.state.store import StateStore, check_id, write_atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

    from pyrunc.cli.invoke import GlobalOptions
    from pyrunc.state.store import ContainerDir


def rfc3339_nano(ns: int) -> str:
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


def store_for(opts: GlobalOptions) -> StateStore:
    xdg = opts.xdg_root()
    # runc: a root it makes in $XDG_RUNTIME_DIR is the user's alone, sticky so that the
    # XDG runtime dir's cleaner leaves it (0o1700)
    return StateStore(xdg, mode=0o1700) if xdg else StateStore(opts.state_root())


def load(opts: GlobalOptions, container_id: str, lock: bool = True) -> tuple[ContainerDir,
                                                                             Container]:
    cdir = store_for(opts).open(container_id, lock=lock)
    try:
        return cdir, Container(cdir.read_state(), cdir.path, locked=lock)
    except FileNotFoundError:
        cdir.close()
        from pyrunc.errors import ContainerNotFound

        raise ContainerNotFound(container_id) from None


def create(opts: GlobalOptions, container_id: str, bundle: str, *,
           console_socket: str | None = None, pidfd_socket: str | None = None,
           pid_file: str | None = None, no_pivot: bool = False, no_new_keyring: bool = False,
           preserve_fds: int = 0) -> Container:
    check_id(container_id)
    opts.is_rootless()  # a bad --rootless value fails before anything is made
    bundle = os.path.abspath(bundle)
    from pyrunc.config.load import load_bundle

    config = load_bundle(bundle)
    if preserve_fds < 0:
        raise PyruncError("--preserve-fds: must not be negative")
    if console_socket and not (config.get("process") or {}).get("terminal"):
        raise PyruncError("--console-socket: process.terminal is false in config.json")
    rootfs = os.path.join(bundle, config["root"]["path"])
    store = store_for(opts)
    container = Container.new(container_id, bundle, os.path.realpath(rootfs), config,
                              rfc3339_nano(time.time_ns()), store.path(container_id))
    cdir = store.create(container_id, container.doc)
    from pyrunc.testpoint import pause_at

    try:
        pause_at("claimed")
        _launch(opts, cdir, container, console_socket=console_socket,
                pidfd_socket=pidfd_socket, no_pivot=no_pivot, no_new_keyring=no_new_keyring,
                preserve_fds=preserve_fds)
        pause_at("ready")
        container.doc["phase"] = "created"
        cdir.write_state(container.doc)
        pause_at("created")
        if pid_file:
            write_atomic(os.path.abspath(pid_file), str(container.pid).encode())
    except BaseException:
        _undo_create(cdir, container)
        raise
    finally:
        cdir.close()
    return container


def _launch(opts: GlobalOptions, cdir: ContainerDir, container: Container, **kwargs: Any) -> None:
    from pyrunc.linux import cgroups, launcher
    from pyrunc.linux.hooks import run_hooks
    from pyrunc.linux.namespaces import namespace_types
    from pyrunc.testpoint import pause_at

    config = container.config
    hooks = config.get("hooks") or {}
    rootless = opts.is_rootless()
    # The init enters its cgroups by itself, without the kernel's global cgroup lock and its
    # wait (join_v1_cgroups and clone_init in native/init/main.c), unless systemd must be
    # given its pid or it will be in a user namespace (the cgroup files are not its to write
    # there): then pyrunc moves it in, and meanwhile pays that wait in the background
    # (_migration.py).
    self_join = not (opts.systemd_cgroup or rootless or "user" in namespace_types(config))
    # detected once, for the background wait and the join alike (None: join detects it)
    layout = None if self_join or rootless else cgroups.Layout.detect()
    stop_warming = None if layout is None else cgroups.start_warming(layout)

    def record(cgroup: dict[str, Any]) -> None:
        # the cgroup paths (and the pid, once there is one) are saved before any cgroup is
        # made: if create is killed from here on, `delete --force` finds them all
        container.doc["cgroup"] = cgroup
        cdir.write_state(container.doc)
        pause_at("recorded")

    def make_cgroups(pid: int | None) -> dict[str, Any]:
        try:
            joined = cgroups.join(config, container.id, pid, systemd=opts.systemd_cgroup,
                                  layout=layout, rootless=rootless, before_create=record)
        except BaseException:
            container.doc["cgroup"] = {}  # join took back the cgroups it made
            raise
        if not joined["paths"]:  # rootless, with no cgroup it could write
            container.doc["cgroup"] = {}
        if pid is not None:
            pause_at("cgroup")
        return joined

    def on_namespaces_ready(pid: int) -> None:
        from pyrunc.container import read_proc_stat

        stat = read_proc_stat(pid)
        container.doc["pid"], container.doc["start_time"] = pid, stat[1] if stat else 0
        if self_join:
            cdir.write_state(container.doc)  # the init is in its cgroups already
            pause_at("cgroup")
        else:
            make_cgroups(pid)
            if stop_warming is not None:
                stop_warming()
        state = container.hook_state("creating")
        run_hooks("prestart", hooks.get("prestart"), state)
        run_hooks("createRuntime", hooks.get("createRuntime"), state)

    def hook_state(status: str) -> str:
        return jsonio.dumps(container.hook_state(status))

    request = launcher.LaunchRequest(
        container_id=container.id, bundle=container.doc["bundle"], config=config,
        state_dir=cdir.path, **kwargs,
    )
    try:
        if self_join:
            request.cgroups = dict(make_cgroups(None)["paths"])
        launcher.launch(request, on_namespaces_ready, hook_state)
    except launcher.LaunchError as err:
        raise PyruncError(str(err) + _oom_reason(container)) from None
    except ValueError as err:  # a plan encoder found a field it cannot honour
        raise ConfigError([str(err)]) from None
    finally:
        if stop_warming is not None:
            stop_warming()


def _oom_reason(container: Container) -> str:
    """Why the init died, when the OOM killer did it: a memory limit below what the init needs
    to set up kills it in its fresh cgroup (runc's write of the limit fails instead)."""
    record = container.doc.get("cgroup")
    if not record:
        return ""
    from pyrunc.linux.cgroups._oom import oom_kills

    if not oom_kills(record):
        return ""
    memory = ((container.config.get("linux") or {}).get("resources") or {}).get("memory") or {}
    limit = memory.get("limit")
    return (": the OOM killer killed it" + (f" (linux.resources.memory.limit is {limit} bytes)"
                                            if limit is not None else ""))


def _undo_create(cdir: ContainerDir, container: Container) -> None:
    """Take back whatever a failed create did; the original error is what the caller sees."""
    try:
        if container.pid > 0 and container.init_alive():
            _kill_and_wait(container)
        if container.doc.get("cgroup"):
            from pyrunc.linux import cgroups

            try:
                cgroups.remove(container.doc["cgroup"])
            except PyruncError as err:
                log.warning(str(err))  # said, but the create's own error is the one to report
    finally:
        cdir.remove()


def start(opts: GlobalOptions, container_id: str) -> None:
    cdir, container = load(opts, container_id)
    with cdir:
        status = container.status()
        if status != "created":  # runc's wording
            raise PyruncError("cannot start a container that has stopped" if status == "stopped"
                              else f"cannot start an already {status} container")
        from pyrunc.errors import LaunchError
        from pyrunc.linux import execfifo  # not the launcher: `start` needs only this

        try:
            execfifo.start(cdir.path, container.pid)
        except LaunchError as err:
            raise PyruncError(str(err)) from None
        container.doc["phase"] = "running"
        cdir.write_state(container.doc)
        hooks = (container.config.get("hooks") or {}).get("poststart")
        if hooks:
            from pyrunc.linux.hooks import run_hooks

            try:
                run_hooks("poststart", hooks, container.hook_state("running"))
            except PyruncError:
                # runtime-spec 1.3 (and runc): a failed poststart hook stops the container
                _kill_and_wait(container)
                raise


def parse_signal(text: str) -> int:
    import _signal as signal  # the C module: signal.py would build enums (~5 ms)

    name = text.upper()
    if name.isascii() and name.isdigit():  # not isdigit() alone: "²" is a digit int() refuses
        number = int(name)
        if not 0 < number < signal.NSIG:
            raise PyruncError(f'invalid signal "{text}"')
        return number
    if not name.startswith("SIG"):
        name = "SIG" + name
    value = getattr(signal, name, None)
    if isinstance(value, int) and name.isalnum() and 0 < value < signal.NSIG:
        return value
    if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
        base, _, offset = name[3:].partition("+" if "+" in name else "-")
        if offset.isascii() and offset.isdigit():
            value = (signal.SIGRTMIN + int(offset) if base == "RTMIN"
                     else signal.SIGRTMAX - int(offset))
            if 0 < value < signal.NSIG:
                return int(value)
    raise PyruncError(f'invalid signal "{text}"')


def kill(opts: GlobalOptions, container_id: str, signal_text: str, all_processes: bool) -> None:
    number = parse_signal(signal_text)
    cdir, container = load(opts, container_id)
    with cdir:
        status = container.status()
        if status == "stopped" or container.pid <= 0:
            raise ContainerNotRunning
        if all_processes:
            for pid in container_pids(container):
                _signal_pid(pid, number)
        else:
            pidfd = init_pidfd(container)
            if pidfd is None:
                raise ContainerNotRunning
            try:
                import _signal as signal  # the C module: signal.py would build enums

                signal.pidfd_send_signal(pidfd, number)
            except ProcessLookupError:
                raise ContainerNotRunning from None
            finally:
                os.close(pidfd)
        if number == 9 and status == "paused":
            # a v1 freezer holds even SIGKILLed tasks until thawed: runc thaws for SIGKILL,
            # and podman waits for the exit of a paused container it kills
            from pyrunc.linux import cgroups

            cgroups.thaw(_cgroup_of(container))


def init_pidfd(container: Container) -> int | None:
    """A pidfd for the init, checked against the recorded start time (no pid reuse race)."""
    try:
        pidfd = os.pidfd_open(container.pid)
    except ProcessLookupError:
        return None
    if not container.init_alive():  # checked after opening: the fd now pins this process
        os.close(pidfd)
        return None
    return pidfd


def _signal_pid(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def container_pids(container: Container) -> list[int]:
    """Every process of the container: its cgroup's, or those in the init's pid namespace."""
    cgroup = container.doc.get("cgroup")
    if cgroup:
        from pyrunc.linux import cgroups

        pids = cgroups.pids(cgroup)
        if pids:
            return pids
    if not container.init_alive():
        # the recorded pid may now be another process (pid reuse): never look through it
        return []
    try:
        ns = os.readlink(f"/proc/{container.pid}/ns/pid")
    except OSError:
        return []
    if ns == os.readlink("/proc/self/ns/pid"):
        return [container.pid]  # shares the host's pid namespace: only the init is known
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.readlink(f"/proc/{name}/ns/pid") == ns:
                    found.append(int(name))
            except OSError:
                continue
    return sorted(found)


def _kill_and_wait(container: Container, timeout: float = 10.0) -> None:
    """SIGKILL the container's processes and wait until the init is gone."""
    import _signal as signal  # the C module: signal.py would build enums (~5 ms)
    import select

    pidfd = init_pidfd(container)
    if container.doc.get("cgroup"):
        from pyrunc.linux import cgroups

        cgroups.thaw(container.doc["cgroup"])
    for pid in container_pids(container):
        _signal_pid(pid, signal.SIGKILL)
    if pidfd is None:
        return
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        # a pidfd polls readable once the process has exited (reaped or not)
        select.select([pidfd], [], [], timeout)
        try:
            os.waitpid(container.pid, os.WNOHANG)  # reap it if it is our child
        except ChildProcessError:
            pass
    finally:
        os.close(pidfd)


def delete(opts: GlobalOptions, container_id: str, force: bool) -> None:
    cdir, container = load(opts, container_id)
    with cdir:
        status = container.status()
        if status in ("running", "paused") and not force:
            raise PyruncError(
                f"cannot delete container {container_id} that is not stopped: {status}"
            )
        if status != "stopped" or container_pids(container):
            _kill_and_wait(container)
        if container.doc.get("cgroup"):
            from pyrunc.linux import cgroups

            cgroups.remove(container.doc["cgroup"])
        cdir.remove()
        hooks = (container.config.get("hooks") or {}).get("poststop")
        if hooks:
            from pyrunc.linux.hooks import run_hooks

            # each failure is a warning; the other hooks still run (runtime-spec)
            run_hooks("poststop", hooks, container.hook_state("stopped"),
                      on_failure=lambda err: log.warning(str(err)))


def pause(opts: GlobalOptions, container_id: str) -> None:
    """Freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""
    cdir, container = load(opts, container_id)
    with cdir:
        if container.status() not in ("running", "created"):  # runc's rule and wording
            raise ContainerNotRunning
        from pyrunc.linux import cgroups

        cgroups.freeze(_cgroup_of(container))


def resume(opts: GlobalOptions, container_id: str) -> None:
    cdir, container = load(opts, container_id)
    with cdir:
        if container.status() != "paused":
            raise PyruncError("container not paused")
        from pyrunc.linux import cgroups

        cgroups.thaw(_cgroup_of(container))


def update(opts: GlobalOptions, container_id: str, resources: dict[str, Any]) -> None:
    """Apply new resource limits and keep them in the recorded config, as runc does."""
    cdir, container = load(opts, container_id)
    with cdir:
        if container.status() == "stopped":
            raise ContainerNotRunning
        from pyrunc.linux import cgroups

        cgroups.update(_cgroup_of(container), resources)
        linux = container.config.setdefault("linux", {})
        linux["resources"] = _merged(linux.get("resources") or {}, resources)
        cdir.write_state(container.doc)


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _cgroup_of(container: Container) -> dict[str, Any]:
    record: dict[str, Any] = container.doc.get("cgroup") or {}
    if not record.get("paths"):
        raise PyruncError(f"container {container.id} has no cgroup")
    return record


def wait_exit_status(pid: int) -> int:
    """Wait for our child, the container init; forward signals; 128+N for signal N."""
    import _signal as signal  # the C module: signal.py would build enums (~5 ms)

    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                 signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)

    def forward(signum: int, _frame: object) -> None:
        _signal_pid(pid, signum)

    for signum in forwarded:
        signal.signal(signum, forward)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 0
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
