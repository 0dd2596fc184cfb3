#!/usr/bin/env bash
# Builds everything and runs every test: the release build with warnings as
# errors (unit, reference and integration tests), then the ASan+UBSan build
# over the unit tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
echo "== release build (warnings are errors)"
cmake --preset release >/dev/null
cmake --build build/release -j "$jobs"
echo "== all tests, release build"
ctest --test-dir build/release --output-on-failure -j "$jobs"

echo "== ASan + UBSan build"
cmake --preset asan-ubsan >/dev/null
cmake --build build/asan-ubsan -j "$jobs"
echo "== unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan-ubsan --output-on-failure -j "$jobs" -L unit
