"""Rootless: `pyrunc spec --rootless` bundles run by an unprivileged user.

A throwaway user (useradd, removed at the end) runs the real pyrunc CLI through setpriv, with
its own $XDG_RUNTIME_DIR, a bundle it owns and, for the mapping-tool test, /etc/subuid and
/etc/subgid ranges (newuidmap/newgidmap). Everything is checked from the host as root: the
container's processes run as the user's uid, the state lives in $XDG_RUNTIME_DIR/pyrunc, and
nothing is left behind (state dir, processes, cgroups).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOTFS, Runtime, pyrunc_cmd
from rootless_user import ThrowawayUser, proc_status


class User(ThrowawayUser):
    """The throwaway user, and pyrunc run as it."""

    def __init__(self) -> None:
        super().__init__("pyrl")
        self.rootfs = self.work / "rootfs"
        self.counter = 0

    def pyrunc(self, *args: str, env: dict[str, str] | None = None,
               prefix: list[str] | None = None, stdin: Any = subprocess.DEVNULL
               ) -> subprocess.CompletedProcess[str]:
        return self.run([*pyrunc_cmd(), *args], env=env, prefix=prefix, stdin=stdin)

    def bundle(self, args: list[str], edit: Any = None) -> Path:
        """`pyrunc spec --rootless` written by the user, with ``args`` and no terminal."""
        self.counter += 1
        bundle = self.mkdir(f"bundle{self.counter}")
        proc = self.pyrunc("spec", "--rootless", "-b", str(bundle))
        assert proc.returncode == 0, proc.stderr
        config = json.loads((bundle / "config.json").read_text())
        config["process"]["terminal"] = False
        config["process"]["args"] = args
        config["root"]["path"] = str(self.rootfs)
        if edit is not None:
            edit(config)
        (bundle / "config.json").write_text(json.dumps(config))
        return bundle

    def state_ids(self) -> list[str]:
        root = self.xdg / "pyrunc"
        return sorted(os.listdir(root)) if root.exists() else []


def _only_plain_files(directory: str, names: list[str]) -> list[str]:
    """What not to copy of the shared busybox rootfs: other tests leave device nodes in it
    (copying /dev/zero would read it forever), and what they left in /tmp and /dev."""
    import stat

    if os.path.relpath(directory, ROOTFS) in ("dev", "tmp"):
        return names
    return [name for name in names
            if not stat.S_ISDIR(mode := os.lstat(os.path.join(directory, name)).st_mode)
            and not stat.S_ISREG(mode) and not stat.S_ISLNK(mode)]


@pytest.fixture(scope="module")
def user() -> Iterator[User]:
    u = User()
    try:
        # a rootfs the user owns (root inside the container is the user outside)
        shutil.copytree(ROOTFS, u.rootfs, symlinks=True, ignore=_only_plain_files)
        u.chown_tree(u.rootfs)
        version = u.pyrunc("--version")
        assert version.returncode == 0, f"the user cannot run pyrunc: {version.stderr}"
        yield u
    finally:
        u.remove()


@pytest.fixture
def rootless(user: User) -> Iterator[User]:
    """The user, and after each test: no container, state dir or process of it left."""
    yield user
    for container_id in user.state_ids():
        user.pyrunc("delete", "--force", container_id)
    assert user.state_ids() == []
    deadline = time.monotonic() + 10  # a killed init is reaped by its new parent
    while user.processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert user.processes() == []


def _wait_status(user: User, container_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        proc = user.pyrunc("state", container_id)
        assert proc.returncode == 0, proc.stderr
        state: dict[str, Any] = json.loads(proc.stdout)
        if state["status"] == status or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def test_spec_rootless_maps_the_caller(rootless: User) -> None:
    bundle = rootless.bundle(["true"])
    config = json.loads((bundle / "config.json").read_text())
    linux = config["linux"]
    assert linux["uidMappings"] == [{"containerID": 0, "hostID": rootless.uid, "size": 1}]
    assert linux["gidMappings"] == [{"containerID": 0, "hostID": rootless.gid, "size": 1}]
    assert {"type": "user"} in linux["namespaces"]
    assert {"type": "network"} not in linux["namespaces"]
    assert "resources" not in linux
    assert (bundle / "config.json").stat().st_uid == rootless.uid


def test_run_is_root_inside_the_user_outside(rootless: User) -> None:
    bundle = rootless.bundle(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map; "
                                          "cat /proc/self/gid_map; touch /tmp/x"],
                             lambda c: c["root"].update(readonly=False))
    proc = rootless.pyrunc("run", "-b", str(bundle), "r1")
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert lines == [["0"], ["0"], ["0", str(rootless.uid), "1"],
                     ["0", str(rootless.gid), "1"]]
    # what root made inside is the user's file outside
    made = rootless.rootfs / "tmp" / "x"
    assert made.stat().st_uid == rootless.uid
    made.unlink()
    # the default root: $XDG_RUNTIME_DIR/pyrunc, the user's alone (runc's 01700)
    root = rootless.xdg / "pyrunc"
    st = root.stat()
    assert (st.st_uid, st.st_mode & 0o7777) == (rootless.uid, 0o1700)
    assert rootless.state_ids() == []


def test_terminal_run_relays_the_pty(rootless: User) -> None:
    """spec --rootless's own terminal: true; devpts without gid= in the user namespace."""
    bundle = rootless.bundle(["sh", "-c", "tty; stat -c %u:%g $(tty); read line; "
                                          "echo got $line; exit 7"],
                             lambda c: c["process"].update(terminal=True))
    with tempfile.TemporaryFile() as stdin:
        stdin.write(b"hello\n")
        stdin.seek(0)
        proc = rootless.pyrunc("run", "-b", str(bundle), "tty", stdin=stdin)
    assert proc.returncode == 7, proc.stderr
    words = proc.stdout.split()  # the pty echoes the input wherever it lands
    assert "/dev/pts/0" in words and "0:0" in words and "got hello" in proc.stdout


