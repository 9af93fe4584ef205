"""Benchmark (not a test): pyrunc beside runc and crun, as issue #6 measures them.

    python tests/benchmarks/lifecycle.py [--runs 20] [--parallel 100x8] [--runtime NAME=PATH]

Measures, for each runtime found, with runs alternating between runtimes:
  lifecycle  `create -b B ID && start ID && delete -f ID`, busybox running /bin/true
  state      `state ID` of a created container
  rss        VmRSS of the process that waits between create and start
  parallel   100 lifecycles, 8 at a time (wall time, failures, leftovers)
and, with crun, what no runtime whose three commands are each a fresh CPython process can
beat here: measured, "py+crun", crun behind a bare interpreter (a script that only execs
crun: every command is a CPython start-up plus crun's whole work); computed, the floor, crun's
work plus per command a bare interpreter's start-up (`python -I -S -c pass`) in place of
crun's own (`crun --version`). `--no-reference` leaves py+crun out.
Each run gets a fresh bundle directory and config.json, as engines do. On a hybrid cgroup
host everything runs in a private mount namespace without /sys/fs/cgroup/unified, because
crun 1.8 refuses that layout: every runtime runs under the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTFS = REPO / "bundles" / "busybox" / "rootfs"
INNER = "PYRUNC_BENCH_INNER"


def default_runtimes() -> dict[str, str]:
    found = {"pyrunc": str(Path(sys.executable).parent / "pyrunc")}
    for name in ("runc", "crun"):
        path = shutil.which(name)
        if path:
            found[name] = path
    return found


REFERENCE = "py+crun"


def reference_runtime(directory: Path, crun: str) -> str:
    """A "runtime" that is a bare CPython (the one pyrunc runs on, without site) exec'ing
    crun: a Python runtime whose own work costs nothing and is done by crun's C."""
    script = directory / "py-crun"
    script.write_text(f"#!{sys.executable} -IS\nimport os, sys\n"
                      f"os.execv({crun!r}, [{crun!r}, *sys.argv[1:]])\n")
    script.chmod(0o755)
    return str(script)


def runc_spec_config() -> dict[str, object]:
    """`runc spec`'s default config (what the issue's table measured), running /bin/true."""
    with tempfile.TemporaryDirectory() as directory:
        runc = shutil.which("runc")
        if runc:
            subprocess.run([runc, "spec", "-b", directory], check=True)
        else:
            subprocess.run([sys.executable, "-m", "pyrunc", "spec", "-b", directory], check=True)
        config: dict[str, object] = json.loads(Path(directory, "config.json").read_text())
    process = config["process"]
    assert isinstance(process, dict)
    process["args"] = ["/bin/true"]
    process["terminal"] = False
    config["root"] = {"path": str(ROOTFS), "readonly": True}
    return config


