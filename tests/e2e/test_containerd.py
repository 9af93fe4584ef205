"""containerd 1.6 driving the runtime under test through its runc v2 shim
(io.containerd.runc.v2): `ctr run --runc-binary`, exec, signals, exit statuses, metrics, and
the runtime's errors as ctr shows them.

One private containerd for the session (tests/e2e/containerd_env.py): its own config, root,
state and sockets under a temp dir; the image is an OCI archive of bundles/busybox/rootfs
imported with `ctr image import`. `pytest --runtime runc` runs the same tests against runc."""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.containerd_env import IMAGE, IMAGES, NAMESPACE, SUBNET, Containerd, oci_archive
from helpers import ROOTFS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd needs root")

Ctr = Callable[..., subprocess.CompletedProcess[str]]
_ids = iter(range(1_000_000))


def _new_id(prefix: str = "t") -> str:
    return f"{prefix}{os.getpid()}-{next(_ids)}"


@pytest.fixture(scope="module")
def containerd(runtime_binary: str) -> Iterator[Containerd]:
    """A private containerd (CRI plugin on) with the images imported in the ctr tests'
    namespace and in the CRI plugin's (k8s.io). Module-scoped: the daemon (a child of
    pytest) must be gone before other modules count their children."""
    missing = [tool for tool in ("containerd", "ctr", "containerd-shim-runc-v2")
               if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run sh tests/e2e/install.sh")
    # containerd 1.6 always puts the shims' sockets in /run/containerd/s: remove what that
    # makes there (when empty) if there was nothing before
    host_dirs = [d for d in ("/run/containerd", "/run/containerd/s") if not os.path.exists(d)]
    # a short base: containerd's sockets must fit in sun_path (108 bytes)
    base = Path(tempfile.mkdtemp(prefix="ctrd-", dir="/tmp"))
    daemon = Containerd(base, runtime_binary, cri=True)
    try:
        daemon.start()
        archive = oci_archive(ROOTFS, base / "busybox-oci.tar", IMAGES)
        for namespace in (NAMESPACE, "k8s.io"):
            imported = daemon.ctr("image", "import", str(archive), namespace=namespace)
            assert imported.returncode == 0, imported.stderr
        yield daemon
    finally:
        try:
            daemon.clean((NAMESPACE, "k8s.io"))  # a failed CRI test may leave its pod
        finally:
            daemon.stop()
            _remove_parent_cgroups(f"/{NAMESPACE}")
            subprocess.run(["rm", "-rf", "--one-file-system", str(base)], check=False)
            for directory in reversed(host_dirs):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass


def _remove_parent_cgroups(name: str, timeout: float = 10) -> None:
    """containerd leaves the parent cgroup (/<namespace>) of its tasks behind: remove it, and
    whatever empty cgroup is left under it, in every hierarchy. The namespace is this run's
    own; a killed task's cgroup stays busy until it has been reaped: retry a while."""
    deadline = time.monotonic() + timeout
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy, name.lstrip("/"))
        if not os.path.isdir(top):
            continue
        for directory, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


