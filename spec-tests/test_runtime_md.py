"""runtime.md of runtime-spec 1.3.0: one test per MUST that pyrunc's lifecycle covers.

Each test is named after its requirement and quotes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import Runtime, busybox_config, official_validator, write_bundle

Bundle = Callable[..., Path]


def wait_status(runtime: Runtime, cid: str, status: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if runtime.state(cid)["status"] == status:
            return True
        time.sleep(0.02)
    return False


def test_id_must_be_unique_across_all_containers(runtime: Runtime, make_bundle: Bundle) -> None:
    """state.id: "This MUST be unique across all containers on this host." """
    bundle = make_bundle(["sleep", "100"])
    assert runtime("create", "-b", str(bundle), "same").returncode == 0
    assert runtime("create", "-b", str(bundle), "same").returncode == 1


def test_state_must_adhere_to_the_state_schema(runtime: Runtime, make_bundle: Bundle) -> None:
    """ "When serialized in JSON, the format MUST adhere to the JSON Schema state-schema.json." """
    validator = official_validator("state-schema.json")
    config = busybox_config(["sleep", "100"])
    config["annotations"] = {"org.example": "x"}
    assert runtime("create", "-b", str(write_bundle(make_bundle().parent / "ann", config)),
                   "c1").returncode == 0
    for status in ("created", "running", "stopped"):
        state = runtime.state("c1")
        assert state["status"] == status
        validator.validate(state)
        if status == "created":
            runtime("start", "c1")
        elif status == "running":
            runtime("kill", "c1", "KILL")
            assert wait_status(runtime, "c1", "stopped")


def test_unable_to_create_environment_must_generate_an_error(runtime: Runtime,
                                                             make_bundle: Bundle) -> None:
    """Lifecycle 2: "If the runtime is unable to create the environment specified in the
    config.json, it MUST generate an error." """
    config = busybox_config(["true"])
    config["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
    proc = runtime("create", "-b", str(write_bundle(make_bundle().parent / "bad", config)), "c1")
    assert proc.returncode == 1 and "nosuchfs" in proc.stderr


def test_config_updates_after_create_must_not_affect_the_container(runtime: Runtime,
                                                                  make_bundle: Bundle) -> None:
    """Lifecycle 2: "Any updates to config.json after this step MUST NOT affect the
    container." """
    bundle = make_bundle(["sh", "-c", "echo original"])
    assert runtime("create", "-b", str(bundle), "c1").returncode == 0
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["sh", "-c", "echo changed"]
    config["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    (bundle / "config.json").write_text(json.dumps(config))
    assert runtime("start", "c1").returncode == 0
    assert wait_status(runtime, "c1", "stopped")


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_must_generate_an_error_and_stop(runtime: Runtime,
                                                             make_bundle: Bundle,
                                                             kind: str) -> None:
    """Lifecycle 3-5: "If any <kind> hook fails, the runtime MUST generate an error, stop the
    container, and continue the lifecycle at step 12." """
    config = busybox_config(["true"])
    config["hooks"] = {kind: [{"path": "/bin/false"}]}
    proc = runtime("create", "-b", str(write_bundle(make_bundle().parent / kind, config)), "c1")
    assert proc.returncode == 1 and f"{kind} hook #0" in proc.stderr
    assert runtime.ids() == []  # destroyed (step 12)


def test_hooks_must_be_invoked_in_lifecycle_order(runtime: Runtime, tmp_path: Path) -> None:
    """Lifecycle 3, 4, 5, 7, 9, 13: each hook kind MUST be invoked by the runtime, in order."""
    log = tmp_path / "order"
    config = busybox_config(["true"])
    config["root"]["readonly"] = False
    config["mounts"].append({"destination": str(tmp_path), "type": "bind",
                             "source": str(tmp_path), "options": ["rbind"]})
    kinds = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"]
    config["hooks"] = {k: [{"path": "/bin/sh", "args": ["sh", "-c", f"echo {k} >> {log}"]}]
                       for k in kinds}
    assert runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1").returncode == 0
    assert log.read_text().split() == kinds


def test_runtime_must_run_the_user_specified_program(runtime: Runtime,
                                                     make_bundle: Bundle) -> None:
    """Lifecycle 8: "The runtime MUST run the user-specified program, as specified by
    process." """
    proc = runtime("run", "-b", str(make_bundle(["sh", "-c", "echo $0 ran"])), "c1")
    assert proc.stdout == "sh ran\n"


def test_failing_poststart_hook_must_generate_an_error_and_stop(runtime: Runtime,
                                                                make_bundle: Bundle) -> None:
    """Lifecycle 9: "If any poststart hook fails, the runtime MUST generate an error, stop
    the container, and continue the lifecycle at step 12." """
    config = busybox_config(["sleep", "100"])
    config["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    bundle = write_bundle(make_bundle().parent / "ps", config)
    assert runtime("create", "-b", str(bundle), "c1").returncode == 0
    assert runtime("start", "c1").returncode == 1
    assert runtime.state("c1")["status"] == "stopped"


def test_failing_poststop_hook_must_log_a_warning_and_continue(runtime: Runtime,
                                                               make_bundle: Bundle) -> None:
    """Lifecycle 13: "If any poststop hook fails, the runtime MUST log a warning, but the
    remaining hooks and lifecycle continue as if the hook had succeeded." """
    config = busybox_config(["true"])
    config["hooks"] = {"poststop": [{"path": "/bin/false"}, {"path": "/bin/true"}]}
    proc = runtime("run", "-b", str(write_bundle(make_bundle().parent / "p", config)), "c1")
    assert proc.returncode == 0 and "warning" in proc.stderr
    assert runtime.ids() == []


def test_error_must_leave_the_environment_as_if_never_attempted(runtime: Runtime,
                                                                make_bundle: Bundle) -> None:
    """Errors: "generating an error MUST leave the state of the environment as if the
    operation were never attempted." """
    proc = runtime("create", "-b", str(make_bundle(["/missing"])), "c1")
    assert proc.returncode == 1
    assert runtime.ids() == []
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0


def test_state_must_generate_an_error_without_an_id(runtime: Runtime) -> None:
    """state: "This operation MUST generate an error if it is not provided the ID." """
    assert runtime("state").returncode == 1


def test_query_of_nonexistent_container_must_generate_an_error(runtime: Runtime) -> None:
    """state: "Attempting to query a container that does not exist MUST generate an
    error." """
    proc = runtime("state", "nope")
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_create_must_generate_an_error_without_an_id(runtime: Runtime,
                                                     make_bundle: Bundle) -> None:
    """create: "MUST generate an error if it is not provided a path to the bundle and the
    container ID." """
    assert runtime("create", "-b", str(make_bundle(["true"]))).returncode == 1
    assert runtime.ids() == []


def test_create_must_apply_all_properties_except_process(runtime: Runtime,
                                                         make_bundle: Bundle) -> None:
    """create: "All of the properties configured in config.json except for process MUST be
    applied." (process.args MUST NOT run until start.) """
    bundle = make_bundle(["sh", "-c", "echo ran"])
    assert runtime("create", "-b", str(bundle), "c1").returncode == 0
    pid = runtime.state("c1")["pid"]
    assert Path(f"/proc/{pid}/root/bin/busybox").exists()  # pivoted into the rootfs
    assert (Path(f"/proc/{pid}/root/etc/hostname").exists() or
            os_hostname(pid) == "busybox")
    assert "ran" not in Path(f"/proc/{pid}/cmdline").read_text()


def os_hostname(pid: int) -> str:
    import subprocess

    return subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True,
                          text=True).stdout.strip()


def test_start_must_generate_an_error_without_an_id(runtime: Runtime) -> None:
    """start: "MUST generate an error if it is not provided the container ID." """
    assert runtime("start").returncode == 1


def test_start_of_a_container_not_created_must_error_and_have_no_effect(
        runtime: Runtime, make_bundle: Bundle) -> None:
    """start: "Attempting to start a container that is not created MUST have no effect on
    the container and MUST generate an error." """
    assert runtime("run", "-d", "-b", str(make_bundle(["sleep", "100"])), "c1").returncode == 0
    before = runtime.state("c1")
    assert runtime("start", "c1").returncode == 1
    assert runtime.state("c1") == before


def test_start_must_generate_an_error_if_process_was_not_set(runtime: Runtime,
                                                              make_bundle: Bundle) -> None:
    """start: "This operation MUST generate an error if process was not set." (pyrunc
    refuses such a config at create, before anything is set up.)"""
    config = busybox_config()
    del config["process"]
    proc = runtime("create", "-b", str(write_bundle(make_bundle().parent / "np", config)), "c1")
    assert proc.returncode == 1 and "process" in proc.stderr


def test_kill_must_generate_an_error_without_an_id(runtime: Runtime) -> None:
    """kill: "MUST generate an error if it is not provided the container ID." """
    assert runtime("kill").returncode == 1


def test_kill_of_a_stopped_container_must_error_and_have_no_effect(
        runtime: Runtime, make_bundle: Bundle) -> None:
    """kill: "Attempting to send a signal to a container that is neither created nor running
    MUST have no effect on the container and MUST generate an error." """
    assert runtime("run", "-d", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    assert wait_status(runtime, "c1", "stopped")
    assert runtime("kill", "c1", "KILL").returncode == 1
    assert runtime.state("c1")["status"] == "stopped"


def test_kill_must_send_the_signal_to_the_container_process(runtime: Runtime,
                                                            make_bundle: Bundle) -> None:
    """kill: "This operation MUST send the specified signal to the container process." """
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    assert runtime("kill", "c1", "KILL").returncode == 0
    assert wait_status(runtime, "c1", "stopped")


def test_delete_must_generate_an_error_without_an_id(runtime: Runtime) -> None:
    """delete: "MUST generate an error if it is not provided the container ID." """
    assert runtime("delete").returncode == 1


def test_delete_of_a_running_container_must_error_and_have_no_effect(
        runtime: Runtime, make_bundle: Bundle) -> None:
    """delete: "Attempting to delete a container that is not stopped MUST have no effect on
    the container and MUST generate an error." (running)"""
    assert runtime("run", "-d", "-b", str(make_bundle(["sleep", "100"])), "c1").returncode == 0
    assert runtime("delete", "c1").returncode == 1
    assert runtime.state("c1")["status"] == "running"


@pytest.mark.xfail(strict=True, reason="pyrunc follows runc here: delete of a created "
                   "container kills and removes it, which containerd relies on "
                   "(docs/conformance.md)")
def test_delete_of_a_created_container_must_error(runtime: Runtime,
                                                  make_bundle: Bundle) -> None:
    """delete: "Attempting to delete a container that is not stopped MUST ... generate an
    error." (created)"""
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    assert runtime("delete", "c1").returncode == 1


def test_delete_must_delete_the_resources_created_during_create(runtime: Runtime,
                                                                make_bundle: Bundle) -> None:
    """delete: "Deleting a container MUST delete the resources that were created during the
    create step." """
    assert runtime("create", "-b", str(make_bundle(["true"])), "c1").returncode == 0
    state_dir = runtime.root / "c1"
    pid = runtime.state("c1")["pid"]
    assert state_dir.exists()
    assert runtime("delete", "c1").returncode == 0
    assert not state_dir.exists()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{pid}").exists()


def test_resources_not_created_by_the_container_must_not_be_deleted(
        runtime: Runtime, make_bundle: Bundle, tmp_path: Path) -> None:
    """delete: "resources associated with the container, but not created by this container,
    MUST NOT be deleted." """
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "keep").write_text("x")
    config = busybox_config(["true"])
    config["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared),
                             "options": ["rbind"]})
    assert runtime("run", "-b", str(write_bundle(tmp_path / "b", config)), "c1").returncode == 0
    assert (shared / "keep").read_text() == "x"
