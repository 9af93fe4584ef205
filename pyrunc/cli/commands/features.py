"""pyrunc features: what this runtime supports, as runtime-spec's features JSON."""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from pyrunc.cli.invoke import GlobalOptions


def main(opts: GlobalOptions) -> int:
    from pyrunc.features import features

    sys.stdout.write(json.dumps(features(), indent=4) + "\n")
    return 0
