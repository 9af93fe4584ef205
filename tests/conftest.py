"""Fixtures: a private pyrunc root per test and bundles built from the busybox rootfs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOTFS, Runtime, busybox_config, write_bundle


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("pyrunc's tests create real containers: run them as root")
    if not (ROOTFS / "bin" / "busybox").exists():
        raise pytest.UsageError(f"{ROOTFS} missing: run `sh bundles/install.sh` first")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(tmp_path / "root")
    yield rt
    # a test that failed half-way must not leak containers into the next one
    for container_id in rt.ids():
        rt("delete", "--force", container_id)
    leftovers = rt.ids()
    assert not leftovers, f"containers left behind: {leftovers}"


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(args: list[str] | None = None, config: dict[str, Any] | None = None,
             **process: Any) -> Path:
        cfg = config if config is not None else busybox_config(args, **process)
        return write_bundle(tmp_path / f"bundle{next(counter)}", cfg)

    return make