class Bench:
    def __init__(self, runtimes: dict[str, str], work: Path) -> None:
        self.runtimes = runtimes
        self.work = work
        self.config = json.dumps(runc_spec_config())
        self.counter = 0

    def bundle(self) -> Path:
        """A fresh bundle (directory and config.json) per run, as engines make them."""
        self.counter += 1
        directory = self.work / f"bundle{self.counter}"
        directory.mkdir()
        (directory / "config.json").write_text(self.config)
        return directory

    def cmd(self, name: str, *args: str) -> list[str]:
        return [self.runtimes[name], "--root", str(self.work / f"root-{name}"), *args]

    def run(self, name: str, *args: str) -> None:
        # stderr into a file, not a pipe: the container's init inherits it and keeps it
        # open, so reading a pipe to its end would wait for the container
        with tempfile.TemporaryFile() as err:
            proc = subprocess.run(self.cmd(name, *args), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err)
            if proc.returncode:
                err.seek(0)
                raise subprocess.CalledProcessError(proc.returncode, proc.args,
                                                    stderr=err.read())

    def cleanup(self, name: str, container_id: str) -> None:
        """After a failed step: nothing may outlive the benchmark."""
        subprocess.run(self.cmd(name, "delete", "-f", container_id), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def lifecycle(self, name: str, container_id: str) -> float:
        bundle = self.bundle()
        start = time.perf_counter()
        try:
            self.run(name, "create", "-b", str(bundle), container_id)
            self.run(name, "start", container_id)
            self.run(name, "delete", "-f", container_id)
        except BaseException:
            self.cleanup(name, container_id)
            raise
        return time.perf_counter() - start

    def state_and_rss(self, name: str, container_id: str) -> tuple[float, int]:
        try:
            self.run(name, "create", "-b", str(self.bundle()), container_id)
            start = time.perf_counter()
            out = subprocess.run(self.cmd(name, "state", container_id), check=True,
                                 stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True).stdout
            elapsed = time.perf_counter() - start
            pid = json.loads(out)["pid"]
            return elapsed, rss_kb(pid)
        finally:
            self.cleanup(name, container_id)

    def parallel(self, name: str, total: int, width: int) -> tuple[float, int]:
        bundles = [self.bundle() for _ in range(total)]

        def one(i: int) -> bool:
            try:
                cid = f"par-{name}-{i}"
                self.run(name, "create", "-b", str(bundles[i]), cid)
                self.run(name, "start", cid)
                self.run(name, "delete", "-f", cid)
                return True
            except subprocess.CalledProcessError as err:
                print(f"  {name} #{i}: {err.stderr.decode().strip()}", file=sys.stderr)
                self.cleanup(name, cid)
                return False

        start = time.perf_counter()
        with ThreadPoolExecutor(width) as pool:
            failures = sum(not ok for ok in pool.map(one, range(total)))
        return time.perf_counter() - start, failures

    def start_up(self, argv: list[str]) -> tuple[float, float]:
        """Wall and CPU seconds of a command that only starts and exits."""
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0)
                                           for fd in (0, 1, 2)])
        _, status, usage = os.wait4(pid, 0)
        if status:
            raise subprocess.CalledProcessError(status, argv)
        return time.perf_counter() - start, usage.ru_utime + usage.ru_stime

    def leftovers(self, name: str) -> list[str]:
        root = self.work / f"root-{name}"
        return sorted(p.name for p in root.iterdir()) if root.exists() else []


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--parallel", default="100x8", help="TOTALxWIDTH, or 0 to skip")
    parser.add_argument("--runtime", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--no-reference", action="store_true",
                        help="without py+crun (crun behind a bare CPython)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench: run as root (containers are real)", file=sys.stderr)
        return 1
    if os.environ.get(INNER) is None and os.path.ismount("/sys/fs/cgroup/unified"):
        # hybrid host: the same private mount namespace for every runtime (crun needs it)
        script = 'umount /sys/fs/cgroup/unified && exec "$@"'
        os.environ[INNER] = "1"
        os.execvp("unshare", ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                              "sh", sys.executable, *sys.argv])
    runtimes = default_runtimes()
    for item in args.runtime:
        name, _, path = item.partition("=")
        runtimes[name] = path
    with tempfile.TemporaryDirectory(prefix="pyrunc-bench-") as tmp:
        if "crun" in runtimes and not args.no_reference:
            runtimes[REFERENCE] = reference_runtime(Path(tmp), runtimes["crun"])
        bench = Bench(runtimes, Path(tmp))
        results: dict[str, dict[str, float]] = {name: {} for name in runtimes}
        samples: dict[str, dict[str, list[float]]] = {
            name: {"lifecycle": [], "state": [], "rss": []} for name in runtimes}
        # the floor's start-ups: a bare interpreter (the one pyrunc runs on), crun's own
        start_ups = {"python": [sys.executable, "-I", "-S", "-c", "pass"]}
        if "crun" in runtimes:
            start_ups["crun"] = [runtimes["crun"], "--version"]
        starts: dict[str, list[tuple[float, float]]] = {name: [] for name in start_ups}
        for name in runtimes:  # warm the page cache once for each
            bench.lifecycle(name, "warm")
        for i in range(args.runs):
            for name in runtimes:  # alternating, so drifts hit everyone alike
                samples[name]["lifecycle"].append(bench.lifecycle(name, f"c{i}"))
                elapsed, rss = bench.state_and_rss(name, f"s{i}")
                samples[name]["state"].append(elapsed)
                samples[name]["rss"].append(rss)
            for name, argv in start_ups.items():
                starts[name].append(bench.start_up(argv))
        for name in runtimes:
            for measure, values in samples[name].items():
                results[name][measure] = statistics.median(values)
        start_up = {name: (statistics.median(w for w, _ in values),
                           statistics.median(c for _, c in values))
                    for name, values in starts.items()}
        total, width = ((int(x) for x in args.parallel.split("x")) if args.parallel != "0"
                        else (0, 0))
        if total:
            for name in runtimes:
                wall, failures = bench.parallel(name, total, width)
                results[name]["parallel"] = wall
                results[name]["failures"] = failures
                results[name]["leftovers"] = len(bench.leftovers(name))
        report(results, args.runs, args.parallel)
        report_floor(results, start_up, total)
    return 0


