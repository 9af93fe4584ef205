"""A throwaway unprivileged user for the rootless tests: made with useradd (with /etc/subuid
and /etc/subgid ranges for newuidmap/newgidmap), a work directory of its own (bundles,
$XDG_RUNTIME_DIR, engine storage), commands run as it through setpriv, and removed with
everything it left at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers import run_through_files

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SETPRIV = shutil.which("setpriv", path=PATH) or "setpriv"  # a test may give the user no PATH


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def subids(path: str, name: str) -> list[tuple[int, int]]:
    """(start, count) of ``name``'s ranges in /etc/subuid or /etc/subgid."""
    with open(path) as f:
        return [(int(start), int(count)) for user, start, count in
                (line.strip().split(":") for line in f if line.count(":") == 2)
                if user == name]


class ThrowawayUser:
    def __init__(self, prefix: str) -> None:
        import pwd

        self.name = f"{prefix}{os.getpid() % 1000000}"
        self.uid = self.gid = -1
        # not under pytest's basetemp: it is root's, 0700, the user could not reach it
        self.work = Path(tempfile.mkdtemp(prefix=f"pyrunc-{prefix}-"))
        os.chmod(self.work, 0o755)
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(self.work),
                        "--user-group", "--shell", "/bin/sh", self.name],
                       check=True, stdout=subprocess.DEVNULL)
        try:
            entry = pwd.getpwnam(self.name)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid
            self._ensure_subids()
            os.chown(self.work, self.uid, self.gid)
            self.xdg = self.mkdir("xdg", 0o700)
        except BaseException:
            self.remove()
            raise

    def _ensure_subids(self) -> None:
        """useradd gives ranges from login.defs' SUB_UID_*; add one where it did not."""
        for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
            if subids(path, self.name):
                continue
            with open(path) as f:
                ends = [int(s) + int(c) for _, s, c in
                        (line.strip().split(":") for line in f if line.count(":") == 2)]
            start = max([100000, *ends])
            subprocess.run(["usermod", flag, f"{start}-{start + 65535}", self.name],
                           check=True)

    def subid(self, kind: str) -> int:
        """The first id of the user's subordinate uid ("uid") or gid ("gid") range."""
        return subids(f"/etc/sub{kind}", self.name)[0][0]

    def mkdir(self, name: str, mode: int = 0o755) -> Path:
        path = self.work / name
        path.mkdir(mode=mode)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)
        return path

    def chown_tree(self, top: Path) -> None:
        for root, dirs, files in os.walk(top):
            for entry in (root, *(os.path.join(root, n) for n in dirs + files)):
                os.lchown(entry, self.uid, self.gid)

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": PATH, "HOME": str(self.work), "USER": self.name,
                "LOGNAME": self.name, "XDG_RUNTIME_DIR": str(self.xdg), **extra}

    def argv(self, command: list[str]) -> list[str]:
        # setpriv execs while it still holds its capabilities (then the kernel drops them),
        # so it can start a venv interpreter that lives under root's 0700 home
        return [SETPRIV, f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                *command]

    def run(self, command: list[str], env: dict[str, str] | None = None,
            prefix: list[str] | None = None, timeout: float = 120,
            stdin: object = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
        """``command`` as the user; stdout/stderr through files, never pipes (a detached
        container keeps them open)."""
        return run_through_files([*(prefix or []), *self.argv(command)],
                                 env=env if env is not None else self.env(), stdin=stdin,
                                 cwd=self.work, timeout=timeout)

    def processes(self) -> list[int]:
        """Live (not zombie) processes running as the user's uid."""
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                status = proc_status(int(name))
            except OSError:
                continue
            if status["Uid"].split()[0] == str(self.uid) and not status["State"].startswith("Z"):
                found.append(int(name))
        return found

    def remove(self) -> None:
        """Kill what still runs as the user (a test that failed half-way), by pid; remove the
        user (userdel drops its subuid/subgid ranges too) and its files."""
        for pid in self.processes() if self.uid > 0 else []:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                continue
        try:
            proc = subprocess.run(["userdel", self.name], check=False, capture_output=True,
                                  text=True)
            assert proc.returncode == 0, f"userdel {self.name}: {proc.stderr.strip()}"
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
