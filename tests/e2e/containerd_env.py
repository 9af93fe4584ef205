"""A private containerd for the e2e suite: an OCI image archive of bundles/busybox, the daemon
with its own root, state and sockets under one directory, and `ctr` pointed at it.

Nothing here touches the host's containerd (/run/containerd, /var/lib/containerd): every path
is under the directory the suite gives, so it runs beside another containerd, or none."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from helpers import run_through_files

IMAGE = "docker.io/pyrunc/busybox:e2e"
# the pod sandbox ("pause") image of the CRI plugin: the same rootfs, sleeping
PAUSE_IMAGE = "docker.io/pyrunc/pause:e2e"
IMAGES = {IMAGE: ["sh"], PAUSE_IMAGE: ["sleep", "2147483647"]}
# the namespace is also the parent cgroup of its tasks (/<namespace>/<id>): one per run, so
# that two runs side by side never share (or remove) each other's
NAMESPACE = f"pyrunc-e2e-{os.getpid()}"


def _blob(blobs: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(rootfs: Path) -> bytes:
    """The rootfs as one uncompressed layer tar, owned by root, with stable metadata."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(rootfs.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(rootfs)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def oci_archive(rootfs: Path, dest: Path, images: dict[str, list[str]]) -> Path:
    """Write an OCI image layout tar for ``ctr image import``: ``rootfs`` as one layer, shared
    by one image per entry of ``images`` (name -> its default command); oci-layout,
    index.json, and the layer, config and manifest blobs."""
    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp)
        blobs = layout / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        layer = _layer(rootfs)
        layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(blobs, layer)}
        manifests = []
        for name, cmd in images.items():
            config = {
                "architecture": "amd64", "os": "linux",
                "config": {"Cmd": cmd, "WorkingDir": "/",
                           "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
                "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
            }
            config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                           **_blob(blobs, json.dumps(config).encode())}
            manifest = {"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": config_desc, "layers": [layer_desc]}
            manifests.append({
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **_blob(blobs, json.dumps(manifest).encode()),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": name,
                                "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]},
            })
        (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        (layout / "index.json").write_text(json.dumps(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": manifests}))
        with tarfile.open(dest, "w") as tar:
            for entry in ("oci-layout", "index.json", "blobs"):
                tar.add(layout / entry, arcname=entry)
    return dest


def config_toml(base: Path, runtime_binary: str, cri: bool = False,
                sandbox_image: str = PAUSE_IMAGE) -> str:
    """containerd's config: everything under ``base``. The CRI plugin (when on) gets a runtime
    handler "pyrunc" of type io.containerd.runc.v2 whose BinaryName is the runtime under test
    (docs/kubernetes.md shows the same section), beside the default "runc"."""
    disabled = "" if cri else '"io.containerd.grpc.v1.cri", '
    return f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = [{disabled}"io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{base}/containerd.sock"

[ttrpc]
  address = "{base}/containerd.sock.ttrpc"

[debug]
  address = "{base}/debug.sock"
  level = "debug"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # the pod sandbox asks for oom_score_adj -998: not below containerd's own, as a process
  # without CAP_SYS_RESOURCE (this VM) may not lower it
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "{base}/runc-root"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pyrunc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pyrunc.options]
        BinaryName = "{runtime_binary}"
        Root = "{base}/runtime-root"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{base}/cni/conf"
"""


# Debian's containernetworking-plugins (podman's dependency, and this suite's)
CNI_BIN = "/usr/lib/cni"
BRIDGE = f"pye2e{os.getpid() % 100000}"  # an interface name: at most 15 characters
SUBNET = f"10.199.{os.getpid() % 250}.0/24"


def cni_conflist(base: Path) -> str:
    """A bridge network for pods (no masquerade, no port maps: nothing in iptables), with
    host-local's lease files under ``base``, not /var/lib/cni."""
    return json.dumps({
        "cniVersion": "1.0.0", "name": BRIDGE,
        "plugins": [{"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False,
                     "ipam": {"type": "host-local", "dataDir": str(base / "cni" / "ipam"),
                              "ranges": [[{"subnet": SUBNET}]]}}],
    })


class Containerd:
    """A containerd daemon under ``base`` and `ctr` calls against it."""

    def __init__(self, base: Path, runtime_binary: str, cri: bool = False) -> None:
        self.base = base
        self.runtime_binary = runtime_binary
        self.cri = cri
        self.socket = base / "containerd.sock"
        self.log_path = base / "containerd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        config = self.base / "config.toml"
        config.write_text(config_toml(self.base, self.runtime_binary, cri=self.cri))
        if self.cri:
            (self.base / "cni" / "conf").mkdir(parents=True, exist_ok=True)
            (self.base / "cni" / "conf" / "10-pyrunc-e2e.conflist").write_text(
                cni_conflist(self.base))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["containerd", "--config", str(config)],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited ({self.proc.returncode}):\n"
                                   + self.log_tail())
            if self.socket.exists() and self.ctr("version").returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("containerd did not answer on its socket:\n"
                                   + self.log_tail())
            time.sleep(0.1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def ctr(self, *args: str, namespace: str = NAMESPACE, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
        """Run ctr; its output goes through files (a task's stdio may outlive the call)."""
        return run_through_files(["ctr", "--address", str(self.socket), "--namespace",
                                  namespace, *args], stdin=subprocess.DEVNULL,
                                 timeout=timeout)

    def shims(self) -> list[int]:
        """Pids of the shims this daemon started (their command line names its socket)."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (cmdline and cmdline[0].endswith(b"containerd-shim-runc-v2")
                    and str(self.socket).encode() in cmdline):
                found.append(int(entry))
        return found

    def clean(self, namespaces: tuple[str, ...] = (NAMESPACE,)) -> None:
        """Kill and delete every task, then remove every container, in ``namespaces``."""
        for namespace in namespaces:
            tasks = self.ctr("task", "ls", "-q", namespace=namespace).stdout.split()
            for task in tasks:
                self.ctr("task", "kill", "-s", "SIGKILL", "--all", task, namespace=namespace)
                self.ctr("task", "delete", "-f", task, namespace=namespace)
            for container in self.ctr("container", "ls", "-q",
                                      namespace=namespace).stdout.split():
                self.ctr("container", "delete", container, namespace=namespace)

    def stop(self) -> None:
        """Stop the daemon and any shim it left, then unmount whatever is left under base."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.shims():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.unmount_all()
        if self.cri:  # the bridge CNI made for pods, if any was run
            subprocess.run(["ip", "link", "delete", BRIDGE], stderr=subprocess.DEVNULL,
                           check=False)

    def unmount_all(self) -> None:
        prefix = str(self.base) + "/"
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
        for point in sorted((p for p in points if p.startswith(prefix)), key=len,
                            reverse=True):
            subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL, check=False)