def report(results: dict[str, dict[str, float]], runs: int, parallel: str) -> None:
    print(f"\nmedians of {runs} runs (parallel: {parallel}, total wall time)\n")
    header = f"{'runtime':<8} {'lifecycle':>10} {'state':>8} {'rss':>9} {'parallel':>9}  failures"
    print(header)
    for name, r in results.items():
        par = f"{r['parallel']:.2f} s" if "parallel" in r else "-"
        fails = f"{int(r.get('failures', 0))} (left {int(r.get('leftovers', 0))})"
        print(f"{name:<8} {r['lifecycle'] * 1000:>7.1f} ms {r['state'] * 1000:>5.1f} ms "
              f"{r['rss'] / 1024:>6.1f} MB {par:>9}  {fails if 'parallel' in r else '-'}")
    for mine_name, others in (("pyrunc", ("runc", "crun")), (REFERENCE, ("crun",))):
        report_ratios(results, mine_name, others)


def report_ratios(results: dict[str, dict[str, float]], mine_name: str,
                  others: tuple[str, ...]) -> None:
    mine = results.get(mine_name)
    if mine:
        for other in others:
            if other in results:
                theirs = results[other]
                ratios = [f"{m} {mine[m] / theirs[m]:.2f}x" for m in
                          ("lifecycle", "state", "rss", "parallel")
                          if m in mine and m in theirs and theirs[m]]
                print(f"{mine_name}/{other}: " + ", ".join(ratios))


def report_floor(results: dict[str, dict[str, float]],
                 start_up: dict[str, tuple[float, float]], total: int) -> None:
    """What no runtime can beat whose create, start and delete each start CPython: crun's
    measured work, with each of crun's three start-ups (wall, CPU) replaced by a bare
    interpreter's. The parallel run (``total`` lifecycles; 0: not run) is CPU-bound on a
    small machine, so there the extra CPU is spread over the CPUs. pyrunc's own Python work
    comes on top of this."""
    crun = results.get("crun")
    if not crun or "crun" not in start_up:
        return
    (py_wall, py_cpu), (crun_wall, crun_cpu) = start_up["python"], start_up["crun"]
    print(f"\nstart-up alone: python -I -S -c pass {py_wall * 1000:.1f} ms "
          f"({py_cpu * 1000:.1f} ms CPU), crun --version {crun_wall * 1000:.1f} ms "
          f"({crun_cpu * 1000:.1f} ms CPU)")
    lifecycle = crun["lifecycle"] + 3 * (py_wall - crun_wall)
    line = (f"floor for three CPython start-ups: lifecycle {lifecycle * 1000:.1f} ms "
            f"({lifecycle / crun['lifecycle']:.2f}x crun)")
    if "parallel" in crun:
        cpus = len(os.sched_getaffinity(0))
        wall = crun["parallel"] + total * 3 * (py_cpu - crun_cpu) / cpus
        line += (f", parallel ~{wall:.2f} s ({wall / crun['parallel']:.2f}x crun; "
                 f"{cpus} CPUs)")
    print(line)


if __name__ == "__main__":
    sys.exit(main())
