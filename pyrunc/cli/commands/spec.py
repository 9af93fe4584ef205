"""pyrunc spec: write runc's default config.json into the bundle."""

from __future__ import annotations

import json
import os

from pyrunc.errors import PyruncError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, bundle: str, rootless: bool) -> int:
    from pyrunc.config.default import default_config

    path = os.path.join(bundle, "config.json")
    if os.path.lexists(path):
        raise PyruncError("File config.json exists. Remove it first")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as err:
        raise PyruncError(f"--bundle {bundle}: {err.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(default_config(rootless), indent="\t") + "\n")
    return 0
