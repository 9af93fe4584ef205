"""The command line of pyrunc, runc's commands and flags, defined once with typer.

Each command only forwards its parameters to ``pyrunc.cli.invoke.invoke``; the work happens
in ``pyrunc.cli.commands.<name>.main``. The fast dispatcher (dispatch.py) uses a table derived
from this app at build time, so changing a flag here changes both parsers.
"""

from __future__ import annotations

from typing import Any

import typer

from pyrunc.cli.invoke import GlobalOptions, invoke

app = typer.Typer(
    name="pyrunc",
    help="pyrunc: an OCI runtime, a drop-in replacement for runc.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ID = typer.Argument(..., metavar="CONTAINER_ID", help="The container's id.")
BUNDLE = typer.Option(".", "--bundle", "-b", help="Path to the bundle directory.")
CONSOLE_SOCKET = typer.Option(
    None, "--console-socket", help="Unix socket that receives the pty master fd."
)
PIDFD_SOCKET = typer.Option(None, "--pidfd-socket", help="Unix socket that receives a pidfd.")
PID_FILE = typer.Option(None, "--pid-file", help="File to write the process' pid to.")
NO_PIVOT = typer.Option(False, "--no-pivot", help="Use MS_MOVE and chroot, not pivot_root.")
NO_NEW_KEYRING = typer.Option(False, "--no-new-keyring", help="Keep the caller's keyring.")
PRESERVE_FDS = typer.Option(0, "--preserve-fds", help="Pass N fds after stdio (3..3+N-1).")


def _call(ctx: typer.Context, command: str, /, **args: Any) -> None:
    raise typer.Exit(invoke(command, ctx.obj, args))


def _version(value: bool) -> None:
    if value:
        from pyrunc.cli.invoke import version_text

        typer.echo(version_text(), nl=False)
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    root: str = typer.Option(None, "--root", help="State directory (default /run/pyrunc)."),
    log: str = typer.Option(None, "--log", help="Log file (default: stderr only)."),
    log_format: str = typer.Option("text", "--log-format", help="text or json."),
    debug: bool = typer.Option(False, "--debug", help="Log debug messages."),
    systemd_cgroup: bool = typer.Option(
        False, "--systemd-cgroup", help="cgroupsPath is slice:prefix:name."
    ),
    rootless: str = typer.Option("auto", "--rootless", help="true, false or auto."),
    criu: str = typer.Option("criu", "--criu", help="Path to criu."),
    version: bool = typer.Option(
        False, "--version", "-v", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    ctx.obj = GlobalOptions(
        root=root, log=log, log_format=log_format, debug=debug,
        systemd_cgroup=systemd_cgroup, rootless=rootless, criu=criu,
    )


@app.command(help="Create a container; its process waits for `start`.")
def create(
    ctx: typer.Context, container_id: str = ID, bundle: str = BUNDLE,
    console_socket: str = CONSOLE_SOCKET, pidfd_socket: str = PIDFD_SOCKET,
    pid_file: str = PID_FILE, no_pivot: bool = NO_PIVOT, no_new_keyring: bool = NO_NEW_KEYRING,
    preserve_fds: int = PRESERVE_FDS,
) -> None:
    _call(ctx, "create", container_id=container_id, bundle=bundle,
          console_socket=console_socket, pidfd_socket=pidfd_socket, pid_file=pid_file,
          no_pivot=no_pivot, no_new_keyring=no_new_keyring, preserve_fds=preserve_fds)


@app.command(help="Create and start a container.")
def run(
    ctx: typer.Context, container_id: str = ID, bundle: str = BUNDLE,
    console_socket: str = CONSOLE_SOCKET, pidfd_socket: str = PIDFD_SOCKET,
    pid_file: str = PID_FILE, no_pivot: bool = NO_PIVOT, no_new_keyring: bool = NO_NEW_KEYRING,
    preserve_fds: int = PRESERVE_FDS,
    detach: bool = typer.Option(False, "--detach", "-d", help="Do not wait for the container."),
    keep: bool = typer.Option(False, "--keep", help="Do not delete the container on exit."),
) -> None:
    _call(ctx, "run", container_id=container_id, bundle=bundle,
          console_socket=console_socket, pidfd_socket=pidfd_socket, pid_file=pid_file,
          no_pivot=no_pivot, no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
          detach=detach, keep=keep)


@app.command(help="Start a created container's process.")
def start(ctx: typer.Context, container_id: str = ID) -> None:
    _call(ctx, "start", container_id=container_id)


@app.command(help="Print a container's state as JSON.")
def state(ctx: typer.Context, container_id: str = ID) -> None:
    _call(ctx, "state", container_id=container_id)


@app.command(help="Send a signal (default SIGTERM) to a container's init.")
def kill(
    ctx: typer.Context, container_id: str = ID,
    signal: str = typer.Argument("SIGTERM", help="Signal name or number."),
    all: bool = typer.Option(False, "--all", "-a", help="Signal every process of the container."),
) -> None:
    _call(ctx, "kill", container_id=container_id, signal=signal, all=all)


@app.command(help="Delete a container and everything it holds.")
def delete(
    ctx: typer.Context, container_id: str = ID,
    force: bool = typer.Option(False, "--force", "-f", help="Kill a running container first."),
) -> None:
    _call(ctx, "delete", container_id=container_id, force=force)


@app.command(name="list", help="List containers.")
def list_(
    ctx: typer.Context,
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print ids only."),
) -> None:
    _call(ctx, "list", format=format, quiet=quiet)


@app.command(
    help="Run a process inside a running container.",
    context_settings={"allow_interspersed_args": False},
)
def exec(
    ctx: typer.Context, container_id: str = ID,
    command: list[str] = typer.Argument(None, help="Command and arguments."),
    console_socket: str = CONSOLE_SOCKET, pidfd_socket: str = PIDFD_SOCKET,
    cwd: str = typer.Option(None, "--cwd", help="Working directory."),
    env: list[str] = typer.Option(None, "--env", "-e", help="KEY=VALUE to set."),
    tty: bool = typer.Option(False, "--tty", "-t", help="Allocate a pty."),
    user: str = typer.Option(None, "--user", "-u", help="UID[:GID]."),
    additional_gids: list[int] = typer.Option(None, "--additional-gids", "-g", help="GID."),
    process: str = typer.Option(None, "--process", "-p", help="A process.json to run."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Do not wait for the process."),
    pid_file: str = PID_FILE,
    process_label: str = typer.Option(None, "--process-label", help="SELinux label."),
    apparmor: str = typer.Option(None, "--apparmor", help="AppArmor profile."),
    no_new_privs: bool = typer.Option(False, "--no-new-privs", help="Set no_new_privs."),
    cap: list[str] = typer.Option(None, "--cap", "-c", help="Add a capability."),
    preserve_fds: int = PRESERVE_FDS,
    cgroup: list[str] = typer.Option(None, "--cgroup", help="Sub-cgroup to join."),
    ignore_paused: bool = typer.Option(False, "--ignore-paused", help="Allow a paused one."),
) -> None:
    _call(ctx, "exec", container_id=container_id, command=command or [],
          console_socket=console_socket, pidfd_socket=pidfd_socket, cwd=cwd, env=env or [],
          tty=tty, user=user, additional_gids=additional_gids or [], process=process,
          detach=detach, pid_file=pid_file, process_label=process_label, apparmor=apparmor,
          no_new_privs=no_new_privs, cap=cap or [], preserve_fds=preserve_fds,
          cgroup=cgroup or [], ignore_paused=ignore_paused)


@app.command(
    help="List a container's processes.", context_settings={"allow_interspersed_args": False}
)
def ps(
    ctx: typer.Context, container_id: str = ID,
    ps_args: list[str] = typer.Argument(None, help="Arguments for ps(1)."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    _call(ctx, "ps", container_id=container_id, ps_args=ps_args or [], format=format)


@app.command(help="Freeze a container's processes.")
def pause(ctx: typer.Context, container_id: str = ID) -> None:
    _call(ctx, "pause", container_id=container_id)


@app.command(help="Thaw a paused container.")
def resume(ctx: typer.Context, container_id: str = ID) -> None:
    _call(ctx, "resume", container_id=container_id)


@app.command(help="Change a running container's resource limits.")
def update(
    ctx: typer.Context, container_id: str = ID,
    resources: str = typer.Option(None, "--resources", "-r", help="LinuxResources JSON or -."),
    blkio_weight: int = typer.Option(None, "--blkio-weight", help="Block IO weight."),
    cpu_period: int = typer.Option(None, "--cpu-period", help="CPU CFS period (us)."),
    cpu_quota: int = typer.Option(None, "--cpu-quota", help="CPU CFS quota (us)."),
    cpu_burst: int = typer.Option(None, "--cpu-burst", help="CPU CFS burst (us)."),
    cpu_share: int = typer.Option(None, "--cpu-share", help="CPU shares."),
    cpu_rt_period: int = typer.Option(None, "--cpu-rt-period", help="RT period (us)."),
    cpu_rt_runtime: int = typer.Option(None, "--cpu-rt-runtime", help="RT runtime (us)."),
    cpuset_cpus: str = typer.Option(None, "--cpuset-cpus", help="CPUs allowed."),
    cpuset_mems: str = typer.Option(None, "--cpuset-mems", help="Memory nodes allowed."),
    memory: str = typer.Option(None, "--memory", help="Memory limit."),
    memory_reservation: str = typer.Option(None, "--memory-reservation", help="Soft limit."),
    memory_swap: str = typer.Option(None, "--memory-swap", help="Memory+swap limit."),
    pids_limit: int = typer.Option(None, "--pids-limit", help="Maximum number of pids."),
) -> None:
    _call(ctx, "update", container_id=container_id, resources=resources,
          blkio_weight=blkio_weight, cpu_period=cpu_period, cpu_quota=cpu_quota,
          cpu_burst=cpu_burst, cpu_share=cpu_share, cpu_rt_period=cpu_rt_period,
          cpu_rt_runtime=cpu_rt_runtime, cpuset_cpus=cpuset_cpus, cpuset_mems=cpuset_mems,
          memory=memory, memory_reservation=memory_reservation, memory_swap=memory_swap,
          pids_limit=pids_limit)


@app.command(help="Print container events and resource statistics.")
def events(
    ctx: typer.Context, container_id: str = ID,
    interval: str = typer.Option("5s", "--interval", help="Stats interval."),
    stats: bool = typer.Option(False, "--stats", help="Print stats once and exit."),
) -> None:
    _call(ctx, "events", container_id=container_id, interval=interval, stats=stats)


@app.command(help="Print the features this runtime supports, as JSON.")
def features(ctx: typer.Context) -> None:
    _call(ctx, "features")


@app.command(help="Write a default config.json into the bundle.")
def spec(
    ctx: typer.Context, bundle: str = BUNDLE,
    rootless: bool = typer.Option(False, "--rootless", help="A config for rootless use."),
) -> None:
    _call(ctx, "spec", bundle=bundle, rootless=rootless)


@app.command(help="Validate a bundle's config.json (like oci-runtime-tool validate).")
def validate(ctx: typer.Context, bundle: str = BUNDLE) -> None:
    _call(ctx, "validate", bundle=bundle)


@app.command(help="Checkpoint a running container (CRIU).")
def checkpoint(
    ctx: typer.Context, container_id: str = ID,
    image_path: str = typer.Option(None, "--image-path", help="Where to write the images."),
    work_path: str = typer.Option(None, "--work-path", help="Logs and work files."),
    leave_running: bool = typer.Option(False, "--leave-running", help="Keep it running."),
) -> None:
    _call(ctx, "checkpoint", container_id=container_id, image_path=image_path,
          work_path=work_path, leave_running=leave_running)


@app.command(help="Restore a container from a checkpoint (CRIU).")
def restore(
    ctx: typer.Context, container_id: str = ID, bundle: str = BUNDLE,
    image_path: str = typer.Option(None, "--image-path", help="Where the images are."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Do not wait."),
    pid_file: str = PID_FILE,
) -> None:
    _call(ctx, "restore", container_id=container_id, bundle=bundle, image_path=image_path,
          detach=detach, pid_file=pid_file)
