"""podman (with conmon) drives the runtime end to end: run, detached containers and their
logs, a terminal through conmon's console socket, exec, pause, stats, resource limits,
networks, pods and healthchecks, each checked from inside the container or from the host.

The runtime is pyrunc, or another one with `pytest --runtime runc`: the same tests pass with
both, so they test podman's behaviour, not pyrunc's quirks. Everything happens in a private
podman world (podman_world.py) that is torn down at the end."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.podman_world import IMAGE, NETWORK, Podman, cgroup_dirs, remove_cgroups

pytestmark = pytest.mark.skipif(not (shutil.which("podman") and shutil.which("conmon")),
                                reason="podman and conmon not installed "
                                       "(tests/e2e/install-podman.sh)")

CGROUP_PARENT = "libpod_parent"  # podman's parent cgroup with cgroup_manager = "cgroupfs"


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory, runtime_binary: str) -> Iterator[Podman]:
    cgroups_before = cgroup_dirs(CGROUP_PARENT)
    world = Podman(tmp_path_factory.mktemp("podman"), runtime_binary)
    try:
        world.setup()
        yield world
    finally:
        problems = world.teardown()
        # podman (with any runtime) leaves the pods' cgroups in the name=systemd and
        # unified hierarchies, and its own conmon cgroup: remove what this session made
        problems += [f"cgroup left: {p}"
                     for p in remove_cgroups(cgroup_dirs(CGROUP_PARENT) - cgroups_before)]
        assert not problems, "\n".join(problems)


@pytest.fixture
def name(podman: Podman) -> Iterator[Callable[[str], str]]:
    """Makes unique container/pod names; whatever they name is removed after the test."""
    made: list[str] = []

    def make(prefix: str) -> str:
        made.append(f"{prefix}-{secrets.token_hex(4)}")
        return made[-1]

    yield make
    for item in reversed(made):
        podman("rm", "--force", "--time", "0", item)
        podman("pod", "rm", "--force", "--time", "0", item)


def run_detached(podman: Podman, name: str, *args: str) -> None:
    podman.ok("run", "--detach", "--name", name, *args)


def wait_for_log(podman: Podman, ctr: str, text: str) -> str:
    """The container's logs once they contain ``text`` (each try is a round trip through
    podman and conmon, not a sleep); fails if they never do."""
    logs = ""
    for _ in range(300):
        logs = podman.ok("logs", ctr)
        if text in logs:
            return logs
    raise AssertionError(f"{text!r} never appeared in the logs of {ctr}: {logs!r}")


def test_import_made_the_image(podman: Podman) -> None:
    assert IMAGE in podman.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert podman.ok("info", "--format", "{{.Host.OCIRuntime.Path}}").strip() == podman.runtime


def test_run_rm_prints_output_and_returns_exit_code(podman: Podman) -> None:
    proc = podman("run", "--rm", "--network", "none", IMAGE,
                  "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "to-stdout\n"
    assert "to-stderr" in proc.stderr
    assert podman.ok("ps", "--all", "--quiet") == ""  # --rm removed it


def test_runtime_given_by_path_on_the_command_line(podman: Podman) -> None:
    """The issue's own words: `podman --runtime "$(command -v pyrunc)" run --rm IMAGE CMD`."""
    proc = podman("--runtime", podman.runtime, "run", "--rm", "--network", "none", IMAGE,
                  "sh", "-c", "echo by-path; exit 3")
    assert (proc.returncode, proc.stdout) == (3, "by-path\n"), proc.stderr


def test_run_passes_stdin_with_interactive(podman: Podman, tmp_path: Path) -> None:
    (tmp_path / "in").write_text("line one\nline two\n")
    with open(tmp_path / "in") as stdin:
        proc = podman("run", "--rm", "--interactive", "--network", "none", IMAGE, "wc", "-l",
                      stdin=stdin)
    assert (proc.returncode, proc.stdout.strip()) == (0, "2"), proc.stderr


