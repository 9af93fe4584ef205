"""cffi build script for ``pyrunc._native``: the small C surface Python calls directly.

The container's own processes never run this module: they run ``pyrunc-init`` (native/init),
an ordinary C program. This module holds what the runtime side needs from C in-process.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

HERE = Path(__file__).parent

ffibuilder = FFI()
ffibuilder.cdef((HERE / "native.cdef").read_text())
ffibuilder.set_source(
    "pyrunc._native",
    (HERE / "native.c").read_text(),
    include_dirs=[str(HERE / "include")],
    define_macros=[("_GNU_SOURCE", None)],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
