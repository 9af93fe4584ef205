#!/bin/sh
# Install what the end-to-end suites need (the real engines, from Debian): each engine's
# suite brings its own tests/e2e/install-<engine>.sh. Safe to run again.
set -eu
cd "$(dirname "$0")"
for script in install-*.sh; do
    [ -e "$script" ] || continue
    sh "./$script"
done
