"""Each part of a config, checked from inside a real container (issue: containers for real)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import Runtime, busybox_config, pyrunc_cmd, write_bundle

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_in(runtime: Runtime, tmp_path: Path) -> Run:
    """Run a shell script in a container built from busybox_config, changed by ``edit``."""
    counter = iter(range(1000))

    def run(script: str, edit: Callable[[dict[str, Any]], None] | None = None,
            ok: bool = True, args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        config = busybox_config(["sh", "-c", script])
        if edit:
            edit(config)
        bundle = write_bundle(tmp_path / f"b{next(counter)}", config)
        proc = runtime("run", *args, "-b", str(bundle), f"c{next(counter)}")
        if ok:
            assert proc.returncode == 0, proc.stderr + proc.stdout
        return proc

    return run


def host_ns(kind: str) -> str:
    return os.readlink(f"/proc/self/ns/{kind}")


# ---- namespaces ------------------------------------------------------------------------

@pytest.mark.parametrize("kind,proc_name", [("pid", "pid"), ("network", "net"), ("ipc", "ipc"),
                                            ("uts", "uts"), ("mount", "mnt"),
                                            ("cgroup", "cgroup")])
def test_new_namespaces(run_in: Run, kind: str, proc_name: str) -> None:
    out = run_in(f"readlink /proc/self/ns/{proc_name}").stdout.strip()
    assert out and out != host_ns(proc_name)


def test_time_namespace_offsets(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    out = run_in("cat /proc/uptime", edit).stdout.split()[0]
    assert float(out) > 86400 * 365
    assert float(Path("/proc/uptime").read_text().split()[0]) < 86400 * 365


def test_namespace_left_out_is_shared_with_the_host(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "ipc"]
    assert run_in("readlink /proc/self/ns/ipc", edit).stdout.strip() == host_ns("ipc")


def test_join_namespaces_by_path(runtime: Runtime, make_bundle: Callable[..., Path],
                                 run_in: Run) -> None:
    assert runtime("run", "-d", "-b", str(make_bundle(["sleep", "100"])), "pod").returncode == 0
    pid = runtime.state("pod")["pid"]

    def edit(c: dict[str, Any]) -> None:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] in ("network", "ipc", "uts"):
                ns["path"] = f"/proc/{pid}/ns/{'net' if ns['type'] == 'network' else ns['type']}"
        del c["hostname"]
    out = run_in("for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname",
                 edit).stdout.split()
    assert out[:3] == [os.readlink(f"/proc/{pid}/ns/{n}") for n in ("net", "ipc", "uts")]
    assert out[3] != os.readlink(f"/proc/{pid}/ns/pid")
    assert out[4] == "busybox"  # the pod's hostname


def test_bad_namespace_path_fails_cleanly(run_in: Run, runtime: Runtime) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"][1]["path"] = "/no/such/ns"
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert "network namespace path /no/such/ns" in proc.stderr
    assert runtime.ids() == []


def test_user_namespace_mappings(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["root"]["readonly"] = False
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
    out = run_in("cat /proc/self/uid_map /proc/self/gid_map; id -u", edit).stdout.split()
    assert out == ["0", "100000", "65536", "0", "100000", "65536", "0"]


def test_loopback_is_up(run_in: Run) -> None:
    assert run_in("cat /sys/class/net/lo/flags").stdout.strip() in ("0x9", "0x49")


def test_net_devices_are_moved_in_with_their_addresses(run_in: Run) -> None:
    subprocess.run(["ip", "link", "del", "pyrdummy0"], capture_output=True)
    subprocess.run(["ip", "link", "add", "pyrdummy0", "type", "veth", "peer", "name",
                    "pyrdummy1"], check=True)
    subprocess.run(["ip", "addr", "add", "10.199.0.1/24", "dev", "pyrdummy0"], check=True)
    try:
        def edit(c: dict[str, Any]) -> None:
            c["linux"]["netDevices"] = {"pyrdummy0": {"name": "eth7"}}
        out = run_in("ip -o addr show eth7; cat /sys/class/net/eth7/operstate", edit).stdout
        assert "10.199.0.1/24" in out
    finally:
        subprocess.run(["ip", "link", "del", "pyrdummy0"], capture_output=True)


# ---- root filesystem -------------------------------------------------------------------

def test_mounts_in_order_with_flags(run_in: Run, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("from the host\n")

    def edit(c: dict[str, Any]) -> None:
        c["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(src),
             "options": ["rbind", "ro"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "size=1m", "mode=700"]},
            {"destination": "/scratch/inner", "type": "tmpfs", "source": "tmpfs"},
        ]
    out = run_in("cat /data/file; touch /data/x 2>&1; grep -E ' /(data|scratch)' "
                 "/proc/self/mountinfo; stat -c %a /scratch", edit).stdout
    assert "from the host" in out
    assert "Read-only file system" in out
    lines = [line for line in out.splitlines() if "/data" in line or "/scratch" in line]
    data = next(line for line in lines if " /data " in line)
    assert " ro," in data or " ro " in data
    scratch = next(line for line in lines if " /scratch " in line)
    assert "nosuid" in scratch and "nodev" in scratch and "size=1024k" in scratch
    assert any(" /scratch/inner " in line for line in lines)  # after /scratch: order kept
    assert out.strip().endswith("700")


def test_symlink_in_rootfs_cannot_redirect_a_mount_to_the_host(runtime: Runtime,
                                                               tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(busybox_config()["root"]["path"]), str(rootfs)], check=True)
    target = tmp_path / "host-target"
    target.mkdir()
    (rootfs / "evil").symlink_to(str(target))
    config = busybox_config(["sh", "-c", "touch /evil/planted; ls /evil"])
    config["root"] = {"path": str(rootfs)}
    config["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs"})
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    # the link resolves inside the rootfs, where its target does not exist: a clear error
    # (or, had it existed there, a mount inside the rootfs); never the host directory
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.strip() == "pyrunc: mount tmpfs: create destination /evil: " \
        "No such file or directory"
    assert list(target.iterdir()) == []


def test_root_readonly_masked_and_readonly_paths(run_in: Run) -> None:
    out = run_in("touch /x 2>&1; cat /proc/timer_list 2>&1 | wc -c; ls /sys/firmware | wc -l; "
                 "sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid' 2>&1; grep ' /proc/sys ' "
                 "/proc/self/mountinfo").stdout
    assert "Read-only file system" in out.splitlines()[0]
    assert out.splitlines()[1].strip() == "0"   # /proc/timer_list masked by /dev/null
    assert out.splitlines()[2].strip() == "0"   # /sys/firmware masked by an empty tmpfs
    assert "Read-only file system" in out.splitlines()[3]
    assert " ro," in out.splitlines()[4] or " ro " in out.splitlines()[4]


def test_default_devices_and_dev_symlinks(run_in: Run) -> None:
    out = run_in("for d in null zero full random urandom tty; do stat -c '%n %t %T %a' "
                 "/dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done"
                 ).stdout.splitlines()
    assert out[:6] == ["/dev/null 1 3 666", "/dev/zero 1 5 666", "/dev/full 1 7 666",
                       "/dev/random 1 8 666", "/dev/urandom 1 9 666", "/dev/tty 5 0 666"]
    assert out[6:] == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]


def test_linux_devices(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["devices"] = [{"path": "/dev/fuse0", "type": "c", "major": 10, "minor": 229,
                                  "fileMode": 0o620, "uid": 7, "gid": 8}]
    out = run_in("stat -c '%t %T %a %u %g %F' /dev/fuse0", edit).stdout.strip()
    assert out == "a e5 620 7 8 character special file"


def test_hostname_domainname_and_sysctl(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["domainname"] = "example.org"
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    out = run_in("hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward "
                 "/proc/sys/kernel/shm_rmid_forced", edit).stdout.split()
    assert out == ["busybox", "example.org", "1", "1"]


def test_non_namespaced_sysctl_is_refused(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["sysctl"] = {"vm.swappiness": "10"}
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and 'linux.sysctl: "vm.swappiness" is not namespaced' in proc.stderr


def test_no_pivot(run_in: Run) -> None:
    out = run_in("cat /proc/self/mountinfo | wc -l; ls /", args=("--no-pivot",)).stdout
    assert "bin" in out.split()


# ---- process ---------------------------------------------------------------------------

def test_args_env_cwd_and_home(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["process"]["env"].append("FOO=bar baz")
        c["process"]["cwd"] = "/tmp"
    out = run_in('echo "$FOO"; pwd; echo "$HOME"; echo "$0"', edit).stdout.splitlines()
    assert out == ["bar baz", "/tmp", "/root", "sh"]


def test_user_groups_and_umask(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 6],
                                "umask": 0o077}
    out = run_in("id -u; id -g; id -G; umask", edit).stdout.split()
    assert out[:2] == ["1000", "1001"]
    assert set(out[2:-1]) == {"1001", "5", "6"}
    assert out[-1] == "0077"


def test_capabilities_all_five_sets(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        caps = c["process"]["capabilities"]
        caps["bounding"] = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
        caps["effective"] = caps["permitted"] = ["CAP_KILL", "CAP_CHOWN"]
        caps["inheritable"] = ["CAP_KILL"]
        caps["ambient"] = ["CAP_KILL"]
    out = run_in("grep ^Cap /proc/self/status", edit).stdout
    fields = dict(line.split(":\t") for line in out.strip().splitlines())
    kill, chown, bind = 1 << 5, 1 << 0, 1 << 10
    assert int(fields["CapBnd"], 16) == kill | chown | bind
    # sh was exec'd by the init: ambient caps became its permitted and effective ones
    assert int(fields["CapAmb"], 16) == kill
    assert int(fields["CapInh"], 16) == kill
    assert int(fields["CapPrm"], 16) & kill


def test_unknown_capability_is_an_error(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["process"]["capabilities"]["bounding"].append("CAP_TEST")
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ('pyrunc: config.json: process.capabilities.bounding[3]: '
                                   'unknown capability "CAP_TEST"')


def test_rlimits_nnp_oom_score_adj(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                   {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
        c["process"]["oomScoreAdj"] = 345
    out = run_in("ulimit -n; ulimit -Hn; ulimit -c; grep NoNewPrivs /proc/self/status; "
                 "cat /proc/self/oom_score_adj", edit).stdout.split()
    assert out == ["123", "456", "0", "NoNewPrivs:", "1", "345"]


def test_scheduler_ioprio_personality(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
        c["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
        c["linux"]["personality"] = {"domain": "LINUX32"}
    out = run_in("cut -d' ' -f19,41 /proc/self/stat; uname -m; cat /proc/self/personality; "
                 "ionice -p $$", edit).stdout.split()
    assert out[:2] == ["5", "3"]  # nice 5, policy SCHED_BATCH
    assert out[2] in ("i686", "i386", "armv8l")
    assert out[3] == "00000008"
    assert out[4:] == ["best-effort:", "prio", "6"]


def test_apparmor_profile_refused_where_the_host_lacks_it(run_in: Run) -> None:
    if Path("/sys/module/apparmor/parameters/enabled").exists() and \
            Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y":
        pytest.skip("this host has AppArmor")

    def edit(c: dict[str, Any]) -> None:
        c["process"]["apparmorProfile"] = "docker-default"
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1
    assert "process.apparmorProfile: AppArmor is not enabled" in proc.stderr


# ---- fds, console and caller integration -----------------------------------------------

def test_only_stdio_reaches_the_container(run_in: Run) -> None:
    out = run_in("ls /proc/self/fd").stdout.split()
    assert sorted(out) == ["0", "1", "2", "3"]  # 3: the directory ls itself is reading


def test_preserve_fds(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    bundle = make_bundle(["sh", "-c", "echo through-fd-3 >&3; ls /proc/self/fd"])
    r, w = os.pipe()
    proc = subprocess.run(["bash", "-c", f'exec 3>&{w} {w}>&-; exec "$@"', "bash", *pyrunc_cmd(),
                           "--root", str(runtime.root), "run", "--preserve-fds", "1", "-b",
                           str(bundle), "c1"], pass_fds=(w,), capture_output=True, text=True,
                          timeout=30)
    os.close(w)
    assert proc.returncode == 0, proc.stderr
    assert os.read(r, 100) == b"through-fd-3\n"
    os.close(r)
    assert "3" in proc.stdout.split()


@pytest.fixture
def unix_listener(tmp_path: Path) -> Iterator[tuple[str, list[Any]]]:
    """A unix socket that receives one message with fds, like conmon's console socket."""
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    got: list[Any] = []

    def accept() -> None:
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        got.append((msg, fds))
        conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path, got
    server.close()


