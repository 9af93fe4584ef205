"""The root filesystem, checked from inside real containers: mounts and their flags,
propagation and recursive attributes, tmpfs, proc/sysfs/cgroup, masked and read-only paths,
the read-only root, sysctl, pivot_root and --no-pivot, the console, idmapped mounts, and
the attacks through symlinks planted in the image (docs/rootfs.md)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, ROOTFS, Runtime, busybox_config, write_bundle

from pyrunc.linux import mounts

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


@pytest.fixture
def rootfs_copy(tmp_path: Path) -> Path:
    """A private copy of the busybox rootfs, for tests that plant things in the image."""
    copy = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", str(ROOTFS), str(copy)], check=True)
    return copy


@pytest.fixture
def host_mount(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount a tmpfs on the host (for sources with submounts); unmounted afterwards."""
    made: list[Path] = []

    def mount(path: Path, *options: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options or ("size=1m",)),
                        "tmpfs", str(path)], check=True)
        made.append(path)
        return path

    yield mount
    for path in reversed(made):
        subprocess.run(["umount", "-l", str(path)], check=False)


def mountinfo_line(out: str, mountpoint: str) -> list[str]:
    """The fields of the mountinfo line for ``mountpoint`` (the last one: the top mount)."""
    found = [line.split() for line in out.splitlines()
             if len(line.split()) > 5 and line.split()[4] == mountpoint]
    assert found, f"{mountpoint} not in\n{out}"
    return found[-1]


def mount_opts(fields: list[str]) -> set[str]:
    return set(fields[5].split(","))


def optional_fields(fields: list[str]) -> list[str]:
    return fields[6:fields.index("-")]


def fs_type(fields: list[str]) -> str:
    return fields[fields.index("-") + 1]


def super_opts(fields: list[str]) -> set[str]:
    return set(fields[fields.index("-") + 3].split(","))


