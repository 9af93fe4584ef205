"""Long-running fuzz driver over config loading and the CLI's input (docs/robustness.md).

    .venv/bin/python tests/fuzz/fuzz_config.py [seconds] [--hypothesis] [libFuzzer flags]
                                                        (default 600 s; atheris if installed)

With atheris (``pip install atheris``): coverage-guided libFuzzer over ``one_input``, starting
from and adding to tests/fuzz/corpus/ (seeded by ``seed``), with tests/fuzz/config.dict;
a crash is written to tests/fuzz/crashes/. Without atheris: hypothesis's strategies
(tests/fuzz/strategies.py) for the same time, each input with a new outcome saved to the
corpus. Either way every corpus file is replayed by tests/test_fuzz_inputs.py, and a crash
found here becomes a named regression test there.

An input is one selector byte then the payload: the selector (mod 5) picks the target in
tests/fuzz/targets.py: config.json bytes, a --process file, an argv (NUL-separated), a kill
signal, a container id.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"
sys.path.insert(0, str(TESTS))
# the installed pyrunc (with its compiled schema check and CLI table), as the suite uses
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != TESTS.parent]

from helpers import ROOTFS, busybox_config  # noqa: E402

SELECTORS = b"cpasi"  # config, process, argv, signal, id
_WORK: dict[str, Path] = {}


def _work() -> Path:
    if "dir" not in _WORK:
        import atexit
        import shutil

        _WORK["dir"] = Path(tempfile.mkdtemp(prefix="pyrunc-fuzz-"))
        (_WORK["dir"] / "root").mkdir()
        atexit.register(shutil.rmtree, _WORK["dir"], ignore_errors=True)
    return _WORK["dir"]


def one_input(data: bytes) -> str:
    """Run one input through its target: the outcome, or AssertionError / an unexpected
    exception for a finding."""
    from fuzz import targets

    if not data:
        return "empty"
    kind = data[0] if data[0] in SELECTORS else SELECTORS[data[0] % len(SELECTORS)]
    payload = data[1:]
    work = _work()
    if kind == ord("c"):
        return targets.config_bytes(payload, work, ROOTFS)
    if kind == ord("p"):
        return targets.process_file(payload, work, ROOTFS)
    text = payload.decode("utf-8", "surrogateescape")  # as Python decodes argv
    if kind == ord("a"):
        args = text.split("\0")
        targets.argv(args)
        return str(targets.invoke_offline(args, work / "root")[0])
    if kind == ord("s"):
        return targets.signal_text(text.replace("\0", ""))
    return targets.container_id(text.replace("\0", ""))


def seed() -> list[bytes]:
    """Starting inputs: valid configs and process files, the spec's example, argvs."""
    base = busybox_config(["sleep", "1"])
    configs = [base, busybox_config(["sh"], terminal=True)]
    full = json.loads(json.dumps(base))
    full["linux"]["resources"].update({
        "memory": {"limit": 67108864, "swap": 134217728}, "cpu": {"shares": 512,
        "quota": 50000, "period": 100000, "cpus": "0"}, "pids": {"limit": 64}})
    full["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}
    full["linux"]["namespaces"].append({"type": "user"})
    full["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    full["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    full["hooks"] = {"createRuntime": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
    full["process"]["scheduler"] = {"policy": "SCHED_OTHER", "nice": 5}
    full["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 4}
    full["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    full["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    configs.append(full)
    out = [b"c" + json.dumps(c).encode() for c in configs]
    out += [b"p" + json.dumps(c["process"]).encode() for c in configs]
    out += [b"a" + "\0".join(a).encode() for a in (
        ["state", "x"], ["kill", "x", "KILL"], ["delete", "-f", "x"], ["list", "-q"],
        ["start", "x"], ["pause", "x"], ["ps", "x"], ["update", "--memory", "1", "x"],
        ["--log-format", "json", "list"], ["kill", "--all", "x", "SIGRTMIN+3"])]
    out += [b"s" + s.encode() for s in ("KILL", "9", "SIGRTMAX-2", "usr1")]
    out += [b"i" + s.encode() for s in ("abc", "a.b+c_d-e", "..")]
    return out


def write_seeds() -> None:
    CORPUS.mkdir(exist_ok=True)
    import hashlib

    for data in seed():
        path = CORPUS / f"seed-{hashlib.sha1(data).hexdigest()[:16]}"
        if not path.exists():
            path.write_bytes(data)


def run_atheris(seconds: int, extra: list[str]) -> int:
    import atheris

    with atheris.instrument_imports(include=["pyrunc"]):
        # import what the targets reach, so that it is instrumented for coverage
        import pyrunc.config._compiled

        import pyrunc.cli.dispatch
        import pyrunc.cli.invoke
        import pyrunc.config.load
        import pyrunc.config.validate
        import pyrunc.execute
        import pyrunc.jsonio
        import pyrunc.lifecycle
        import pyrunc.linux.cgroups._resources
        import pyrunc.linux.launcher
        import pyrunc.linux.seccomp
        import pyrunc.log
        import pyrunc.state.store  # noqa: F401
    CRASHES.mkdir(exist_ok=True)
    argv = [sys.argv[0], str(CORPUS), f"-max_total_time={seconds}", "-max_len=16384",
            f"-dict={HERE / 'config.dict'}", f"-artifact_prefix={CRASHES}/",
            "-timeout=20", "-rss_limit_mb=4096", "-print_final_stats=1", *extra]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()
    return 0


def run_hypothesis(seconds: int) -> int:
    """Without atheris: the strategies, for ``seconds``, saving inputs with new outcomes."""
    import hashlib

    from fuzz import strategies as S
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    base = busybox_config(["sleep", "1"])
    inputs = st.one_of(
        S.config_bytes(base).map(lambda d: b"c" + d),
        S.config_bytes(base).map(lambda d: b"p" + d),
        S.argvs().map(lambda a: b"a" + "\0".join(a).encode("utf-8", "surrogatepass")),
        S.signal_texts.map(lambda t: b"s" + t.encode("utf-8", "surrogatepass")),
        S.id_texts.map(lambda t: b"i" + t.encode("utf-8", "surrogatepass")),
    )
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    count = 0

    @settings(max_examples=2000, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def fuzz(data: bytes) -> None:
        nonlocal count
        if time.monotonic() > deadline:
            return
        count += 1
        try:
            outcome = one_input(data)
        except BaseException:
            CRASHES.mkdir(exist_ok=True)
            (CRASHES / f"crash-{hashlib.sha1(data).hexdigest()}").write_bytes(data)
            raise
        # the target and the kind of answer, without the values it quotes
        key = data[:1].decode(errors="replace") + outcome.split('"')[0].rstrip("0123456789")[:50]
        if key not in seen:
            seen.add(key)
            (CORPUS / f"h-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)

    while time.monotonic() < deadline:  # rounds of 2000: each a whole hypothesis run
        fuzz()
        print(f"hypothesis driver: {count} inputs, {len(seen)} kinds of answer", flush=True)
    print(f"hypothesis driver: {count} inputs in {seconds} s, {len(seen)} kinds of answer, "
          "no finding", flush=True)
    return 0


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 600
    extra = [a for a in sys.argv[1:] if a.startswith("-") and a != "--hypothesis"]
    write_seeds()
    try:
        import atheris  # noqa: F401
    except ImportError:
        return run_hypothesis(seconds)
    if "--hypothesis" in sys.argv:
        return run_hypothesis(seconds)
    return run_atheris(seconds, extra)


if __name__ == "__main__":
    sys.exit(main())