def test_lifecycle_state_exec_kill_delete(rootless: User) -> None:
    bundle = rootless.bundle(["sleep", "1000"])
    proc = rootless.pyrunc("create", "-b", str(bundle), "life")
    assert proc.returncode == 0, proc.stderr
    assert (rootless.xdg / "pyrunc" / "life" / "state.json").is_file()
    state = _wait_status(rootless, "life", "created")
    assert state["status"] == "created"
    # from the host: the container's init runs as the user, in a new user namespace
    status = proc_status(state["pid"])
    assert status["Uid"].split() == [str(rootless.uid)] * 4
    assert status["Gid"].split() == [str(rootless.gid)] * 4
    assert os.readlink(f"/proc/{state['pid']}/ns/user") != os.readlink("/proc/self/ns/user")
    listed = rootless.pyrunc("list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [(c["id"], c["status"], c["owner"]) for c in json.loads(listed.stdout)] == [
        ("life", "created", rootless.name)]

    assert rootless.pyrunc("start", "life").returncode == 0
    assert _wait_status(rootless, "life", "running")["status"] == "running"
    execd = rootless.pyrunc("exec", "life", "sh", "-c", "id -u; cat /proc/1/cmdline")
    assert execd.returncode == 0, execd.stderr
    assert execd.stdout.split("\n", 1) == ["0", "sleep\x001000\x00"]
    unmapped = rootless.pyrunc("exec", "--user", "1000", "life", "true")
    assert (unmapped.returncode, unmapped.stderr) == (
        1, "pyrunc: process.user.uid: 1000 is not mapped in the user namespace\n")

    refused = rootless.pyrunc("delete", "life")
    assert refused.returncode == 1 and "running" in refused.stderr
    assert rootless.pyrunc("kill", "life", "KILL").returncode == 0
    assert _wait_status(rootless, "life", "stopped")["status"] == "stopped"
    gone = rootless.pyrunc("delete", "life")
    assert gone.returncode == 0, gone.stderr
    assert rootless.state_ids() == []
    assert "does not exist" in rootless.pyrunc("state", "life").stderr


def test_delete_force_of_a_running_container(rootless: User) -> None:
    bundle = rootless.bundle(["sleep", "1000"])
    assert rootless.pyrunc("run", "-d", "-b", str(bundle), "forced").returncode == 0
    pid = _wait_status(rootless, "forced", "running")["pid"]
    assert rootless.pyrunc("delete", "--force", "forced").returncode == 0
    assert rootless.state_ids() == []
    assert not Path(f"/proc/{pid}").exists() or proc_status(pid)["State"].startswith("Z")


