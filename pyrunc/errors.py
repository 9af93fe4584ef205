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
    """config.json is unreadable or invalid; one line per problem, the first MAX_LINES of
    them unless ``show_all``: engines pass the runtime's error on (conmon in a buffer of
    its own), and 120 lines for the 120 devices of `podman run --privileged` bury it."""

    MAX_LINES = 5

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.show_all = False

    @property
    def lines(self) -> list[str]:
        shown = self.problems
        if not self.show_all and len(shown) > self.MAX_LINES:
            more = len(shown) - self.MAX_LINES + 1
            shown = [*shown[:self.MAX_LINES - 1], f"... and {more} more problems"]
        return [f"config.json: {p}" for p in shown]


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
