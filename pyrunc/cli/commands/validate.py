"""pyrunc validate: check a bundle's config.json, like ``oci-runtime-tool validate``."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions, bundle: str) -> int:
    from pyrunc.config.load import load_bundle
    from pyrunc.errors import ConfigError

    try:
        load_bundle(os.path.abspath(bundle))
    except ConfigError as err:
        err.show_all = True  # a validator lists every problem; create stops at a few
        raise
    sys.stdout.write("config.json: valid\n")
    return 0