def test_console_socket_gets_the_pty_master(runtime: Runtime, make_bundle: Callable[..., Path],
                                           unix_listener: tuple[str, list[Any]]) -> None:
    path, got = unix_listener
    bundle = make_bundle(["sh", "-c", "tty; stat -c %t /dev/console; echo on-the-pty; sleep 1"],
                         terminal=True)
    proc = runtime("run", "-d", "--console-socket", path, "-b", str(bundle), "c1")
    assert proc.returncode == 0, proc.stderr
    msg, fds = got[0]
    assert msg.startswith(b"/dev/pts/")
    master = fds[0]
    output = b""
    while b"on-the-pty" not in output:
        chunk = os.read(master, 1024)
        if not chunk:
            break
        output += chunk
    os.close(master)
    lines = output.decode().split()
    assert lines[0] == msg.decode()  # stdio is the pty whose master we got
    assert lines[1] == "88"  # /dev/console is that pty (major 136) bound over it


def test_create_with_terminal_needs_a_console_socket(runtime: Runtime,
                                                    make_bundle: Callable[..., Path]) -> None:
    proc = runtime("create", "-b", str(make_bundle(["true"], terminal=True)), "c1")
    assert proc.returncode == 1 and "--console-socket" in proc.stderr
    assert runtime.ids() == []


