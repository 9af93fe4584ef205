#!/bin/sh
# The whole test suite, as CI runs it: set up, lint, type-check, then every test.
set -eu
cd "$(dirname "$0")/.."
sh bundles/install.sh
sh tests/e2e/install.sh
.venv/bin/ruff check pyrunc tests spec-tests native noxfile.py setup.py
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
