#!/usr/bin/env bash
# Runs every test of a build directory. Tests that need something this machine lacks report
# themselves as skipped.
set -euo pipefail
build=${1:-build}
cd "$build"
ctest --output-on-failure --timeout 600 -j "${HULL_TEST_JOBS:-2}"
