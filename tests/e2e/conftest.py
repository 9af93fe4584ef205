"""End-to-end suites: real engines (podman, containerd) driving a runtime binary.

`--runtime runc` (or any path) runs the same suites against another runtime, which proves
they test the engines' behaviour, not pyrunc's quirks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import pyrunc_cmd


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runtime", default="pyrunc",
                     help="runtime binary for the e2e suites: pyrunc (this checkout's), "
                          "runc, crun or a path")


@pytest.fixture(scope="session")
def runtime_binary(request: pytest.FixtureRequest) -> str:
    """Absolute path of the runtime the engines are told to use."""
    name: str = request.config.getoption("--runtime")
    if name == "pyrunc":
        return pyrunc_cmd()[0]
    found = shutil.which(name) or (name if Path(name).is_absolute() else None)
    if not found or not Path(found).exists():
        raise pytest.UsageError(f"--runtime {name}: not found")
    return found