@pytest.fixture
def ctr(containerd: Containerd, runtime_binary: str) -> Iterator[Ctr]:
    """ctr against the private containerd; `run` and `container create` get the runtime
    under test (--runc-binary) and a runtime root under the temp dir (--runc-root). What a
    test leaves is killed and removed after it."""
    runtime_root = containerd.base / "runtime-root"

    def call(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        if args[:1] == ("run",) or args[:2] == ("container", "create"):
            at = 1 if args[0] == "run" else 2
            args = (*args[:at], "--runc-binary", runtime_binary, "--runc-root",
                    str(runtime_root), *args[at:])
        if args[:1] == ("run",) or args[:2] in (("task", "exec"), ("task", "start")):
            at = 1 if args[0] == "run" else 2  # the stdio fifos: not in /run/containerd
            args = (*args[:at], "--fifo-dir", str(containerd.base / "fifo"), *args[at:])
        return containerd.ctr(*args, timeout=timeout)

    yield call
    containerd.clean()


def _runtime(runtime_binary: str, containerd: Containerd, *args: str
             ) -> subprocess.CompletedProcess[str]:
    """The runtime under test itself, on the root the shim gives it (<runc-root>/<namespace>)."""
    root = containerd.base / "runtime-root" / NAMESPACE
    return subprocess.run([runtime_binary, "--root", str(root), *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


def _on_a_terminal(command: list[str]) -> tuple[int, str]:
    """Run ``command`` with a pty as its terminal (script(1)); its status and what it wrote.
    Output goes through a file: the task may keep a pipe open."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.run(["script", "-qec", shlex.join(command), "/dev/null"],
                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              timeout=120)
        out.seek(0)
        return proc.returncode, out.read().decode(errors="replace")


def _task_status(ctr: Ctr, task: str) -> str | None:
    for line in ctr("task", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == task:
            return fields[2]
    return None


def _wait_status(ctr: Ctr, task: str, want: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _task_status(ctr, task) != want:
        assert time.monotonic() < deadline, f"task {task}: {_task_status(ctr, task)}, not {want}"
        time.sleep(0.05)


def _start_detached(ctr: Ctr, *command: str) -> str:
    task = _new_id("d")
    proc = ctr("run", "-d", IMAGE, task, *command)
    assert proc.returncode == 0, proc.stderr
    _wait_status(ctr, task, "RUNNING")
    return task


# ---- run ---------------------------------------------------------------------------------

def test_run_rm_prints_the_output_and_returns_zero(ctr: Ctr) -> None:
    proc = ctr("run", "--rm", IMAGE, _new_id(), "sh", "-c",
               "echo hello from $(hostname); echo to stderr >&2; cat /proc/1/cmdline; echo")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("hello from ")
    assert lines[1] == ("sh\0-c\0echo hello from $(hostname); echo to stderr >&2; "
                        "cat /proc/1/cmdline; echo\0")
    assert "to stderr" in proc.stderr
    assert ctr("container", "ls", "-q").stdout.split() == []  # --rm removed it


def test_run_returns_the_task_exit_status(ctr: Ctr) -> None:
    proc = ctr("run", "--rm", IMAGE, _new_id(), "sh", "-c", "exit 7")
    assert proc.returncode == 7, proc.stderr


def test_run_with_a_terminal(ctr: Ctr, containerd: Containerd, runtime_binary: str) -> None:
    # ctr -t wants a terminal of its own: script(1) gives it one
    command = ["ctr", "--address", str(containerd.socket), "--namespace", NAMESPACE, "run",
               "-t", "--rm", "--runc-binary", runtime_binary, "--runc-root",
               str(containerd.base / "runtime-root"), "--fifo-dir",
               str(containerd.base / "fifo"), IMAGE, _new_id(), "sh", "-c",
               "tty; exit 4"]
    returncode, output = _on_a_terminal(command)
    assert returncode == 4, output
    assert "/dev/pts/0" in output


def test_the_runtime_under_test_runs_the_task(ctr: Ctr, containerd: Containerd,
                                              runtime_binary: str) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    state = _runtime(runtime_binary, containerd, "state", task)
    assert state.returncode == 0, state.stderr
    doc = json.loads(state.stdout)
    assert (doc["id"], doc["status"]) == (task, "running")
    pid = int(ctr("task", "ls").stdout.split(task)[1].split()[0])
    assert doc["pid"] == pid


# ---- exit statuses and signals -------------------------------------------------------------

def test_detached_task_exiting_non_zero(ctr: Ctr) -> None:
    task = _new_id("d")
    assert ctr("run", "-d", IMAGE, task, "sh", "-c", "sleep 0.2; exit 3").returncode == 0
    _wait_status(ctr, task, "STOPPED")
    deleted = ctr("task", "delete", task)
    assert deleted.returncode == 0, deleted.stderr
    assert f"task {task} exit with non-zero exit code 3" in deleted.stderr


def test_kill_delivers_the_signal_then_delete(ctr: Ctr, containerd: Containerd,
                                              runtime_binary: str) -> None:
    # pid 1 ignores SIGTERM unless it handles it: the trap proves the signal arrived
    task = _start_detached(ctr, "sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done")
    killed = ctr("task", "kill", "-s", "SIGTERM", task)
    assert killed.returncode == 0, killed.stderr
    _wait_status(ctr, task, "STOPPED")
    again = ctr("task", "kill", "-s", "SIGKILL", task)
    assert again.returncode == 1
    assert "process already finished: not found" in again.stderr
    deleted = ctr("task", "delete", task)
    assert deleted.returncode == 0, deleted.stderr
    assert "exit code 42" in deleted.stderr
    gone = _runtime(runtime_binary, containerd, "state", task)
    assert gone.returncode == 1
    assert "does not exist" in gone.stderr
    assert ctr("container", "delete", task).returncode == 0


def test_kill_all_reaches_every_process(ctr: Ctr) -> None:
    # `ctr task kill --all`: the runtime's `kill --all` signals every process of the task. The
    # init (pid 1 of its namespace, no handler) is immune to SIGUSR1; its child is not, and
    # its death ends the init's `wait` with 128+10
    task = _start_detached(ctr, "sh", "-c", "sleep 1000 & wait $!")
    listed = ctr("task", "ps", task)
    assert len(listed.stdout.splitlines()) == 3, listed.stdout  # header, sh, sleep
    killed = ctr("task", "kill", "--all", "-s", "SIGUSR1", task)
    assert killed.returncode == 0, killed.stderr
    _wait_status(ctr, task, "STOPPED")
    assert "exit code 138" in ctr("task", "delete", task).stderr


def test_sigkill_and_delete_remove_the_cgroups(ctr: Ctr, containerd: Containerd) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    cgroup = f"/sys/fs/cgroup/memory/{NAMESPACE}/{task}"
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        cgroup = f"/sys/fs/cgroup/{NAMESPACE}/{task}"
    assert os.path.isdir(cgroup)
    assert ctr("task", "kill", "-s", "SIGKILL", task).returncode == 0
    _wait_status(ctr, task, "STOPPED")
    deleted = ctr("task", "delete", task)
    assert "exit code 137" in deleted.stderr
    assert not os.path.exists(cgroup)


def test_pause_and_resume(ctr: Ctr) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    assert ctr("task", "pause", task).returncode == 0
    assert _task_status(ctr, task) == "PAUSED"
    assert ctr("task", "resume", task).returncode == 0
    assert _task_status(ctr, task) == "RUNNING"


# ---- exec ----------------------------------------------------------------------------------

def test_exec_output_exit_status_and_namespaces(ctr: Ctr) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    proc = ctr("task", "exec", "--exec-id", "e1", "--cwd", "/etc", task, "sh", "-c",
               "pwd; cat /proc/1/cmdline; echo; exit 5")
    assert proc.returncode == 5, proc.stderr
    assert proc.stdout.splitlines() == ["/etc", "sleep\x001000\x00"]
    listed = ctr("task", "ps", task)
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 2  # header + the init: the exec is gone


def test_exec_as_another_user_with_a_terminal(ctr: Ctr, containerd: Containerd) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    as_user = ctr("task", "exec", "--exec-id", "u1", "--user", "1000", task, "id", "-u")
    assert as_user.returncode == 0, as_user.stderr
    assert as_user.stdout == "1000\n"
    command = ["ctr", "--address", str(containerd.socket), "--namespace", NAMESPACE, "task",
               "exec", "-t", "--fifo-dir", str(containerd.base / "fifo"), "--exec-id", "t1",
               task, "sh", "-c", "tty; exit 6"]
    returncode, output = _on_a_terminal(command)
    assert returncode == 6, output
    assert "/dev/pts/" in output


def test_exec_of_a_missing_binary_says_why(ctr: Ctr) -> None:
    task = _start_detached(ctr, "sleep", "1000")
    proc = ctr("task", "exec", "--exec-id", "e1", task, "/no/such/binary")
    assert proc.returncode == 1
    message = proc.stderr.lower()
    assert "oci runtime exec failed" in message
    assert "/no/such/binary" in message and "no such file or directory" in message
    assert _task_status(ctr, task) == "RUNNING"


# ---- metrics -------------------------------------------------------------------------------

def test_task_metrics(ctr: Ctr) -> None:
    # containerd reads the cgroup itself (the spec's cgroupsPath, /<namespace>/<id>): the
    # runtime must have put the task exactly there
    task = _start_detached(ctr, "sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); "
                                            "sleep 1000")
    proc = ctr("task", "metrics", "--format", "json", task)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    assert data["pids"]["current"] >= 1
    usage = data["memory"]["usage"]
    assert (usage["usage"] if isinstance(usage, dict) else usage) > 0
    cpu = data["cpu"]["usage"]
    assert (cpu["total"] if isinstance(cpu, dict) else data["cpu"]["usage_usec"]) > 0
    table = ctr("task", "metrics", task)
    assert table.returncode == 0, table.stderr
    assert "pids.current" in table.stdout


def test_oom_kill_is_an_event_and_exit_137(ctr: Ctr, containerd: Containerd) -> None:
    # the shim watches the task's memory cgroup itself (found from its pid): the runtime must
    # have put the task there before it ran
    with tempfile.TemporaryFile() as events:
        watcher = subprocess.Popen(["ctr", "--address", str(containerd.socket), "events"],
                                   stdin=subprocess.DEVNULL, stdout=events,
                                   stderr=subprocess.DEVNULL)
        try:
            task = _new_id("oom")
            proc = ctr("run", "--rm", "--memory-limit", str(32 << 20), IMAGE, task, "sh", "-c",
                       "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived")
            assert proc.returncode == 137, proc.stderr
            assert "survived" not in proc.stdout
            deadline = time.monotonic() + 30
            while True:
                events.seek(0)
                lines = events.read().decode(errors="replace").splitlines()
                if any(f'/tasks/exit {{"container_id":"{task}"' in line for line in lines):
                    break
                assert time.monotonic() < deadline, "no exit event"
                time.sleep(0.05)
            assert any(f'/tasks/oom {{"container_id":"{task}"}}' in line for line in lines)
        finally:
            watcher.kill()
            watcher.wait()


# ---- errors as ctr shows them --------------------------------------------------------------

def _no_leftovers(ctr: Ctr, containerd: Containerd, runtime_binary: str) -> None:
    assert ctr("task", "ls", "-q").stdout.split() == []
    listed = _runtime(runtime_binary, containerd, "list", "-q")
    assert listed.stdout.split() == []


def test_create_error_comes_from_the_runtime_log(ctr: Ctr, containerd: Containerd,
                                                 runtime_binary: str) -> None:
    # the shim reports the last error line of the runtime's --log JSON file, not its exit
    # status: "did not terminate successfully" would mean that line was missing
    proc = ctr("run", "--rm", IMAGE, _new_id(), "/no/such/binary")
    assert proc.returncode == 1
    message = proc.stderr.lower()
    assert "oci runtime create failed" in message
    assert "/no/such/binary" in message and "no such file or directory" in message
    assert "did not terminate successfully" not in message
    _no_leftovers(ctr, containerd, runtime_binary)


def test_invalid_config_error_names_the_field(ctr: Ctr, containerd: Containerd,
                                              runtime_binary: str, tmp_path: Path) -> None:
    spec = json.loads(ctr("oci", "spec").stdout)
    spec["process"]["args"] = ["true"]
    spec["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]
    config = tmp_path / "spec.json"
    config.write_text(json.dumps(spec))
    proc = ctr("run", "--rm", "--config", str(config), _new_id())
    assert proc.returncode == 1
    assert "OCI runtime create failed" in proc.stderr
    assert "RLIMIT_BOGUS" in proc.stderr
    assert "did not terminate successfully" not in proc.stderr
    if Path(runtime_binary).name == "pyrunc":
        assert 'process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"' in proc.stderr
    _no_leftovers(ctr, containerd, runtime_binary)


# ---- Kubernetes: the CRI plugin with a runtime handler whose BinaryName is the runtime ------

@pytest.fixture
def cri(containerd: Containerd, runtime_binary: str, tmp_path: Path,
        request: pytest.FixtureRequest) -> Iterator[Any]:
    """A pod sandbox on the "pyrunc" runtime handler of containerd's config.toml (host
    network unless asked), as the kubelet would ask for it; removed afterwards. Indirect
    parameters: "pid" (the pod's NamespaceMode, CONTAINER by default, as the kubelet's),
    "network" (NODE by default; POD: a network namespace made by containerd, set up by CNI's
    bridge plugin) and "privileged"."""
    options: dict[str, Any] = getattr(request, "param", {})
    try:
        from e2e import containerd_cri
    except ImportError as err:  # grpcio/protobuf: tests/e2e/install-containerd.sh
        pytest.fail(f"no CRI client ({err}): run sh tests/e2e/install.sh")
    service = containerd_cri.RuntimeService(str(containerd.socket))
    host = containerd_cri.message("NamespaceOption",
                                  network=options.get("network", containerd_cri.NODE),
                                  pid=options.get("pid", containerd_cri.CONTAINER))
    privileged = bool(options.get("privileged"))
    sandbox = containerd_cri.message(
        "PodSandboxConfig",
        metadata=containerd_cri.message("PodSandboxMetadata", name="pod", uid=_new_id("uid"),
                                        namespace="default"),
        log_directory=str(tmp_path / "pod-logs"),
        hostname="" if host.network == containerd_cri.NODE else "pod-host",
        linux=containerd_cri.message(
            "LinuxPodSandboxConfig", cgroup_parent=f"/{NAMESPACE}/pods",
            security_context=containerd_cri.message("LinuxSandboxSecurityContext",
                                                    namespace_options=host,
                                                    privileged=privileged)))
    pod = service.call("RunPodSandbox", config=sandbox, runtime_handler="pyrunc").pod_sandbox_id

    class Pod:
        id = pod
        logs = tmp_path / "pod-logs"

        @staticmethod
        def call(method: str, **fields: Any) -> Any:
            return service.call(method, **fields)

        @staticmethod
        def create(name: str, command: list[str], security: dict[str, Any] | None = None,
                   resources: Any = None, **fields: Any) -> str:
            linux = containerd_cri.message(
                "LinuxContainerConfig", security_context=containerd_cri.message(
                    "LinuxContainerSecurityContext", namespace_options=host,
                    **(security or {})))
            if resources is not None:
                linux.resources.CopyFrom(resources)
            config = containerd_cri.message(
                "ContainerConfig", metadata=containerd_cri.message("ContainerMetadata",
                                                                   name=name),
                image=containerd_cri.message("ImageSpec", image=IMAGE), command=command,
                log_path=f"{name}.log", linux=linux, **fields)
            return str(service.call("CreateContainer", pod_sandbox_id=pod, config=config,
                                    sandbox_config=sandbox).container_id)

        @staticmethod
        def message(name: str, **fields: Any) -> Any:
            return containerd_cri.message(name, **fields)

        HOST_TO_CONTAINER = containerd_cri.HOST_TO_CONTAINER

        @staticmethod
        def wait_exited(container: str, timeout: float = 60) -> Any:
            deadline = time.monotonic() + timeout
            while True:
                status = service.call("ContainerStatus", container_id=container).status
                if status.state == containerd_cri.CONTAINER_EXITED:
                    return status
                assert time.monotonic() < deadline, f"container {container}: {status}"
                time.sleep(0.05)

    try:
        yield Pod
    finally:
        try:
            service.call("StopPodSandbox", pod_sandbox_id=pod)
            service.call("RemovePodSandbox", pod_sandbox_id=pod)
        finally:
            service.close()


def _cri_state(runtime_binary: str, containerd: Containerd, container: str
               ) -> subprocess.CompletedProcess[str]:
    root = containerd.base / "runtime-root" / "k8s.io"
    return subprocess.run([runtime_binary, "--root", str(root), "state", container],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_cri_pod_and_container_run_on_the_runtime_handler(cri: Any, containerd: Containerd,
                                                          runtime_binary: str) -> None:
    status = cri.call("PodSandboxStatus", pod_sandbox_id=cri.id).status
    assert (status.runtime_handler, status.state) == ("pyrunc", 0)  # SANDBOX_READY
    # BinaryName: the runtime under test holds the sandbox, on the root of the options
    sandbox_state = _cri_state(runtime_binary, containerd, cri.id)
    assert sandbox_state.returncode == 0, sandbox_state.stderr
    assert json.loads(sandbox_state.stdout)["status"] == "running"

    # a workingDir the image lacks is created, as the kubelet's users expect
    container = cri.create("app", ["sh", "-c", "echo hello $GREETING; pwd; exec sleep 1000"],
                           working_dir="/srv/app",
                           envs=[cri.message("KeyValue", key="GREETING", value="pod")])
    cri.call("StartContainer", container_id=container)
    state = _cri_state(runtime_binary, containerd, container)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["status"] == "running"

    # ctr sees the same container: its runtime options are the config.toml handler's, and
    # an exec through ctr goes through them (BinaryName) too
    info = json.loads(containerd.ctr("container", "info", container, namespace="k8s.io").stdout)
    assert info["Runtime"]["Name"] == "io.containerd.runc.v2"
    options = info["Runtime"]["Options"]  # runc.v1.Options, protobuf: BinaryName is field 6
    assert options["type_url"] == "containerd.runc.v1.Options"
    binary, length, size = runtime_binary.encode(), b"", len(runtime_binary.encode())
    while True:  # the length as a protobuf varint
        length += bytes([size & 0x7F | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            break
    assert bytes([6 << 3 | 2]) + length + binary in base64.b64decode(options["value"])
    via_ctr = containerd.ctr("task", "exec", "--exec-id", "ctr1", "--fifo-dir",
                             str(containerd.base / "fifo"), container, "sh", "-c",
                             "echo $GREETING; exit 4", namespace="k8s.io")
    assert (via_ctr.returncode, via_ctr.stdout) == (4, "pod\n"), via_ctr.stderr

    done = cri.call("ExecSync", container_id=container, timeout=60,
                    cmd=["sh", "-c", "cat /proc/1/cmdline; echo; echo oops >&2; exit 3"])
    assert (done.stdout, done.stderr, done.exit_code) == (b"sleep\x001000\x00\n", b"oops\n", 3)

    log = cri.logs / "app.log"
    deadline = time.monotonic() + 30
    while len(log.read_text().splitlines()) < 2 if log.exists() else True:
        assert time.monotonic() < deadline, "no container output in the CRI log"
        time.sleep(0.05)
    # CRI log lines: "<time> stdout F <text>"
    assert [line.split(" ", 3)[3] for line in log.read_text().splitlines()] == [
        "hello pod", "/srv/app"]

    cri.call("StopContainer", container_id=container, timeout=0)
    assert cri.wait_exited(container).exit_code == 137
    cri.call("RemoveContainer", container_id=container)
    gone = _cri_state(runtime_binary, containerd, container)
    assert gone.returncode == 1 and "does not exist" in gone.stderr


def test_cri_container_exit_code(cri: Any) -> None:
    container = cri.create("quits", ["sh", "-c", "exit 3"])
    cri.call("StartContainer", container_id=container)
    status = cri.wait_exited(container)
    assert (status.exit_code, status.reason) == (3, "Error")
    cri.call("RemoveContainer", container_id=container)


def test_cri_start_error_is_readable(cri: Any, containerd: Containerd,
                                     runtime_binary: str) -> None:
    import grpc

    container = cri.create("broken", ["/no/such/binary"])
    with pytest.raises(grpc.RpcError) as failed:
        cri.call("StartContainer", container_id=container)
    details = str(failed.value.details()).lower()
    assert "oci runtime create failed" in details
    assert "/no/such/binary" in details and "no such file or directory" in details
    assert "did not terminate successfully" not in details
    cri.call("RemoveContainer", container_id=container)
    assert _cri_state(runtime_binary, containerd, container).returncode == 1


def test_cri_host_to_container_mount_propagation(cri: Any, tmp_path: Path) -> None:
    # a HostToContainer volume: containerd makes the root "rslave" (a value outside the
    # official schema's enum, which runc takes); a mount made on the host afterwards shows up
    # in the container
    volume = tmp_path / "volume"
    volume.mkdir()
    mounted: list[Path] = []
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(volume)],
                       check=True)
        mounted.append(volume)
        subprocess.run(["mount", "--make-shared", str(volume)], check=True)
        container = cri.create("watcher", ["sleep", "1000"], mounts=[cri.message(
            "Mount", container_path="/volume", host_path=str(volume),
            propagation=cri.HOST_TO_CONTAINER)])
        cri.call("StartContainer", container_id=container)
        (volume / "later").mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "later", str(volume / "later")],
                       check=True)
        mounted.append(volume / "later")
        seen = cri.call("ExecSync", container_id=container, timeout=60,
                        cmd=["sh", "-c", "grep ' /volume/later ' /proc/self/mountinfo"])
        assert seen.exit_code == 0, seen.stderr
        assert b" later " in seen.stdout or b" - tmpfs later " in seen.stdout
        cri.call("StopContainer", container_id=container, timeout=0)
        cri.wait_exited(container)
        cri.call("RemoveContainer", container_id=container)
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], check=False)


def test_cri_security_context_resources_stats_and_update(cri: Any) -> None:
    # what a restricted pod asks for: a user, a read-only root, no capabilities but one,
    # no_new_privs, containerd's default seccomp profile; and a memory limit, later updated
    # (the shim calls the runtime's `update`)
    mib = 1 << 20
    container = cri.create(
        "locked", ["sleep", "1000"],
        security={"run_as_user": cri.message("Int64Value", value=1000),
                  "run_as_group": cri.message("Int64Value", value=1000),
                  "readonly_rootfs": True, "no_new_privs": True,
                  "capabilities": cri.message("Capability", drop_capabilities=["ALL"],
                                              add_capabilities=["NET_BIND_SERVICE"]),
                  "seccomp": cri.message("SecurityProfile", profile_type=0)},
        resources=cri.message("LinuxContainerResources", memory_limit_in_bytes=64 * mib,
                              cpu_period=100000, cpu_quota=50000))
    cri.call("StartContainer", container_id=container)
    probe = cri.call("ExecSync", container_id=container, timeout=60, cmd=[
        "sh", "-c", "id -u; id -g; grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/1/status; "
                    "touch /x 2>/dev/null && echo writable || echo read-only"])
    assert probe.exit_code == 0, probe.stderr
    assert probe.stdout.decode().split() == [
        "1000", "1000", "CapBnd:", "0000000000000400", "NoNewPrivs:", "1", "Seccomp:", "2",
        "read-only"]

    memory = Path(f"/sys/fs/cgroup/memory/{NAMESPACE}/pods/{container}")
    if memory.is_dir():  # v1 (this project's VM); containerd reads the same files for stats
        assert (memory / "memory.limit_in_bytes").read_text().strip() == str(64 * mib)
    stats = cri.call("ContainerStats", container_id=container).stats
    assert stats.memory.working_set_bytes.value > 0 or stats.memory.usage_bytes.value > 0
    assert stats.cpu.timestamp > 0

    cri.call("UpdateContainerResources", container_id=container,
             linux=cri.message("LinuxContainerResources", memory_limit_in_bytes=96 * mib,
                               cpu_period=100000, cpu_quota=50000))
    if memory.is_dir():
        assert (memory / "memory.limit_in_bytes").read_text().strip() == str(96 * mib)
    cri.call("StopContainer", container_id=container, timeout=0)
    cri.wait_exited(container)
    cri.call("RemoveContainer", container_id=container)


def test_cri_oom_killed_reason(cri: Any) -> None:
    container = cri.create(
        "hog", ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"],
        resources=cri.message("LinuxContainerResources", memory_limit_in_bytes=32 << 20))
    cri.call("StartContainer", container_id=container)
    status = cri.wait_exited(container)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")
    cri.call("RemoveContainer", container_id=container)


@pytest.mark.parametrize("cri", [{"pid": 0}], indirect=True)  # shareProcessNamespace: true
def test_cri_shared_pid_namespace(cri: Any) -> None:
    # the container joins the sandbox's pid namespace by path (/proc/<pause>/ns/pid)
    container = cri.create("peer", ["sleep", "1000"])
    cri.call("StartContainer", container_id=container)
    seen = cri.call("ExecSync", container_id=container, timeout=60,
                    cmd=["sh", "-c", "cat /proc/1/cmdline; echo"])
    assert seen.exit_code == 0, seen.stderr
    assert seen.stdout == b"sleep\x002147483647\x00\n"  # the sandbox's process is pid 1
    cri.call("StopContainer", container_id=container, timeout=0)
    cri.wait_exited(container)
    cri.call("RemoveContainer", container_id=container)


@pytest.mark.parametrize("cri", [{"privileged": True}], indirect=True)
def test_cri_privileged_container(cri: Any) -> None:
    container = cri.create("admin", ["sleep", "1000"], security={"privileged": True})
    cri.call("StartContainer", container_id=container)
    seen = cri.call("ExecSync", container_id=container, timeout=60, cmd=[
        "sh", "-c", "grep CapEff /proc/1/status; grep Seccomp: /proc/1/status; "
                    "test -c /dev/kmsg && echo host-devices; "
                    "mount -o remount,rw /sys && echo sys-writable"])
    assert seen.exit_code == 0, seen.stderr
    out = seen.stdout.decode().split()
    # every capability the host has, no seccomp, the host's devices, a writable /sys
    host_caps = next(line.split()[1] for line in Path("/proc/self/status").read_text()
                     .splitlines() if line.startswith("CapBnd:"))
    assert out == ["CapEff:", host_caps, "Seccomp:", "0", "host-devices", "sys-writable"]
    cri.call("StopContainer", container_id=container, timeout=0)
    cri.wait_exited(container)
    cri.call("RemoveContainer", container_id=container)


@pytest.mark.parametrize("cri", [{"network": 0}], indirect=True)  # a pod network (CNI)
def test_cri_pod_network_namespace(cri: Any) -> None:
    # containerd makes the pod's network namespace (a bind mount under /var/run/netns) and
    # CNI gives it an address; the sandbox and its containers join it by path
    status = cri.call("PodSandboxStatus", pod_sandbox_id=cri.id).status
    assert status.network.ip.startswith(SUBNET.rsplit(".", 1)[0] + "."), status
    container = cri.create("net", ["sleep", "1000"])
    cri.call("StartContainer", container_id=container)
    seen = cri.call("ExecSync", container_id=container, timeout=60, cmd=[
        "sh", "-c", "ip -o -4 addr show eth0; hostname; "
                    "readlink /proc/1/ns/net; readlink /proc/self/ns/net"])
    assert seen.exit_code == 0, seen.stderr
    lines = seen.stdout.decode().splitlines()
    assert f"inet {status.network.ip}/" in lines[0]
    assert lines[1] == "pod-host"
    assert lines[2] == lines[3]  # the exec'd process is in the container's network namespace
    cri.call("StopContainer", container_id=container, timeout=0)
    cri.wait_exited(container)
    cri.call("RemoveContainer", container_id=container)


def test_cri_container_with_a_terminal(cri: Any) -> None:
    # `tty: true` in a pod spec: the shim hands the runtime a --console-socket and logs the pty
    container = cri.create("term", ["sh", "-c", "tty; exit 5"], tty=True, stdin=True)
    cri.call("StartContainer", container_id=container)
    status = cri.wait_exited(container)
    assert status.exit_code == 5
    log = cri.logs / "term.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text().strip()):
        assert time.monotonic() < deadline, "no container output in the CRI log"
        time.sleep(0.05)
    lines = log.read_text().splitlines()
    assert [line.split(" ", 3)[3].rstrip("\r") for line in lines] == ["/dev/pts/0"]
    cri.call("RemoveContainer", container_id=container)