def test_root_flag_wins_over_xdg(rootless: User) -> None:
    bundle = rootless.bundle(["true"])
    root = rootless.work / "elsewhere"
    proc = rootless.pyrunc("--root", str(root), "create", "-b", str(bundle), "rooted")
    assert proc.returncode == 0, proc.stderr
    assert (root / "rooted" / "state.json").is_file()
    assert rootless.state_ids() == []
    assert rootless.pyrunc("--root", str(root), "delete", "--force", "rooted").returncode == 0
    assert os.listdir(root) == []


def test_without_xdg_runtime_dir_one_line(rootless: User) -> None:
    """No $XDG_RUNTIME_DIR: /run/pyrunc, root's; the error says so, no traceback."""
    env = {k: v for k, v in rootless.env().items() if k != "XDG_RUNTIME_DIR"}
    proc = rootless.pyrunc("create", "-b", str(rootless.bundle(["true"])), "noxdg", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyrunc: --root /run/pyrunc")
    assert len(proc.stderr.splitlines()) == 1


def test_config_without_user_namespace_is_refused(rootless: User) -> None:
    def edit(config: dict[str, Any]) -> None:  # a config made for root: no user namespace
        config["linux"]["namespaces"].remove({"type": "user"})
        del config["linux"]["uidMappings"], config["linux"]["gidMappings"]

    bundle = rootless.bundle(["true"], edit)
    proc = rootless.pyrunc("run", "-b", str(bundle), "nouserns")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyrunc: config.json: linux.namespaces: a rootless container")
    assert len(proc.stderr.splitlines()) == 1


def test_unmapped_mount_gid_is_refused(rootless: User) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["mounts"][2]["options"].append("gid=5")  # runc's non-rootless devpts

    proc = rootless.pyrunc("run", "-b", str(rootless.bundle(["true"], edit)), "gid5")
    assert proc.returncode == 1
    assert proc.stderr == ('pyrunc: config.json: mounts[2].options: "gid=5" is not mapped in '
                           "the user namespace (linux.gidMappings), so a rootless container "
                           "cannot use it\n")


@pytest.mark.parametrize("field,value,message", [
    ("uid", 1000, "process.user.uid: 1000 is not mapped in the user namespace"),
    ("gid", 1000, "process.user.gid: 1000 is not mapped in the user namespace"),
    ("additionalGids", [0], "process.user.additionalGids: setgroups is denied"),
])
def test_unmapped_process_user_one_line(rootless: User, field: str, value: Any,
                                        message: str) -> None:
    bundle = rootless.bundle(["true"], lambda c: c["process"]["user"].update({field: value}))
    proc = rootless.pyrunc("run", "-b", str(bundle), f"user-{field}")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"pyrunc: {message}")
    assert len(proc.stderr.splitlines()) == 1


def test_cgroups_skipped_when_not_writable(rootless: User) -> None:
    """runc's rule: no cgroupsPath and no limits -> run without cgroups of its own; device
    rules (which need CAP_SYS_ADMIN on the host) are not applied."""
    def edit(config: dict[str, Any]) -> None:
        config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}

    bundle = rootless.bundle(["sh", "-c", "cat /proc/self/cgroup"], edit)
    before = Path("/proc/self/cgroup").read_text()
    proc = rootless.pyrunc("run", "-b", str(bundle), "nocg")
    assert proc.returncode == 0, proc.stderr
    assert "nocg" not in proc.stdout
    assert proc.stdout == before  # no cgroup namespace: the host's view, our cgroups


def test_limit_without_delegation_is_a_clear_error(rootless: User) -> None:
    bundle = rootless.bundle(["true"], lambda c: c["linux"].update(
        resources={"pids": {"limit": 10}}))
    proc = rootless.pyrunc("run", "-b", str(bundle), "limited")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyrunc: linux.resources.pids.limit: cannot be applied "
                                  "rootless: cgroup /sys/fs/cgroup/")
    assert len(proc.stderr.splitlines()) == 1
    assert not [p for p in Path("/sys/fs/cgroup").glob("*/limited")]


def test_explicit_cgroups_path_must_be_delegated(rootless: User) -> None:
    name = f"pyrl-nodeleg-{os.getpid()}"
    bundle = rootless.bundle(["true"], lambda c: c["linux"].update(cgroupsPath=f"/{name}"))
    proc = rootless.pyrunc("run", "-b", str(bundle), "explicit")
    assert proc.returncode == 1
    assert "Permission denied (rootless: the cgroup must be delegated" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert not [p for p in Path("/sys/fs/cgroup").glob(f"*/{name}")]


