"""A private podman world for the e2e suite: its own containers.conf, storage.conf, storage
and run roots, network config and tmp dir under one temp dir, so the host's podman state
(/var/lib/containers, /run/containers, /etc/containers/containers.conf) is never read or
touched. The runtime podman drives is the one given (pyrunc, or runc with --runtime runc)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import secrets
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers import ROOTFS, run_through_files

IMAGE = "localhost/pyrunc-busybox:e2e"
NETWORK = "pyrunc_e2e"


def containers_conf(runtime: str, tmp_dir: Path, name: str | None = None) -> str:
    """The containers.conf sections every podman world of the suites shares: ``runtime`` (a
    path) as podman's runtime, called ``name`` (its file's name by default), and nothing
    podman cannot do here."""
    name = name or Path(runtime).name
    return f"""\
[containers]
# this VM lacks CAP_SYS_RESOURCE: podman's default ulimits cannot be raised by any runtime
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{tmp_dir}"
runtime = "{name}"
# podman passes --log-format json to these and reads the reason of a failure from that log
runtime_supports_json = ["crun", "runc", "{name}"]

[engine.runtimes]
{name} = ["{runtime}"]
"""


def storage_conf(driver: str, base: Path) -> str:
    """A storage.conf keeping images and containers under ``base``."""
    return f"""\
[storage]
driver = "{driver}"
graphroot = "{base / 'graphroot'}"
runroot = "{base / 'runroot'}"
"""


def _free_subnet() -> str:
    """A /24 in 10.231.0.0/16 that no host route covers, for the suite's own bridge."""
    used: set[tuple[int, int, int]] = set()
    with open("/proc/net/route") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            dest = int(fields[1], 16)  # little-endian: first octet in the low byte
            used.add((dest & 0xFF, (dest >> 8) & 0xFF, (dest >> 16) & 0xFF))
    for third in range(os.getpid() % 200, 256):
        if (10, 231, third) not in used:
            return f"10.231.{third}.0/24"
    raise RuntimeError("no free 10.231.x.0/24 subnet for the podman e2e network")


