"""Rootless podman (run by a throwaway user, with newuidmap/newgidmap and its own
/etc/subuid and /etc/subgid ranges) driving the runtime: podman runs the runtime as root of
its own user namespace, which maps the user's uid and its subordinate range.

Podman's world is private: containers.conf, storage (vfs) and run roots, tmp dir and
$XDG_RUNTIME_DIR in the user's temp dir; cgroupfs and a file events log (no systemd here).
The network is `none` or `host`: the default one (slirp4netns) needs /dev/net/tun, which this
VM keeps root-only. `pytest --runtime runc` runs the same tests against runc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.podman_world import containers_conf, import_image, remove_all, storage_conf
from helpers import pyrunc_cmd
from rootless_user import ThrowawayUser, proc_status

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("podman", "conmon", "newuidmap", "newgidmap",
                                            "setpriv", "useradd")),
    reason="needs podman, conmon, newuidmap/newgidmap (uidmap), setpriv and useradd")

IMAGE = "localhost/pyrunc-busybox:rootless"


class RootlessPodman(ThrowawayUser):
    def __init__(self, runtime: str) -> None:
        super().__init__("pyrlpod")
        self.runtime = self._runtime_command(runtime)
        for sub in ("graphroot", "runroot", "tmp", "home"):
            self.mkdir(sub)
        conf = self.work / "containers.conf"
        conf.write_text(containers_conf(self.runtime, self.work / "tmp",
                                        name=Path(runtime).name))
        storage = self.work / "storage.conf"
        storage.write_text(storage_conf("vfs", self.work))
        self.podman_env = self.env(CONTAINERS_CONF=str(conf),
                                   CONTAINERS_STORAGE_CONF=str(storage),
                                   TMPDIR=str(self.work / "tmp"), HOME=str(self.work / "home"))

    def _runtime_command(self, runtime: str) -> str:
        """The runtime as podman's user namespace can exec it. pyrunc's console script runs
        the venv's interpreter, which may live where that namespace cannot reach (a pyenv
        under root's 0700 home): then a wrapper starts the system's python of the same
        version on the venv's site-packages."""
        if runtime != pyrunc_cmd()[0]:
            return runtime
        python = os.path.realpath(sys.executable)
        reachable = self.run(["sh", "-c", 'test -x "$1"', "sh", python]).returncode == 0
        if reachable:
            return runtime
        import pyrunc

        site = Path(pyrunc.__file__).resolve().parent.parent
        system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        if not os.access(system, os.X_OK):
            pytest.fail(f"{python} is out of the user's reach and there is no {system}")
        wrapper = self.work / "pyrunc"
        wrapper.write_text(
            "#!/bin/sh\n"
            f"exec {system} -s -c 'import sys; sys.path.insert(0, \"{site}\"); "
            "from pyrunc.__main__ import main; sys.argv[0] = \"pyrunc\"; sys.exit(main())' "
            '"$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)

    def __call__(self, *args: str, timeout: float = 120,
                 stdin: object = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
        return self.run(["podman", *args], env=self.podman_env, timeout=timeout, stdin=stdin)

    def ok(self, *args: str) -> str:
        proc = self(*args)
        assert proc.returncode == 0, (f"podman {' '.join(args)} -> {proc.returncode}\n"
                                      f"{proc.stdout}{proc.stderr}")
        return proc.stdout

    def setup(self) -> None:
        import_image(self, IMAGE)

    def teardown(self) -> list[str]:
        problems = remove_all(self, pods=False)
        # rootless podman keeps a pause process holding its user namespace: by its pid file
        pause = self.work / "tmp" / "pause.pid"
        if pause.exists():
            try:
                os.kill(int(pause.read_text()), 9)
            except (ValueError, ProcessLookupError):
                pass
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [f"{pid}: {proc_status(pid).get('Name')}" for pid in self.processes()]
        if left:
            problems.append(f"processes of {self.name} left: {left}")
        return problems


@pytest.fixture(scope="module")
def podman(runtime_binary: str) -> Iterator[RootlessPodman]:
    world = RootlessPodman(runtime_binary)
    problems: list[str] = []
    try:
        world.setup()
        yield world
    finally:
        try:
            problems = world.teardown()
        finally:
            world.remove()
    assert not problems, "\n".join(problems)


@pytest.fixture
def name(podman: RootlessPodman) -> Iterator[str]:
    made = f"rl-{os.getpid()}-{time.monotonic_ns() % 1000000}"
    yield made
    podman("rm", "--force", "--time", "0", made)


def test_podman_is_rootless_with_this_runtime(podman: RootlessPodman) -> None:
    info = podman.ok("info", "--format", "{{.Host.Security.Rootless}} {{.Host.OCIRuntime.Path}}")
    assert info.split() == ["true", podman.runtime]


def test_run_maps_root_to_the_user_and_its_range(podman: RootlessPodman) -> None:
    proc = podman("run", "--rm", "--network", "none", IMAGE,
                  "sh", "-c", "id -u; cat /proc/self/uid_map; exit 3")
    assert proc.returncode == 3, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert lines == [["0"], ["0", str(podman.uid), "1"],
                     ["1", str(podman.subid("uid")), "65536"]]
    assert podman.ok("ps", "--all", "--quiet") == ""


def test_detached_exec_stop(podman: RootlessPodman, name: str) -> None:
    podman.ok("run", "--detach", "--network", "none", "--name", name, IMAGE, "sleep", "1000")
    pid = int(podman.ok("inspect", "--format", "{{.State.Pid}}", name))
    # from the host: the container's init is the user's uid (podman's root)
    assert proc_status(pid)["Uid"].split() == [str(podman.uid)] * 4
    assert podman.ok("exec", name, "sh", "-c", "id -u; cat /proc/1/cmdline"
                     ) == "0\nsleep\x001000\x00"
    top = podman.ok("top", name, "user", "args")
    assert "sleep 1000" in top
    podman.ok("stop", "--time", "1", name)
    assert podman.ok("inspect", "--format", "{{.State.Status}}", name).strip() == "exited"
    podman.ok("rm", name)
    assert not Path(f"/proc/{pid}").exists() or proc_status(pid)["State"].startswith("Z")


def test_user_and_groups_from_the_subordinate_range(podman: RootlessPodman,
                                                    name: str) -> None:
    podman.ok("run", "--detach", "--network", "none", "--name", name, "--user", "100:100",
              "--group-add", "5", IMAGE, "sleep", "1000")
    pid = int(podman.ok("inspect", "--format", "{{.State.Pid}}", name))
    status = proc_status(pid)
    assert status["Uid"].split() == [str(podman.subid("uid") + 99)] * 4
    assert status["Gid"].split() == [str(podman.subid("gid") + 99)] * 4
    assert sorted(status["Groups"].split()) == sorted(
        [str(podman.subid("gid") + 4), str(podman.subid("gid") + 99)])
    assert podman.ok("exec", name, "id", "-u") == "100\n"


def test_userns_keep_id(podman: RootlessPodman) -> None:
    """A user namespace of the container's own inside podman's: the runtime writes its maps
    as root of podman's namespace."""
    out = podman.ok("run", "--rm", "--network", "none", "--userns", "keep-id", IMAGE,
                    "sh", "-c", "id -u; id -g")
    assert out.split() == [str(podman.uid), str(podman.gid)]


def test_host_network_binds_sysfs(podman: RootlessPodman) -> None:
    """No network namespace of its own: sysfs cannot be mounted in a user namespace, the
    host's is bound read-only instead."""
    out = podman.ok("run", "--rm", "--network", "host", IMAGE,
                    "sh", "-c", "ls /sys/class/net; touch /sys/x 2>&1 || echo read-only")
    assert "lo" in out.split()
    assert out.strip().endswith("read-only")


def test_limits_are_ignored_on_cgroup_v1(podman: RootlessPodman) -> None:
    """Rootless podman on cgroup v1 drops resource limits (it says so) and the container
    still runs: the runtime gets no cgroup to create."""
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("a cgroup v2 host: rootless podman would ask for a delegated cgroup")
    proc = podman("run", "--rm", "--network", "none", "--pids-limit", "50", IMAGE, "echo", "ran")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ran\n"
    assert "not supported and ignored on cgroups V1 rootless" in proc.stderr