@pytest.fixture
def delegated(rootless: User) -> Iterator[dict[str, Path]]:
    """Cgroups owned by the user, as systemd's Delegate=yes hands them over (the directory,
    cgroup.procs, cgroup.subtree_control, cgroup.threads / tasks): in the v1 pids hierarchy,
    and in the cgroup2 one one level below a cgroup of root's (whose subtree_control the
    user cannot write, as on a systemd host). hierarchy ("pids", "") -> directory."""
    from pyrunc.linux.cgroups import Layout

    mounts = Layout.detect().mounts
    if "pids" not in mounts or "" not in mounts:
        pytest.fail("this test needs a v1 pids hierarchy and a cgroup2 mount (hybrid host)")
    top = f"pyrl-deleg-{os.getpid()}"
    made: list[Path] = []
    try:
        for hierarchy, sub, files in (("pids", top, ("cgroup.procs", "tasks")),
                                      ("", f"{top}/user", ("cgroup.procs", "cgroup.threads",
                                                           "cgroup.subtree_control"))):
            path = Path(mounts[hierarchy]) / sub
            for level in reversed([path, *path.parents][:sub.count("/") + 1]):
                level.mkdir()
                made.append(level)
            for entry in (path, *(path / name for name in files)):
                os.chown(entry, rootless.uid, rootless.gid)
        yield {"pids": made[0], "": made[-1]}
    finally:
        for container_id in rootless.state_ids():  # a failed test's, before its cgroups
            rootless.pyrunc("delete", "--force", container_id)
        stay = []
        for path in reversed(made):
            for child in [*(p for p in path.iterdir() if p.is_dir() and p not in made), path]:
                try:
                    child.rmdir()
                except OSError:
                    stay.append(str(child))
        assert stay == [], "cgroups left behind"  # by pyrunc, or busy with its processes


def test_delegated_cgroups_are_used(rootless: User, delegated: dict[str, Path]) -> None:
    """pyrunc itself in cgroups the user owns: the container's go below them, and a limit
    in such a hierarchy is applied; the hierarchies the user cannot write are left out."""
    bundle = rootless.bundle(["sleep", "1000"], lambda c: c["linux"].update(
        resources={"pids": {"limit": 20}}))
    # root moves the shell into the delegated cgroups, then it becomes the user and pyrunc
    enter = ["sh", "-c", " && ".join(f"echo $$ > {path}/cgroup.procs"
                                     for path in delegated.values()) + ' && exec "$@"', "sh"]
    proc = rootless.pyrunc("create", "-b", str(bundle), "deleg", prefix=enter)
    assert proc.returncode == 0, proc.stderr
    pid = _wait_status(rootless, "deleg", "created")["pid"]
    pids, unified = delegated["pids"] / "deleg", delegated[""] / "deleg"
    assert (pids / "pids.max").read_text().strip() == "20"
    for directory in (pids, unified):
        assert (directory / "cgroup.procs").read_text().split() == [str(pid)]
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    top = delegated["pids"].name
    assert f"0::/{top}/user/deleg" in lines
    assert any(line.endswith(f":pids:/{top}/deleg") for line in lines)
    assert rootless.pyrunc("delete", "--force", "deleg").returncode == 0
    assert not pids.exists() and not unified.exists()


def test_own_ids_need_no_helper(rootless: User) -> None:
    """spec --rootless's maps (the caller's own ids) are written by pyrunc itself, setgroups
    denied first: no newuidmap/newgidmap on the PATH, still a container."""
    bundle = rootless.bundle(["sleep", "1000"])
    empty = rootless.mkdir(f"nopath{rootless.counter}")
    proc = rootless.pyrunc("run", "-d", "-b", str(bundle), "ownids",
                           env=rootless.env(PATH=str(empty)))
    assert proc.returncode == 0, proc.stderr
    pid = _wait_status(rootless, "ownids", "running")["pid"]
    assert Path(f"/proc/{pid}/setgroups").read_text().strip() == "deny"
    assert Path(f"/proc/{pid}/gid_map").read_text().split() == ["0", str(rootless.gid), "1"]
    assert rootless.pyrunc("delete", "--force", "ownids").returncode == 0


