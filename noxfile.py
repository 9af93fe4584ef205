"""Developer sessions. They use the project's .venv (made by bundles/install.sh) because the
tests need root, a compiled pyrunc and the busybox rootfs; nox only sequences the steps."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests", "spec_tests", "e2e"]

PY = ".venv/bin/python"


def _setup(session: nox.Session) -> None:
    session.run("sh", "bundles/install.sh", external=True)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    _setup(session)
    session.run(".venv/bin/ruff", "check", "pyrunc", "tests", "spec-tests", "native",
                "noxfile.py", "setup.py", external=True)


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    _setup(session)
    session.run(".venv/bin/mypy", external=True)


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    _setup(session)
    session.run(PY, "-m", "pytest", "tests", "--ignore=tests/e2e", *session.posargs,
                external=True)


@nox.session(python=False)
def spec_tests(session: nox.Session) -> None:
    _setup(session)
    session.run(PY, "-m", "pytest", "spec-tests", *session.posargs, external=True)


@nox.session(python=False)
def e2e(session: nox.Session) -> None:
    """The real engines (podman, containerd) driving pyrunc; `-- --runtime runc` checks the
    same suites against runc."""
    _setup(session)
    session.run("sh", "tests/e2e/install.sh", external=True)
    session.run(PY, "-m", "pytest", "tests/e2e", *session.posargs, external=True)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """pyrunc beside runc and crun (whichever are installed): medians and ratios. Not a test:
    nothing asserts; `nox -s bench -- --runs 50` passes options through."""
    _setup(session)
    session.run(PY, "tests/benchmarks/lifecycle.py", *session.posargs, external=True)
