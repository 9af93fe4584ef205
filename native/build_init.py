"""Compile the container init, ``pyrunc-init``, from native/init/*.c.

Used by setup.py at install time; run directly during development:
``python3 native/build_init.py`` writes pyrunc/_libexec/pyrunc-init.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CFLAGS = ["-O2", "-g0", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_GNU_SOURCE"]


def compile_init(out_dir: str) -> str:
    sources = sorted(glob.glob(os.path.join(HERE, "init", "*.c")))
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "pyrunc-init")
    tmp = f"{out}.tmp{os.getpid()}"
    cc = os.environ.get("CC", "cc")
    subprocess.check_call([cc, *CFLAGS, "-I", os.path.join(HERE, "include"), "-o", tmp, *sources])
    os.replace(tmp, out)  # atomic: concurrent test runs never see a half-written binary
    return out


if __name__ == "__main__":
    default = os.path.join(os.path.dirname(HERE), "pyrunc", "_libexec")
    print(compile_init(sys.argv[1] if len(sys.argv) > 1 else default))
