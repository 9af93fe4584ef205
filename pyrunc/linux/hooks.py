"""Hooks that run in the runtime's namespace: prestart, createRuntime, poststart, poststop.

(createContainer and startContainer run inside the container, from pyrunc-init.) Each hook
gets the container's state JSON on stdin; ``timeout`` is in seconds. A failure raises
HookError; the lifecycle decides whether it fails the operation (prestart, createRuntime) or
only warns (poststart, poststop), as the runtime-spec says.
"""

from __future__ import annotations

from pyrunc import jsonio
from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class HookError(PyruncError):
    pass


def run_hooks(kind: str, hooks: list[dict[str, Any]] | None, state: dict[str, Any],
              on_failure: Callable[[HookError], None] | None = None) -> None:
    """Run ``hooks`` in order. The first failure raises HookError, unless ``on_failure`` is
    given: then it gets each failure and the remaining hooks still run (poststop: "the
    remaining hooks and lifecycle continue as if the hook had succeeded")."""
    if not hooks:
        return
    for i, hook in enumerate(hooks):
        try:
            _run_hook(kind, i, hook, state)
        except HookError as err:
            if on_failure is None:
                raise
            on_failure(err)


MAX_WAIT = 2**31 // 1000 - 1  # seconds: the most epoll/poll can wait (INT_MAX ms), ~24 days


def _run_hook(kind: str, i: int, hook: dict[str, Any], state: dict[str, Any]) -> None:
    import subprocess  # only with hooks to run: it costs ~4 ms to import

    stdin = jsonio.dumps(state).encode()
    path = hook["path"]
    args = hook.get("args") or [path]
    env = None
    if "env" in hook:
        env = dict(e.split("=", 1) for e in hook["env"] if "=" in e)
    timeout = hook.get("timeout")
    if timeout is not None and timeout > MAX_WAIT:  # the schema sets no maximum
        timeout = None  # (subprocess would raise OverflowError): as good as none
    try:
        proc = subprocess.run(
            args, executable=path, input=stdin, env=env, capture_output=True,
            timeout=timeout, close_fds=True,
        )
    except subprocess.TimeoutExpired:
        raise HookError(
            f"{kind} hook #{i} ({path}) timed out after {hook['timeout']}s"
        ) from None
    except OSError as err:
        raise HookError(f"{kind} hook #{i} ({path}) failed: {err.strerror}") from None
    if proc.returncode != 0:
        status = (f"signal {-proc.returncode}" if proc.returncode < 0
                  else f"exit status {proc.returncode}")
        # like runc, a hook's output is shown only when it fails
        detail = proc.stderr.decode(errors="replace").strip().replace("\n", " ")
        raise HookError(
            f"{kind} hook #{i} ({path}) failed: {status}" + (f": {detail}" if detail else "")
        )
