"""Errors that reach the user as one line each, exit status 1, never a traceback."""

from __future__ import annotations


class PyruncError(Exception):
    """A failure to report to the caller. Each element of ``lines`` is one log line."""

    @property
    def lines(self) -> list[str]:
        return [str(self)]


class UsageError(PyruncError):
    """Bad command-line arguments."""


class ConfigError(PyruncError):
    """config.json is unreadable or invalid; one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    @property
    def lines(self) -> list[str]:
        return [f"config.json: {p}" for p in self.problems]


class ContainerNotFound(PyruncError):
    def __init__(self, container_id: str) -> None:
        # callers (containerd, podman) match on "does not exist"
        super().__init__(f'container "{container_id}" does not exist')


class ContainerNotRunning(PyruncError):
    def __init__(self) -> None:
        super().__init__("container not running")


class LaunchError(Exception):
    """The container could not be set up; str() is the one-line reason (the lifecycle turns
    it into a PyruncError)."""