class Podman:
    """Runs podman in the private world. Output goes through temp files, never pipes: a
    detached container's conmon must not be able to make a call wait for it."""

    def __init__(self, base: Path, runtime: str) -> None:
        self.base = base
        self.runtime = runtime
        self.gateway = ""
        for sub in ("graphroot", "runroot", "tmp", "networks"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "containers.conf").write_text(containers_conf(runtime, base / "tmp") + f"""
[network]
network_backend = "netavark"
network_config_dir = "{base / 'networks'}"
default_network = "{NETWORK}"
""")
        (base / "storage.conf").write_text(storage_conf("overlay", base))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CONTAINERS_", "REGISTRY_AUTH_FILE"))}
        self.env.update(CONTAINERS_CONF=str(base / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(base / "storage.conf"),
                        TMPDIR=str(base / "tmp"))

    def write_network(self) -> None:
        """The default network, a bridge of the suite's own (name and subnet), written as a
        netavark network file: podman 4.3 cannot name the bridge on `network create`."""
        subnet = _free_subnet()
        self.gateway = subnet.replace(".0/24", ".1")
        config = {
            "name": NETWORK, "id": secrets.token_hex(32), "driver": "bridge",
            "network_interface": f"pyrunce2e{os.getpid() % 100000}",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "subnets": [{"subnet": subnet, "gateway": self.gateway}],
            "ipv6_enabled": False, "internal": False, "dns_enabled": False,
            "ipam_options": {"driver": "host-local"},
        }
        (self.base / "networks" / f"{NETWORK}.json").write_text(json.dumps(config, indent=1))

    def argv(self, *args: str) -> list[str]:
        return ["podman", *args]

    def __call__(self, *args: str, timeout: float = 120, stdin: Any = subprocess.DEVNULL
                 ) -> subprocess.CompletedProcess[str]:
        # in the world's dir: conmon 2.1.6 writes an "oom" file into its cwd
        return run_through_files(self.argv(*args), env=self.env, stdin=stdin,
                                 timeout=timeout, cwd=self.base)

    def ok(self, *args: str, timeout: float = 120) -> str:
        """Run podman, which must succeed; its stdout."""
        proc = self(*args, timeout=timeout)
        assert proc.returncode == 0, (f"podman {' '.join(args)} -> {proc.returncode}\n"
                                      f"{proc.stdout}{proc.stderr}")
        return proc.stdout

    def inspect(self, name: str, template: str) -> str:
        return self.ok("inspect", "--format", template, name).strip()

    def pty_session(self, args: list[str], send: bytes, expect_prompt: bytes = b"# ",
                    rows: int = 33, cols: int = 101, deadline: float = 60
                    ) -> tuple[str, int]:
        """Run podman on a pty of the given size (as a user's terminal), send ``send`` once
        the shell prompts, and read until podman exits or the deadline passes (then kill
        it). Returns everything read and podman's exit status."""
        pid, master = pty.fork()
        if pid == 0:  # the child: podman on the pty's slave side
            try:
                os.chdir(self.base)
                os.execvpe("podman", self.argv(*args), self.env)
            finally:
                os._exit(127)
        try:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            output = b""
            sent = False
            end = time.monotonic() + deadline
            while time.monotonic() < end:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        data = os.read(master, 4096)
                    except OSError:  # EIO: the slave side is closed, podman is gone
                        break
                    if not data:
                        break
                    output += data
                if not sent and expect_prompt in output:
                    os.write(master, send)
                    sent = True
            else:
                os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
            return output.decode(errors="replace"), os.waitstatus_to_exitcode(status)
        finally:
            os.close(master)

    def setup(self) -> None:
        self.write_network()
        import_image(self, IMAGE)

    def teardown(self) -> list[str]:
        """Remove every container, pod, image and mount of this world; returns what could
        not be cleaned up (so the caller can report it)."""
        problems = remove_all(self, pods=True)
        # overlay keeps its home bind-mounted on itself; anything else is a leftover
        mounts = _mounts_under(self.base)
        for target in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        left = _mounts_under(self.base)
        if left:
            problems.append(f"mounts left under {self.base}: {left}")
        shutil.rmtree(self.base, ignore_errors=True)
        return problems


PodmanCall = Callable[..., "subprocess.CompletedProcess[str]"]


def import_image(podman: PodmanCall, image: str) -> None:
    """``image``: the project's busybox rootfs, imported as a tar stream on stdin."""
    with tempfile.TemporaryFile() as tar:
        subprocess.run(["tar", "-C", str(ROOTFS), "-c", "."], stdout=tar, check=True)
        tar.seek(0)
        proc = podman("import", "--change", 'CMD ["/bin/sh"]', "-", image, stdin=tar,
                      timeout=300)
    assert proc.returncode == 0, f"podman import failed: {proc.stderr}"


def remove_all(podman: PodmanCall, *, pods: bool) -> list[str]:
    """Remove every container (and pod) and image of a podman world; what failed."""
    commands = [("rm", "--all", "--force", "--time", "0"), ("rmi", "--all", "--force")]
    if pods:  # before their containers
        commands.insert(0, ("pod", "rm", "--all", "--force", "--time", "0"))
    problems = []
    for args in commands:
        proc = podman(*args, timeout=300)
        if proc.returncode != 0:
            problems.append(f"podman {' '.join(args)}: {proc.stderr.strip()}")
    return problems


def _mounts_under(base: Path) -> list[str]:
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target == str(base) or target.startswith(f"{base}/"):
                found.append(target)
    return found


def cgroup_dirs(name: str) -> set[str]:
    """Every cgroup directory named ``name`` at the top of a hierarchy (v1 or hybrid:
    /sys/fs/cgroup/<controller>/<name>; v2: /sys/fs/cgroup/<name>), and all below it."""
    found: set[str] = set()
    tops = [os.path.join("/sys/fs/cgroup", name)] + [
        os.path.join("/sys/fs/cgroup", hierarchy, name)
        for hierarchy in os.listdir("/sys/fs/cgroup")]
    for top in tops:
        for root, dirs, _ in os.walk(top):
            found.update(os.path.join(root, d) for d in dirs)
        if os.path.isdir(top):
            found.add(top)
    return found


def remove_cgroups(paths: set[str]) -> list[str]:
    """rmdir the given (now empty) cgroups, deepest first; returns those that stay."""
    stay = []
    for path in sorted(paths, key=lambda p: p.count("/"), reverse=True):
        try:
            os.rmdir(path)
        except FileNotFoundError:
            continue
        except OSError:
            stay.append(path)
    return stay