def test_mapping_tool_maps_subordinate_ids(rootless: User) -> None:
    """More than the caller's own id: newuidmap/newgidmap with /etc/subuid and /etc/subgid;
    setgroups stays allowed, so additionalGids work."""
    sub_uid = rootless.subid("uid")
    sub_gid = rootless.subid("gid")

    def edit(config: dict[str, Any]) -> None:
        linux = config["linux"]
        linux["uidMappings"] = [{"containerID": 0, "hostID": rootless.uid, "size": 1},
                                {"containerID": 1, "hostID": sub_uid, "size": 1000}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": rootless.gid, "size": 1},
                                {"containerID": 1, "hostID": sub_gid, "size": 1000}]
        config["process"]["user"] = {"uid": 100, "gid": 100, "additionalGids": [5]}

    bundle = rootless.bundle(["sleep", "1000"], edit)
    proc = rootless.pyrunc("run", "-d", "-b", str(bundle), "mapped")
    assert proc.returncode == 0, proc.stderr
    pid = _wait_status(rootless, "mapped", "running")["pid"]
    status = proc_status(pid)
    assert status["Uid"].split() == [str(sub_uid + 99)] * 4
    assert status["Gid"].split() == [str(sub_gid + 99)] * 4
    assert status["Groups"].split() == [str(sub_gid + 4)]
    assert Path(f"/proc/{pid}/setgroups").read_text().strip() == "allow"
    inside = rootless.pyrunc("exec", "mapped", "id")
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.split()[:2] == ["uid=100", "gid=100"]
    assert rootless.pyrunc("delete", "--force", "mapped").returncode == 0


def test_unmapped_subordinate_range_one_line(rootless: User) -> None:
    """A range /etc/subuid does not grant: newuidmap's refusal, as one line."""
    def edit(config: dict[str, Any]) -> None:
        config["linux"]["uidMappings"].append({"containerID": 1, "hostID": 1, "size": 1})

    proc = rootless.pyrunc("run", "-b", str(rootless.bundle(["true"], edit)), "badmap")
    assert proc.returncode == 1
    assert proc.stderr.startswith("pyrunc: linux.uidMappings: newuidmap failed: ")
    assert len(proc.stderr.splitlines()) == 1


def test_hot_commands_stay_light_rootless(rootless: User) -> None:
    """The rootless choices (state root, --rootless auto) cost the hot commands no imports."""
    from test_cli import HEAVY, HOT, UNUSED

    bundle = rootless.bundle(["sleep", "1000"])
    assert rootless.pyrunc("create", "-b", str(bundle), "hot").returncode == 0
    env = rootless.env(PYTHONPROFILEIMPORTTIME="1")
    calls = {"state": ["state", "hot"], "list": ["list"], "start": ["start", "hot"],
             "exec": ["exec", "hot", "true"], "kill": ["kill", "hot", "KILL"],
             "delete": ["delete", "--force", "hot"]}
    assert sorted(calls) == sorted(HOT)
    for command, args in calls.items():
        proc = rootless.pyrunc(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        imported = {line.split("|")[-1].strip().split(".")[0]
                    for line in proc.stderr.splitlines() if line.startswith("import time:")}
        assert "pyrunc" in imported, "no importtime output"
        assert not imported & {*HEAVY, *UNUSED}, (command, imported & {*HEAVY, *UNUSED})


@pytest.mark.parametrize("value,ok", [("true", True), ("T", True), ("0", True),
                                      ("auto", True), ("maybe", False)])
def test_rootless_flag_values(runtime: Runtime, make_bundle: Any, value: str,
                              ok: bool) -> None:
    """runc's --rootless: a Go boolean or auto; anything else is refused, nothing made."""
    proc = runtime("--rootless", value, "run", "-b", str(make_bundle(["true"])), "flag")
    if ok:
        assert proc.returncode == 0, proc.stderr
    else:
        assert (proc.returncode, proc.stderr) == (
            1, 'pyrunc: --rootless: invalid value "maybe": want true, false or auto\n')
    assert runtime.ids() == []


def test_rootless_true_as_root_keeps_device_rules(runtime: Runtime, make_bundle: Any) -> None:
    """--rootless only makes cgroup permission errors ignorable: root's writes still happen,
    the device allow list included (runc tries it too)."""
    proc = runtime("--rootless", "true", "create", "-b", str(make_bundle(["sleep", "100"])),
                   "rl-dev")
    assert proc.returncode == 0, proc.stderr
    rules = (Path("/sys/fs/cgroup/devices/rl-dev/devices.list")).read_text().split("\n")
    assert "a *:* rwm" not in rules and "c 1:3 rwm" in rules  # not open; /dev/null allowed
    assert runtime("delete", "--force", "rl-dev").returncode == 0
