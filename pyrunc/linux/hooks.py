"""Hooks that run in the runtime's namespace: prestart, createRuntime, poststart, poststop.

(createContainer and startContainer run inside the container, from pyrunc-init.) Each hook
gets the container's state JSON on stdin; ``timeout`` is in seconds. A failure raises
HookError; the lifecycle decides whether it fails the operation (prestart, createRuntime) or
only warns (poststart, poststop), as the runtime-spec says.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from pyrunc.errors import PyruncError


class HookError(PyruncError):
    pass


def run_hooks(kind: str, hooks: list[dict[str, Any]] | None, state: dict[str, Any]) -> None:
    stdin = json.dumps(state).encode()
    for i, hook in enumerate(hooks or []):
        path = hook["path"]
        args = hook.get("args") or [path]
        env = None
        if "env" in hook:
            env = dict(e.split("=", 1) for e in hook["env"] if "=" in e)
        try:
            proc = subprocess.run(
                args, executable=path, input=stdin, env=env, capture_output=True,
                timeout=hook.get("timeout"), close_fds=True,
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