def add_mounts(*extra: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(c: dict[str, Any]) -> None:
        c["mounts"] += list(extra)
    return edit


# ---- bind mounts -------------------------------------------------------------------------

def test_bind_mount_flags(run_in: Run, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("from the host\n")
    (src / "tool").write_text("#!/bin/sh\necho ran\n")
    (src / "tool").chmod(0o755)
    out = run_in("cat /data/file; touch /data/x 2>&1; /data/tool 2>&1; grep ' /data ' "
                 "/proc/self/mountinfo", add_mounts(
                     {"destination": "/data", "type": "bind", "source": str(src),
                      "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})).stdout
    assert "from the host" in out
    assert "Read-only file system" in out
    assert "Permission denied" in out and "ran" not in out  # noexec
    assert {"ro", "nosuid", "nodev", "noexec"} <= mount_opts(mountinfo_line(out, "/data"))
    assert not (src / "x").exists()


def test_bind_source_relative_to_the_bundle(runtime: Runtime, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "shared").mkdir(parents=True)
    (bundle / "shared" / "hello").write_text("relative source\n")
    config = busybox_config(["cat", "/mnt/hello"])
    config["mounts"].append({"destination": "/mnt", "type": "bind", "source": "shared",
                             "options": ["bind"]})
    proc = runtime("run", "-b", str(write_bundle(bundle, config)), "c1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "relative source\n"


def test_file_bind_creates_a_file_mount_point(run_in: Run, tmp_path: Path) -> None:
    src = tmp_path / "hosts"
    src.write_text("127.0.0.1 bound\n")
    out = run_in("cat /etc/extra/hosts; stat -c %F /etc/extra/hosts", add_mounts(
        {"destination": "/etc/extra/hosts", "type": "bind", "source": str(src),
         "options": ["bind", "ro"]})).stdout
    assert out.splitlines() == ["127.0.0.1 bound", "regular file"]


def test_recursive_read_only_versus_plain_ro(run_in: Run, tmp_path: Path,
                                             host_mount: Callable[..., Path]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    host_mount(src / "sub")
    script = ("touch /plain/sub/a 2>&1 && echo plain-sub-rw; touch /plain/b 2>&1; "
              "touch /rec/sub/c 2>&1; touch /rec/d 2>&1; cat /proc/self/mountinfo")
    out = run_in(script, add_mounts(
        {"destination": "/plain", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
        {"destination": "/rec", "type": "bind", "source": str(src), "options": ["rbind", "rro"]},
    )).stdout
    assert "plain-sub-rw" in out            # "ro" is for the top mount only (mount(8), runc)
    assert out.count("Read-only file system") == 3
    assert "ro" in mount_opts(mountinfo_line(out, "/rec/sub"))
    assert "rw" in mount_opts(mountinfo_line(out, "/plain/sub"))


def test_recursive_nosuid_noexec_and_nosymfollow(run_in: Run, tmp_path: Path,
                                                 host_mount: Callable[..., Path]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    host_mount(src / "sub")
    (src / "target").write_text("followed\n")
    (src / "link").symlink_to("target")
    out = run_in("cat /a/link 2>&1; cat /b/link; cat /proc/self/mountinfo", add_mounts(
        {"destination": "/a", "type": "bind", "source": str(src),
         "options": ["rbind", "nosymfollow"]},
        {"destination": "/b", "type": "bind", "source": str(src),
         "options": ["rbind", "rnosuid", "rnoexec"]},
    )).stdout
    assert out.count("followed") == 1        # only through /b
    assert "nosymfollow" in mount_opts(mountinfo_line(out, "/a"))
    for mp in ("/b", "/b/sub"):
        assert {"nosuid", "noexec"} <= mount_opts(mountinfo_line(out, mp))


def test_rw_option_clears_read_only_of_the_source(run_in: Run, tmp_path: Path,
                                                  host_mount: Callable[..., Path]) -> None:
    src = host_mount(tmp_path / "src", "size=1m")
    # read-only as a mount (the superblock stays writable)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(src)], check=True)
    out = run_in("touch /keep/x 2>&1; touch /clear/y && echo cleared", add_mounts(
        {"destination": "/keep", "type": "bind", "source": str(src), "options": ["bind"]},
        {"destination": "/clear", "type": "bind", "source": str(src),
         "options": ["bind", "rw"]},
    )).stdout
    assert "Read-only file system" in out    # no options: the source's flags stay
    assert "cleared" in out                  # "rw" asks for a writable mount


@pytest.mark.parametrize("option,expect", [("rshared", "shared:"), ("runbindable", "unbindable"),
                                           ("rprivate", None)])
def test_mount_propagation(run_in: Run, tmp_path: Path, option: str, expect: str | None) -> None:
    src = tmp_path / "src"
    src.mkdir()
    out = run_in("cat /proc/self/mountinfo", add_mounts(
        {"destination": "/p", "type": "bind", "source": str(src),
         "options": ["rbind", option]})).stdout
    fields = optional_fields(mountinfo_line(out, "/p"))
    if expect is None:
        assert fields == []
    else:
        assert any(f.startswith(expect) for f in fields), fields


# ---- other filesystems -------------------------------------------------------------------

def test_tmpfs_data_options_and_delayed_read_only(run_in: Run) -> None:
    out = run_in("stat -c %a /t; touch /t/x 2>&1; cat /proc/self/mountinfo", add_mounts(
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
         "options": ["ro", "nosuid", "size=2m", "nr_inodes=100", "mode=711"]})).stdout
    assert out.splitlines()[0] == "711"
    assert "Read-only file system" in out
    fields = mountinfo_line(out, "/t")
    assert fs_type(fields) == "tmpfs"
    assert {"ro", "nosuid"} <= mount_opts(fields)
    assert {"size=2048k", "nr_inodes=100", "mode=711"} <= super_opts(fields)


def test_tmpfs_takes_the_mode_of_the_directory_it_covers(run_in: Run,
                                                         rootfs_copy: Path) -> None:
    (rootfs_copy / "covered").mkdir(mode=0o750)
    (rootfs_copy / "covered").chmod(0o750)

    def edit(c: dict[str, Any]) -> None:
        c["root"]["path"] = str(rootfs_copy)
        c["mounts"].append({"destination": "/covered", "type": "tmpfs", "source": "tmpfs"})
    assert run_in("stat -c %a /covered", edit).stdout.strip() == "750"


def test_read_only_dev_still_gets_its_devices(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        for m in c["mounts"]:
            if m["destination"] == "/dev":
                m["options"].append("ro")
    out = run_in("stat -c '%t %T' /dev/null; touch /dev/x 2>&1; readlink /dev/ptmx; "
                 "grep ' /dev ' /proc/self/mountinfo", edit).stdout
    assert out.splitlines()[0] == "1 3"
    assert "Read-only file system" in out
    assert "pts/ptmx" in out
    assert "ro" in mount_opts(mountinfo_line(out, "/dev"))


def test_tmpcopyup_keeps_the_image_contents(run_in: Run) -> None:
    out = run_in("grep -c root /etc/passwd; echo new > /etc/added && cat /etc/added; "
                 "grep ' /etc ' /proc/self/mountinfo", add_mounts(
                     {"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                      "options": ["tmpcopyup", "mode=755"]})).stdout
    lines = out.splitlines()
    assert int(lines[0]) >= 1       # the image's /etc/passwd was copied up
    assert lines[1] == "new"        # and the tmpfs is writable
    assert fs_type(mountinfo_line(out, "/etc")) == "tmpfs"
    assert not (ROOTFS / "etc" / "added").exists()


def test_proc_sysfs_mqueue_devpts(run_in: Run) -> None:
    out = run_in("cat /proc/self/mountinfo").stdout
    assert fs_type(mountinfo_line(out, "/proc")) == "proc"
    sys = mountinfo_line(out, "/sys")
    assert fs_type(sys) == "sysfs" and "ro" in mount_opts(sys)
    assert fs_type(mountinfo_line(out, "/dev/mqueue")) == "mqueue"
    pts = mountinfo_line(out, "/dev/pts")
    assert fs_type(pts) == "devpts"
    assert {"ptmxmode=666", "mode=620", "gid=5"} <= super_opts(pts)


def test_unknown_option_goes_to_the_filesystem(run_in: Run) -> None:
    proc = run_in("true", add_mounts({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                                      "options": ["no-such-option"]}), ok=False)
    assert proc.returncode == 1
    assert "mount tmpfs to /t (type tmpfs): Invalid argument" in proc.stderr


def test_cgroup_mount_in_a_cgroup_namespace(run_in: Run) -> None:
    out = run_in("ls /sys/fs/cgroup; cat /proc/self/mountinfo").stdout
    hierarchies = mounts.host_cgroup_hierarchies()
    if [h[2] for h in hierarchies] == ["cgroup2"]:
        fields = mountinfo_line(out, "/sys/fs/cgroup")
        assert fs_type(fields) == "cgroup2" and "ro" in mount_opts(fields)
        return
    for mountpoint, _name, fstype in hierarchies:
        fields = mountinfo_line(out, "/sys/fs/cgroup/" + os.path.basename(mountpoint))
        assert fs_type(fields) == fstype
        assert fields[3] == "/"                     # the namespace's root
        assert "ro" in mount_opts(fields)
    assert "ro" in mount_opts(mountinfo_line(out, "/sys/fs/cgroup"))  # the tmpfs holding them


def test_cgroup_mount_without_a_cgroup_namespace_binds_its_own_cgroups(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "cgroup"]
    out = run_in("cat /proc/self/cgroup; echo ---; cat /proc/self/mountinfo", edit).stdout
    own_text, info = out.split("---\n")
    own = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in own_text.splitlines()}
    hierarchies = mounts.host_cgroup_hierarchies()
    if [h[2] for h in hierarchies] == ["cgroup2"]:
        assert fs_type(mountinfo_line(info, "/sys/fs/cgroup")) == "cgroup2"
        return
    for mountpoint, name, _fstype in hierarchies:
        fields = mountinfo_line(info, "/sys/fs/cgroup/" + os.path.basename(mountpoint))
        assert fields[3] == own[name], (name, fields)   # only the container's own cgroup
        assert "ro" in mount_opts(fields)


# ---- process.cwd --------------------------------------------------------------------------

@pytest.mark.parametrize("readonly", [False, True])
def test_missing_cwd_is_created_in_the_rootfs(runtime: Runtime, tmp_path: Path,
                                              rootfs_copy: Path, readonly: bool) -> None:
    # runc creates it (Kubernetes' workingDir may name a directory the image lacks), also
    # under a read-only root: before the root is made read-only (tests/test_hostile.py has
    # the symlink attacks)
    config = busybox_config(["sh", "-c", "pwd; stat -c %a ."], cwd="/work/deep")
    config["root"] = {"path": str(rootfs_copy), "readonly": readonly}
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["/work/deep", "755"]
    assert (rootfs_copy / "work" / "deep").is_dir()


def test_cwd_that_is_a_file_fails_create_naming_it(runtime: Runtime, make_bundle:
                                                   Callable[..., Path]) -> None:
    proc = runtime("create", "-b", str(make_bundle(["true"], cwd="/bin/sh")), "c1")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        'pyrunc: chdir to cwd ("/bin/sh") set in config.json: Not a directory')
    assert runtime.ids() == []


# ---- attacks through the image -------------------------------------------------------------

def test_symlink_resolves_inside_the_rootfs_not_on_the_host(runtime: Runtime, tmp_path: Path,
                                                            rootfs_copy: Path) -> None:
    host_target = tmp_path / "host-target"
    host_target.mkdir()
    # the same absolute path exists inside the image: the mount must land there
    (rootfs_copy / str(host_target).lstrip("/")).mkdir(parents=True)
    (rootfs_copy / "evil").symlink_to(str(host_target))
    (rootfs_copy / "evil-rel").symlink_to("../../../../../../../../" + str(host_target))
    config = busybox_config(["sh", "-c", "touch /evil/planted /evil-rel/sub/planted2; "
                                         f"ls {host_target} {host_target}/sub"])
    config["root"] = {"path": str(rootfs_copy)}
    config["mounts"] += [{"destination": "/evil", "type": "tmpfs", "source": "tmpfs"},
                         {"destination": "/evil-rel/sub", "type": "tmpfs", "source": "tmpfs"}]
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 0, proc.stderr
    assert "planted" in proc.stdout and "planted2" in proc.stdout
    assert list(host_target.iterdir()) == []
    assert not os.path.ismount(host_target)


def test_dangling_symlink_destination_is_an_error(runtime: Runtime, tmp_path: Path,
                                                  rootfs_copy: Path) -> None:
    target = tmp_path / "host-target"
    target.mkdir()
    (rootfs_copy / "evil").symlink_to(str(target))
    config = busybox_config(["true"])
    config["root"] = {"path": str(rootfs_copy)}
    config["mounts"].append({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"})
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1
    assert "create destination /evil/x: No such file or directory" in proc.stderr
    assert list(target.iterdir()) == []


def test_proc_must_go_onto_a_plain_directory(runtime: Runtime, tmp_path: Path,
                                             rootfs_copy: Path) -> None:
    (rootfs_copy / "tmp" / "real").mkdir(parents=True)
    (rootfs_copy / "proc2").symlink_to("/tmp/real")
    config = busybox_config(["true"])
    config["root"] = {"path": str(rootfs_copy)}
    config["mounts"].append({"destination": "/proc2", "type": "proc", "source": "proc"})
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1
    assert "proc must be mounted on an ordinary directory" in proc.stderr


def test_nothing_is_mounted_inside_proc_but_lxcfs_files(run_in: Run, tmp_path: Path) -> None:
    proc = run_in("true", add_mounts({"destination": "/proc/sys/kernel", "type": "tmpfs",
                                      "source": "tmpfs"}), ok=False)
    assert proc.returncode == 1
    assert "/proc/sys/kernel cannot be mounted because it is inside /proc" in proc.stderr
    # a destination procfs does not have: the same reason, not "No such file or directory"
    # (which podman turns into "command not found", exit 127)
    (tmp_path / "file").write_text("x")
    proc = run_in("true", add_mounts({"destination": "/proc/no-such-entry", "type": "bind",
                                      "source": str(tmp_path / "file"), "options": ["bind"]}),
                  ok=False)
    assert (proc.returncode, proc.stderr) == (
        1, "pyrunc: mount /proc/no-such-entry: /proc/no-such-entry cannot be mounted because "
           "it is inside /proc\n")
    uptime = tmp_path / "uptime"
    uptime.write_text("12345.00 0.00\n")
    out = run_in("cat /proc/uptime", add_mounts(
        {"destination": "/proc/uptime", "type": "bind", "source": str(uptime),
         "options": ["bind", "ro"]})).stdout
    assert out == "12345.00 0.00\n"
    proc = run_in("true", add_mounts({"destination": "/proc", "type": "tmpfs",
                                      "source": "tmpfs"}), ok=False)
    assert "because it is not of type proc" in proc.stderr


def test_masking_refuses_a_dev_null_that_is_not_the_null_device(runtime: Runtime, tmp_path: Path,
                                                                rootfs_copy: Path) -> None:
    """CVE-2025-31133: a /dev/null swapped for a symlink to a procfs file would bind that
    file over the masked paths (exposing instead of masking)."""
    fake_dev = tmp_path / "dev"
    fake_dev.mkdir()
    (fake_dev / "null").symlink_to("/proc/sys/kernel/core_pattern")
    config = busybox_config(["true"])
    config["root"] = {"path": str(rootfs_copy)}
    config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")]
    config["mounts"].append({"destination": "/dev", "type": "bind", "source": str(fake_dev),
                             "options": ["rbind"]})
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1
    assert "/dev/null in the container is not the null device" in proc.stderr


def test_planted_dev_console_symlink_is_refused(runtime: Runtime, tmp_path: Path,
                                                rootfs_copy: Path) -> None:
    """CVE-2025-52565: the pty must never be bound through a symlink at /dev/console."""
    dev = rootfs_copy / "dev"
    dev.mkdir(exist_ok=True)
    (dev / "console").unlink(missing_ok=True)
    (dev / "console").symlink_to("/proc/sys/kernel/core_pattern")
    config = busybox_config(["true"], terminal=True)
    config["root"] = {"path": str(rootfs_copy)}
    # the image's own /dev (no tmpfs over it), with a fresh devpts
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev"]
    proc = runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1")
    assert proc.returncode == 1
    assert "/dev/console in the container is not a file or a device" in proc.stderr


def test_console_is_the_pty(runtime: Runtime, make_bundle: Callable[..., Path]) -> None:
    bundle = make_bundle(["sh", "-c", "tty; stat -c '%t %F' /dev/console; "
                          "grep ' /dev/console ' /proc/self/mountinfo"], terminal=True)
    proc = runtime("run", "-b", str(bundle), "c1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.replace("\r", "").splitlines()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "88 character special file"   # major 136: a pty slave
    assert fs_type(lines[2].split()) == "devpts"


# ---- masked and read-only paths, read-only root --------------------------------------------

def test_masked_and_read_only_paths(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["maskedPaths"] = ["/proc/kcore", "/sys/firmware", "/no/such/path",
                                     "/etc/group", "/etc/group"]
        c["linux"]["readonlyPaths"] = ["/proc/sys", "/tmp", "/no/such/path"]
        c["root"]["readonly"] = False
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
        c["mounts"].append({"destination": "/tmp/inner", "type": "tmpfs", "source": "tmpfs"})
    out = run_in("wc -c < /etc/group; ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>&1;"
                 " touch /tmp/x 2>&1; touch /tmp/inner/y 2>&1; touch /etc/ok && echo root-rw;"
                 " sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid' 2>&1; true", edit).stdout
    lines = out.splitlines()
    assert lines[0].strip() == "0"          # a file masked by /dev/null
    assert lines[1].strip() == "0"          # a directory masked by an empty tmpfs
    assert out.count("Read-only file system") == 4   # readonlyPaths are recursive
    assert "root-rw" in out


def test_root_readonly_keeps_other_mounts_writable(run_in: Run) -> None:
    out = run_in("touch /x 2>&1; touch /dev/shm/x && echo shm-rw; grep ' / ' "
                 "/proc/self/mountinfo").stdout
    assert "Read-only file system" in out and "shm-rw" in out
    assert "ro" in mount_opts(mountinfo_line(out, "/"))


# ---- sysctl --------------------------------------------------------------------------------

def test_sysctl_in_the_container_namespaces(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1",
                                "net/ipv4/conf/lo/forwarding": "1",
                                "kernel.domainname": "sysctl.example"}
    out = run_in("cd /proc/sys; cat net/ipv4/ip_forward kernel/shm_rmid_forced "
                 "net/ipv4/conf/lo/forwarding kernel/domainname", edit).stdout.split()
    assert out == ["1", "1", "1", "sysctl.example"]
    with open("/proc/sys/kernel/shm_rmid_forced") as f:   # the host's are untouched
        assert f.read().strip() == "0"


@pytest.mark.parametrize("key,needs", [("net.ipv4.ip_forward", "needs a network namespace"),
                                       ("kernel.hostname", "conflicts with the \"hostname\""),
                                       ("vm.swappiness", "is not namespaced"),
                                       ("net.ipv4..x", "is not a valid sysctl name")])
def test_sysctl_refused(run_in: Run, key: str, needs: str) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["sysctl"] = {key: "1"}
        if key.startswith("net."):
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                        if n["type"] != "network"]
    proc = run_in("true", edit, ok=False)
    assert proc.returncode == 1 and needs in proc.stderr, proc.stderr


# ---- pivot_root, --no-pivot, rootfsPropagation ---------------------------------------------

def test_pivot_root_leaves_no_host_mount_visible(run_in: Run) -> None:
    out = run_in("cat /proc/self/mountinfo").stdout
    points = [line.split()[4] for line in out.splitlines()]
    assert points[0] == "/" or "/" in points
    assert not any(p.startswith(("/work", "/mnt/sandboxing", "/run/netns")) for p in points)


def test_no_pivot(run_in: Run) -> None:
    out = run_in("ls /; cat /proc/1/cmdline | tr '\\0' ' '; echo; grep -c . /proc/self/mountinfo",
                 args=("--no-pivot",)).stdout
    assert "bin" in out.split()
    assert "sh -c" in out   # /proc is the container's own (pid 1 is our shell)


def test_no_pivot_with_private_root_propagation_is_refused(run_in: Run) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["rootfsPropagation"] = "private"
    proc = run_in("true", edit, ok=False, args=("--no-pivot",))
    assert proc.returncode == 1 and "not safe without pivot_root" in proc.stderr


@pytest.mark.parametrize("propagation,expect", [
    ("shared", "shared:"), ("slave", None), ("private", None), ("unbindable", "unbindable"),
    # recursive, as runc takes them (containerd's CRI plugin sends rslave and rshared)
    ("rshared", "shared:"), ("rslave", None), ("rprivate", None), ("runbindable", "unbindable")])
def test_rootfs_propagation(run_in: Run, propagation: str, expect: str | None) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["linux"]["rootfsPropagation"] = propagation
    out = run_in("cat /proc/self/mountinfo", edit).stdout
    fields = optional_fields(mountinfo_line(out, "/"))
    if expect is None:   # (a slave of a private host mount has no master to show)
        assert not any(f.startswith("shared:") for f in fields), fields
    else:
        assert any(f.startswith(expect) for f in fields), fields


# ---- idmapped mounts -----------------------------------------------------------------------

def test_idmapped_bind_mount(run_in: Run, tmp_path: Path) -> None:
    src = tmp_path / "owned"
    src.mkdir()
    (src / "f").write_text("x")
    os.chown(src / "f", 0, 0)
    out = run_in("stat -c '%u %g' /m/f", add_mounts(
        {"destination": "/m", "type": "bind", "source": str(src), "options": ["bind", "idmap"],
         "uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}],
         "gidMappings": [{"containerID": 0, "hostID": 4321, "size": 1}]})).stdout
    assert out.split() == ["1234", "4321"]


@pytest.mark.skipif("rootfs_early" not in (REPO / "native/init/main.c").read_text(),
                    reason="main.c does not call rootfs_early yet (idmap with a new userns)")
def test_idmapped_mount_with_the_user_namespace_mapping(run_in: Run, tmp_path: Path) -> None:
    src = tmp_path / "owned"
    src.mkdir()
    (src / "f").write_text("x")

    def edit(c: dict[str, Any]) -> None:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["root"]["readonly"] = False
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys", "/sys/fs/cgroup")]
        c["mounts"].append({"destination": "/m", "type": "bind", "source": str(src),
                            "options": ["rbind", "ridmap"]})
    out = run_in("stat -c '%u %g' /m/f; touch /m/new && echo wrote", edit).stdout.split()
    assert out == ["0", "0", "wrote"]          # host root's files are the container root's
    assert (src / "new").stat().st_uid == 0    # written back as host root through the map


# ---- the encoder's refusals ----------------------------------------------------------------

def _records(config: dict[str, Any], no_pivot: bool = False) -> list[tuple[int, bytes]]:
    return mounts.rootfs_records(config, str(REPO / "bundles" / "busybox"), no_pivot=no_pivot)


@pytest.mark.parametrize("mount,message", [
    ({"destination": "/a/../b", "type": "tmpfs"}, 'mounts[7].destination: must not contain ".."'),
    ({"destination": "/", "type": "tmpfs"}, "mounts[7].destination: \"/\" is the root itself"),
    ({"destination": "/x", "type": "bind"}, "mounts[7].source: a bind mount needs a source"),
    ({"destination": "/x", "type": "tmpfs", "options": ["idmap"]},
     "mounts[7].options: idmapped mounts are only supported for bind mounts"),
    ({"destination": "/x", "source": "/tmp", "options": ["bind", "idmap"]},
     "mounts[7].options: idmap needs the mount's uidMappings and gidMappings"),
    ({"destination": "/x", "source": "/tmp", "options": ["bind"],
      "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]},
     "mounts[7]: an idmapped mount needs both uidMappings and gidMappings"),
    ({"destination": "/x", "type": "proc", "options": ["tmpcopyup"]},
     "mounts[7].options: tmpcopyup is only for tmpfs mounts"),
    ({"destination": "/x"}, "mounts[7].type: required"),
])
def test_encoder_refuses_mounts_that_cannot_work(mount: dict[str, Any], message: str) -> None:
    config = busybox_config()
    config["mounts"].append(mount)
    with pytest.raises(ValueError) as err:
        _records(config)
    assert str(err.value).startswith(message), str(err.value)


def test_bind_mount_ignores_filesystem_options_like_runc() -> None:
    config = busybox_config()
    config["mounts"].append({"destination": "/x", "source": "/tmp",
                             "options": ["bind", "mode=755", "size=1k"]})
    mount = [payload for tag, payload in _records(config) if tag == 0x102][-1]
    assert b"/x\0" in mount and b"size=1k" not in mount and b"mode=755" not in mount


def test_option_parsing_like_runc() -> None:
    o = mounts.parse_options(["rbind", "ro", "rw", "nosuid", "suid", "rro", "rnoatime",
                              "rshared", "private", "tmpcopyup", "ridmap", "size=1m", "xyz"])
    assert o.flags == mounts.MS_BIND | mounts.MS_REC
    assert o.clear == mounts.MS_RDONLY | mounts.MS_NOSUID
    assert o.propagation == [mounts.MS_SHARED | mounts.MS_REC, mounts.MS_PRIVATE]
    assert o.attr_set == mounts.MOUNT_ATTR_RDONLY | mounts.MOUNT_ATTR_NOATIME
    assert o.attr_clr == mounts.MOUNT_ATTR__ATIME
    assert o.copyup and o.idmap and o.ridmap
    assert o.data == ["size=1m", "xyz"]


def test_relative_destination_and_rootfs_are_resolved() -> None:
    config = busybox_config()
    config["root"]["path"] = "rootfs"
    config["mounts"] = [{"destination": "data//./x/", "type": "tmpfs", "source": "tmpfs"}]
    records = _records(config)
    assert records[0][1] == str(ROOTFS.resolve()).encode() + b"\0"
    mount = next(payload for tag, payload in records if tag == 0x102)
    assert b"\0/data/x\0tmpfs\0" in mount