def test_pidfd_socket(runtime: Runtime, make_bundle: Callable[..., Path],
                      unix_listener: tuple[str, list[Any]]) -> None:
    path, got = unix_listener
    proc = runtime("run", "-d", "--pidfd-socket", path, "-b", str(make_bundle(["sleep", "100"])),
                   "c1")
    assert proc.returncode == 0, proc.stderr
    _, fds = got[0]
    pid = runtime.state("c1")["pid"]
    fdinfo = Path(f"/proc/self/fdinfo/{fds[0]}").read_text()
    assert f"Pid:\t{pid}" in fdinfo
    os.close(fds[0])


def test_listen_fds_are_passed_on(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    bundle = make_bundle(["sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID"; ls /proc/self/fd'])
    r, w = os.pipe()
    env = dict(os.environ, LISTEN_FDS="1")
    env.pop("LISTEN_PID", None)
    proc = subprocess.run(["bash", "-c", f'exec 3<&{r} {r}<&-; exec "$@"', "bash", *pyrunc_cmd(),
                           "--root", str(runtime.root), "run", "-b", str(bundle), "c1"],
                          env=env, pass_fds=(r,), capture_output=True, text=True, timeout=30)
    os.close(r)
    os.close(w)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[:2] == ["1", "1"] and "3" in lines[2:]


# ---- hooks -----------------------------------------------------------------------------

def _hook(tmp_path: Path, name: str, log: Path, fail: bool = False) -> dict[str, Any]:
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\nstate=$(cat)\necho \"{name} $(readlink /proc/self/ns/mnt) "
                      f"$state\" >> {log}\n" + ("echo broken >&2; exit 3\n" if fail else ""))
    script.chmod(0o755)
    return {"path": str(script), "args": [name, "arg1"], "env": ["HOOKENV=1"], "timeout": 10}


def test_hooks_run_in_order_with_state(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    config = busybox_config(["true"])
    config["mounts"].append({"destination": str(tmp_path), "type": "bind",
                             "source": str(tmp_path), "options": ["rbind"]})
    config["root"]["readonly"] = False
    config["hooks"] = {k: [_hook(tmp_path, k, log)] for k in
                       ("prestart", "createRuntime", "createContainer", "startContainer",
                        "poststart", "poststop")}
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 0, proc.stderr
    entries = [line.split(" ", 2) for line in log.read_text().splitlines()]
    assert [e[0] for e in entries] == ["prestart", "createRuntime", "createContainer",
                                       "startContainer", "poststart", "poststop"]
    mntns = {e[0]: e[1] for e in entries}
    assert mntns["createRuntime"] == host_ns("mnt")
    assert mntns["createContainer"] != host_ns("mnt")
    assert mntns["startContainer"] == mntns["createContainer"]
    states = {e[0]: json.loads(e[2]) for e in entries}
    assert states["createRuntime"]["status"] == "creating"
    assert states["startContainer"]["status"] == "created"
    assert states["poststop"]["status"] == "stopped"
    assert all(s["id"] == "c1" and s["pid"] > 0 for k, s in states.items() if k != "poststop")


def test_failed_create_runtime_hook_fails_and_cleans_up(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    config = busybox_config(["true"])
    config["hooks"] = {"createRuntime": [_hook(tmp_path, "createRuntime", log, fail=True)]}
    proc = runtime("create", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1
    assert "createRuntime hook #0" in proc.stderr and "exit status 3" in proc.stderr
    assert runtime.ids() == []


def test_failed_create_container_hook_fails(runtime: Runtime, tmp_path: Path) -> None:
    config = busybox_config(["true"])
    config["hooks"] = {"createContainer": [{"path": "/bin/false"}]}
    proc = runtime("create", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1 and "createContainer hook #0 (/bin/false) failed" in proc.stderr
    assert runtime.ids() == []


def test_failed_poststart_hook_fails_start_and_stops_the_container(runtime: Runtime,
                                                                   tmp_path: Path) -> None:
    config = busybox_config(["sleep", "100"])
    config["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    assert runtime("create", "-b", str(write_bundle(tmp_path / "b", config)), "c1"
                   ).returncode == 0
    proc = runtime("start", "c1")
    assert proc.returncode == 1 and "poststart hook #0 (/bin/false) failed" in proc.stderr
    assert runtime.state("c1")["status"] == "stopped"


def test_failed_poststop_hook_only_warns(runtime: Runtime, tmp_path: Path) -> None:
    """Each failure warns, and the hooks after it still run (runtime-spec, poststop)."""
    config = busybox_config(["true"])
    mark = tmp_path / "ran"
    config["hooks"] = {"poststop": [{"path": "/bin/false"}, {"path": "/bin/false"},
                                    {"path": "/bin/sh", "args": ["sh", "-c", f"touch {mark}"]}]}
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 0
    assert "warning: poststop hook #0 (/bin/false) failed" in proc.stderr
    assert "warning: poststop hook #1 (/bin/false) failed" in proc.stderr
    assert mark.exists()
    assert runtime.ids() == []


def test_hook_timeout(runtime: Runtime, tmp_path: Path) -> None:
    config = busybox_config(["true"])
    config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"],
                                          "timeout": 1}]}
    proc = runtime("create", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1 and "timed out" in proc.stderr
    assert runtime.ids() == []




def test_run_with_a_terminal_relays_the_pty(runtime: Runtime,
                                            make_bundle: Callable[..., Path]) -> None:
    """Like runc: `run` of a terminal config without --console-socket relays the pty."""
    bundle = make_bundle(["sh", "-c", "tty; read line; echo got $line; exit 7"], terminal=True)
    proc = runtime("run", "-b", str(bundle), "c1", input="hello\n")
    assert proc.returncode == 7, proc.stderr
    assert "/dev/pts/0" in proc.stdout and "got hello" in proc.stdout
    assert runtime.ids() == []


def test_rootfs_propagation(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["rootfsPropagation"] = "shared"
    line = run_in("awk '$5 == \"/\"' /proc/self/mountinfo", edit).stdout
    assert "shared:" in line.split(" - ")[0]
