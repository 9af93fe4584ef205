"""Shared test helpers: run the real pyrunc CLI on real bundles."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ROOTFS = REPO / "bundles" / "busybox" / "rootfs"
SHARED = Path(os.environ.get("PYRUNC_SHARED", REPO.parent / "shared"))
BUSYBOX_CONFIG = REPO / "bundles" / "busybox" / "config.json"


def pyrunc_cmd() -> list[str]:
    """The installed console script when there is one, else ``python -m pyrunc``."""
    script = Path(sys.executable).parent / "pyrunc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pyrunc"]


def run_through_files(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """subprocess.run with stdout and stderr through files, not pipes: a container that the
    command leaves behind (detached, or a task's stdio) keeps them open, and must not make
    this call wait for it. What is there when the command exits is returned, as text."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(argv, stdout=out, stderr=err, **kwargs)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode,
                                           out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


class Runtime:
    """pyrunc with a private --root, so tests never see each other's containers."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60,
                 global_args: tuple[str, ...] = (), **kwargs: Any
                 ) -> subprocess.CompletedProcess[str]:
        """Run pyrunc (its output through files: see run_through_files)."""
        return run_through_files(
            [*pyrunc_cmd(), "--root", str(self.root), *global_args, *args],
            input=input.encode() if input is not None else None,
            stdin=None if input is not None else subprocess.DEVNULL,
            timeout=timeout, **kwargs)

    def state(self, container_id: str) -> dict[str, Any]:
        proc = self("state", container_id)
        assert proc.returncode == 0, proc.stderr
        state: dict[str, Any] = json.loads(proc.stdout)
        return state

    def ids(self) -> list[str]:
        return sorted(os.listdir(self.root)) if self.root.exists() else []


def busybox_config(args: list[str] | None = None, **process: Any) -> dict[str, Any]:
    """bundles/busybox's config with other process args (and process fields)."""
    config: dict[str, Any] = json.loads(BUSYBOX_CONFIG.read_text())
    config = copy.deepcopy(config)
    if args is not None:
        config["process"]["args"] = args
    config["process"].update(process)
    config["root"]["path"] = str(ROOTFS)
    return config


def write_bundle(directory: Path, config: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    return directory


def official_validator(schema_file: str) -> Any:
    """A jsonschema validator for one of the official runtime-spec schemas in ../shared,
    with the relative $refs between its files resolved."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    directory = SHARED / "oci-runtime-spec-v1.3.0"
    resources = [(p.name, Resource.from_contents(json.loads(p.read_text()),
                                                 default_specification=DRAFT4))
                 for p in directory.glob("*.json")]
    registry: Any = Registry().with_resources(resources)
    schema = json.loads((directory / schema_file).read_text())
    return jsonschema.Draft4Validator(schema, registry=registry)


def cgroup_dirs(container_id: str) -> list[str]:
    """Every cgroup directory named ``container_id`` (a container's default cgroup)."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if container_id in dirs:
            found.append(os.path.join(root, container_id))
        if root.count("/") > 6:
            dirs[:] = []
    return found
