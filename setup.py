"""Build steps that pyproject.toml cannot express declaratively.

1. The cffi extension ``pyrunc._native`` (native/ffi_build.py).
2. The container init ``pyrunc/_libexec/pyrunc-init``: a plain C program, because
   nothing Python may run in a container's process after clone (see docs/native.md).
3. ``pyrunc/cli/_table.py``: the command-line table derived from the typer app, so the
   hot commands can parse argv without importing typer (see docs/architecture.md).
4. ``pyrunc/config/_compiled.py``: config.schema.json compiled to plain functions, so
   ``create`` can check a config without importing jsonschema (docs/performance.md).
"""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "native"))
from build_init import compile_init  # noqa: E402


def _write_table(out_path: str) -> None:
    sys.path.insert(0, HERE)
    try:
        from pyrunc.cli.derive import render_table
    finally:
        sys.path.pop(0)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        f.write(render_table())


def _write_compiled_schema(out_path: str) -> None:
    sys.path.insert(0, HERE)
    try:
        from pyrunc.config.compile_schema import write
    finally:
        sys.path.pop(0)
    write(out_path, os.path.join(HERE, "pyrunc", "config", "schema", "config.schema.json"))


class BuildNative(build_ext):
    def run(self) -> None:
        super().run()
        if self.inplace:
            compile_init(os.path.join(HERE, "pyrunc", "_libexec"))
            _write_table(os.path.join(HERE, "pyrunc", "cli", "_table.py"))
            _write_compiled_schema(os.path.join(HERE, "pyrunc", "config", "_compiled.py"))
        else:
            compile_init(os.path.join(self.build_lib, "pyrunc", "_libexec"))


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        _write_table(os.path.join(self.build_lib, "pyrunc", "cli", "_table.py"))
        _write_compiled_schema(os.path.join(self.build_lib, "pyrunc", "config", "_compiled.py"))


setup(
    cffi_modules=["native/ffi_build.py:ffibuilder"],
    cmdclass={"build_ext": BuildNative, "build_py": BuildPy},
)