def test_detached_ps_logs_stop_rm(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("detached")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sh", "-c",
                 'trap "echo got-sigterm; exit 0" TERM; echo started; '
                 'while true; do sleep 0.1; done')
    assert podman.inspect(ctr, "{{.State.Status}}") == "running"
    assert ctr in podman.ok("ps", "--format", "{{.Names}}").split()
    assert wait_for_log(podman, ctr, "started") == "started\n"
    podman.ok("stop", "--time", "60", ctr)  # SIGTERM reaches the trap; no SIGKILL needed
    assert podman.inspect(ctr, "{{.State.Status}}") == "exited"
    assert podman.inspect(ctr, "{{.State.ExitCode}}") == "0"
    assert podman.ok("logs", ctr) == "started\ngot-sigterm\n"
    assert ctr not in podman.ok("ps", "--format", "{{.Names}}").split()
    assert ctr in podman.ok("ps", "--all", "--format", "{{.Names}}").split()
    podman.ok("rm", ctr)
    assert ctr not in podman.ok("ps", "--all", "--format", "{{.Names}}").split()


def test_kill_reports_signal_exit_code(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("killed")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    podman.ok("kill", "--signal", "KILL", ctr)
    assert podman.ok("wait", ctr).strip() == "137"
    assert podman.inspect(ctr, "{{.State.Status}}") == "exited"


def test_run_interactive_tty_through_console_socket(podman: Podman) -> None:
    out, status = podman.pty_session(
        ["run", "--rm", "-it", "--network", "none", IMAGE, "sh"],
        b"tty; stty size; test -t 0 && echo stdin-is-a-tty; exit 5\r", rows=33, cols=101)
    assert status == 5, out
    assert "/dev/pts/0" in out
    assert "33 101" in out  # podman's terminal size reached the container's pty
    assert "stdin-is-a-tty" in out


def test_exec(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("exec")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    proc = podman("exec", ctr, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; exit 4")
    assert (proc.returncode, proc.stdout) == (4, "sleep 1000 "), proc.stderr
    # user, workdir and environment of the exec'd process
    out = podman.ok("exec", "--user", "1234:5678", "--workdir", "/tmp", "--env", "HELLO=world",
                    ctr, "sh", "-c", 'echo "$(id -u):$(id -g) $(pwd) $HELLO"')
    assert out == "1234:5678 /tmp world\n"


def test_exec_interactive_tty(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("exectty")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    out, status = podman.pty_session(
        ["exec", "-it", ctr, "sh"],
        b"tty; stty size; echo pid1=$(cat /proc/1/comm); exit 3\r", rows=20, cols=70)
    assert status == 3, out
    assert "/dev/pts/" in out
    assert "20 70" in out
    assert "pid1=sleep" in out


def test_errors_are_readable(podman: Podman, name: Callable[[str], str]) -> None:
    """The runtime's reason reaches the podman user, with the path it is about."""
    proc = podman("run", "--rm", "--network", "none", IMAGE, "/no/such/binary")
    assert proc.returncode == 127
    assert '"/no/such/binary"' in proc.stderr and "no such file" in proc.stderr.lower()
    assert proc.stderr.count("\n") == 1, proc.stderr  # one line, no traceback

    ctr = name("execerr")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    proc = podman("exec", "--workdir", "/no/such/dir", ctr, "true")
    assert proc.returncode == 127
    assert '"/no/such/dir"' in proc.stderr and "no such file" in proc.stderr.lower()
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("args,words", [
    # runc 1.1: "unable to set memory limit to 102400 (current usage: ...)"; pyrunc: the OOM
    # killer killed the init, linux.resources.memory.limit (102400 bytes) is too low
    (("--memory", "100k"), ("memory",)),
    # both: a bind mount inside /proc is refused as such (not "no such file", exit 127)
    (("--mount", "type=bind,src={file},dst=/proc/no-such-entry"), ("/proc/no-such-entry",
                                                                    "inside /proc")),
])
def test_runtime_refusals_are_readable(podman: Podman, tmp_path: Path, args: tuple[str, ...],
                                       words: tuple[str, ...]) -> None:
    (tmp_path / "file").write_text("x")
    args = tuple(arg.format(file=tmp_path / "file") for arg in args)
    proc = podman("run", "--rm", "--network", "none", *args, IMAGE, "true")
    assert proc.returncode == 126, proc.stderr  # podman: "OCI runtime error"
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert all(word in proc.stderr.lower() for word in words), proc.stderr


def _freezer_frozen(pid: str) -> bool:
    """Whether the cgroup freezer holds the process (cgroup v1 freezer or v2 cgroup.freeze)."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if "freezer" in controllers.split(","):
            state = Path(f"/sys/fs/cgroup/freezer{path}/freezer.state").read_text().strip()
            return state == "FROZEN"
    for hid, _, path in lines:
        if hid == "0":
            events = Path(f"/sys/fs/cgroup{path}/cgroup.events").read_text()
            return "frozen 1" in events.splitlines()
    raise AssertionError(f"no freezer cgroup for {pid}")


def test_pause_unpause(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("pause")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    pid = podman.inspect(ctr, "{{.State.Pid}}")
    podman.ok("pause", ctr)
    assert podman.inspect(ctr, "{{.State.Status}}") == "paused"
    assert _freezer_frozen(pid)
    proc = podman("exec", ctr, "true")
    assert proc.returncode != 0 and "running" in proc.stderr  # podman refuses a paused one
    podman.ok("unpause", ctr)
    assert podman.inspect(ctr, "{{.State.Status}}") == "running"
    assert not _freezer_frozen(pid)
    assert podman.ok("exec", ctr, "echo", "alive") == "alive\n"


def test_kill_a_paused_container(podman: Podman, name: Callable[[str], str]) -> None:
    """podman kill (SIGKILL) of a paused container waits for its exit: the runtime must
    thaw it, or a cgroup v1 freezer holds the killed process."""
    ctr = name("pausekill")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    podman.ok("pause", ctr)
    podman.ok("kill", ctr)
    assert podman.inspect(ctr, "{{.State.Status}}") == "exited"
    assert podman.ok("wait", ctr).strip() == "137"


def test_stats(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("stats")
    run_detached(podman, ctr, "--network", "none", "--memory", "64m", IMAGE,
                 "sh", "-c", "sleep 1000 & sleep 1000 & echo forked; wait")
    wait_for_log(podman, ctr, "forked")
    stats = json.loads(podman.ok("stats", "--no-stream", "--format", "json", ctr))
    assert [s["name"] for s in stats] == [ctr]
    assert stats[0]["mem_usage"].endswith("/ 67.11MB")  # the limit, from the cgroup
    assert stats[0]["pids"] == "3"
    used = stats[0]["mem_usage"].split("/")[0].strip()
    assert not used.startswith("0B"), stats


def _in_container_cgroup_value(podman: Podman, ctr: str, v2: str, v1: str) -> str:
    return podman.ok("exec", ctr, "sh", "-c",
                     f"cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}").strip()


def test_memory_limit(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("memory")
    run_detached(podman, ctr, "--network", "none", "--memory", "48m", IMAGE, "sleep", "1000")
    assert _in_container_cgroup_value(podman, ctr, "memory.max",
                                      "memory/memory.limit_in_bytes") == str(48 << 20)
    # a 100 MB buffer is more than memory + swap (podman allows twice the memory): the
    # kernel's OOM killer ends it (SIGKILL: 137); with room for it, the same command runs.
    # (State.OOMKilled stays false with runc too: conmon 2.1.6 sees the OOM, but its "oom"
    # file lands in the working directory it inherits from podman, and podman reports none)
    dd = ("sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=100M count=1 2>/dev/null")
    proc = podman("run", "--rm", "--network", "none", "--memory", "16m", IMAGE, *dd)
    assert proc.returncode == 137, (proc.stdout, proc.stderr)
    proc = podman("run", "--rm", "--network", "none", "--memory", "256m", IMAGE, *dd)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)


def test_pids_limit(podman: Podman, name: Callable[[str], str]) -> None:
    proc = podman("run", "--rm", "--network", "none", "--pids-limit", "5", IMAGE, "sh", "-c",
                  "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max;"
                  " (for i in 1 2 3 4 5 6 7 8; do sleep 100 & done) 2>&1; echo done")
    assert proc.returncode == 0, proc.stderr
    # the shell, the subshell and three sleeps make five: the next fork fails with EAGAIN
    assert proc.stdout.splitlines() == ["5", "sh: can't fork: Resource temporarily unavailable",
                                        "done"]


def test_device(podman: Podman) -> None:
    """podman passes the host node's st_mode as fileMode (file type bits included)."""
    host = os.stat("/dev/null")
    out = podman.ok("run", "--rm", "--network", "none", "--device", "/dev/null:/dev/host-null",
                    IMAGE, "sh", "-c", "stat -c '%t %T %a' /dev/host-null; "
                    "echo data > /dev/host-null && echo written")
    assert out.splitlines() == [
        f"{os.major(host.st_rdev):x} {os.minor(host.st_rdev):x} {host.st_mode & 0o777:o}",
        "written"]


def test_privileged(podman: Podman) -> None:
    out = podman.ok("run", "--rm", "--network", "none", "--privileged", IMAGE, "sh", "-c",
                    "grep CapBnd /proc/self/status; stat -c %t,%T /dev/zero; ls /dev | wc -l")
    bounding, zero, count = out.split("\n")[:3]
    with open("/proc/self/status") as f:
        host_bounding = next(line for line in f if line.startswith("CapBnd"))
    assert bounding == host_bounding.strip()
    assert zero == "1,5"
    assert int(count) >= len(os.listdir("/dev")) - 5  # the host's devices, not the default few


def test_bind_mount_with_propagation(podman: Podman, tmp_path: Path) -> None:
    """bind-propagation=rslave makes podman ask for linux.rootfsPropagation "rslave"."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "file").write_text("from the host\n")
    out = podman.ok("run", "--rm", "--network", "none", "--mount",
                    f"type=bind,src={tmp_path / 'shared'},dst=/mnt,ro=true,"
                    "bind-propagation=rslave", IMAGE,
                    "sh", "-c", "cat /mnt/file; touch /mnt/new 2>&1; "
                                "grep ' /mnt ' /proc/self/mountinfo | cut -d' ' -f6")
    lines = out.splitlines()
    assert lines[0] == "from the host"
    assert "Read-only file system" in lines[1]
    assert lines[2].split(",")[0] == "ro"
    assert not (tmp_path / "shared" / "new").exists()


def test_network_none_has_only_loopback(podman: Podman) -> None:
    out = podman.ok("run", "--rm", "--network", "none", IMAGE, "ls", "/sys/class/net")
    assert out.split() == ["lo"]


def _serve_once(host: str) -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A TCP server on the host that answers one connection; what it received."""
    server = socket.socket()
    server.bind((host, 0))
    server.listen(1)
    server.settimeout(60)
    received: list[bytes] = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(60)
            received.append(conn.recv(100))
            conn.sendall(b"hello from the host\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread, received


def test_default_network(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("net")
    run_detached(podman, ctr, IMAGE, "sleep", "1000")
    address = podman.inspect(ctr, f"{{{{.NetworkSettings.Networks.{NETWORK}.IPAddress}}}}")
    assert address.startswith(podman.gateway.rsplit(".", 1)[0] + ".")
    interfaces = podman.ok("exec", ctr, "ls", "/sys/class/net").split()
    assert sorted(interfaces) == ["eth0", "lo"]
    assert f"inet {address}/24" in podman.ok("exec", ctr, "ip", "-4", "addr", "show", "eth0")
    # and it carries traffic: the container reaches a server on the bridge's gateway
    server, thread, received = _serve_once(podman.gateway)
    try:
        port = server.getsockname()[1]
        out = podman.ok("exec", ctr, "sh", "-c",
                        f"echo from-container | nc -w 30 {podman.gateway} {port}")
        thread.join(60)
    finally:
        server.close()
    assert out == "hello from the host\n"
    assert received == [b"from-container\n"]


def _namespaces(podman: Podman, ctr: str) -> dict[str, str]:
    out = podman.ok("exec", ctr, "sh", "-c",
                    "for n in net ipc uts pid mnt; do echo $n $(readlink /proc/1/ns/$n); done")
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_pod_containers_share_namespaces(podman: Podman, name: Callable[[str], str]) -> None:
    pod = name("pod")
    podman.ok("pod", "create", "--name", pod)
    first, second, alone = name("first"), name("second"), name("alone")
    run_detached(podman, first, "--pod", pod, IMAGE, "sleep", "1000")
    run_detached(podman, second, "--pod", pod, IMAGE, "sleep", "1000")
    run_detached(podman, alone, IMAGE, "sleep", "1000")
    ns1, ns2, ns3 = (_namespaces(podman, c) for c in (first, second, alone))
    for shared in ("net", "ipc", "uts"):  # the pod's infra container holds these
        assert ns1[shared] == ns2[shared] != ns3[shared], (shared, ns1, ns2, ns3)
    for own in ("pid", "mnt"):
        assert ns1[own] != ns2[own], (own, ns1, ns2)
    assert podman.ok("exec", second, "hostname").strip() == pod
    # one network namespace: a server in one container is on the other's localhost
    podman.ok("exec", "--detach", first, "sh", "-c", "echo over-localhost | nc -l -p 4711")
    out = ""
    for _ in range(200):
        proc = podman("exec", second, "nc", "127.0.0.1", "4711")
        out = proc.stdout
        if out:
            break
    assert out == "over-localhost\n"
    podman.ok("pod", "stop", "--time", "0", pod)
    podman.ok("pod", "rm", pod)
    assert pod not in podman.ok("pod", "ps", "--format", "{{.Name}}").split()


def test_healthcheck(podman: Podman, name: Callable[[str], str]) -> None:
    ctr = name("health")
    run_detached(podman, ctr, "--network", "none", "--health-cmd", "test -e /tmp/ready",
                 "--health-interval", "disable", "--health-retries", "1", IMAGE, "sleep", "1000")
    # no systemd timers here: run the check by hand, as a timer would
    proc = podman("healthcheck", "run", ctr)
    assert (proc.returncode, proc.stdout.strip()) == (1, "unhealthy"), proc.stderr
    assert podman.inspect(ctr, "{{.State.Health.Status}}") == "unhealthy"
    podman.ok("exec", ctr, "touch", "/tmp/ready")
    assert podman("healthcheck", "run", ctr).returncode == 0
    assert podman.inspect(ctr, "{{.State.Health.Status}}") == "healthy"


def test_nothing_of_the_runtime_left_after_rm(podman: Podman, name: Callable[[str], str]
                                              ) -> None:
    """After `rm`, the runtime's state dir no longer knows the container (podman 4.3 as
    root passes no --root: the runtime's default, /run/<name>)."""
    ctr = name("gone")
    run_detached(podman, ctr, "--network", "none", IMAGE, "sleep", "1000")
    ctr_id = podman.inspect(ctr, "{{.Id}}")
    state_root = Path("/run") / Path(podman.runtime).name
    assert (state_root / ctr_id).is_dir(), sorted(os.listdir(state_root))
    podman.ok("rm", "--force", "--time", "0", ctr)
    assert not (state_root / ctr_id).exists()
