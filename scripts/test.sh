#!/usr/bin/env bash
# Builds everything and runs every test: the release build with warnings as
# errors (unit, reference and integration tests), then the ASan+UBSan build
# over the unit and integration tests, the ThreadSanitizer build over the
# daemon's unit and integration tests, the hostile clients and cluster mode, and each fuzz
# target for a short bounded time. This is the README's test command and what
# CI runs.
# With --quick: only the release build and its unit tests (`ctest -L unit`), a
# few minutes, for development; not a substitute for the full run.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
case "$*" in
  --quick) quick=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
esac

# Each step's heading says how far into the run it starts: CI's limit is on the whole.
stage() { echo "== $* ($((SECONDS / 60)) min $((SECONDS % 60)) s in)"; }

bash scripts/install-deps.sh

jobs=$(nproc)
# The compiler cache (ccache, from install-deps.sh): a rerun on the same machine
# recompiles only what changed, in any clone. CCACHE_BASEDIR hashes paths
# relative to this clone; CCACHE_NOHASHDIR leaves the build directory's own
# path out of the hash of the -g builds (their debug info then names the clone
# that filled the cache). The release build compiles for this CPU
# (-march=native), which ccache 4.7 hashes as the words, not the CPU they name:
# one cache per CPU feature set, so that a cache carried to another machine
# never hands it instructions it lacks. A fresh machine starts empty: each file
# compiles 8 to 11% longer, as ccache preprocesses it to hash it (measured on
# the library sources; docs/fuzzing.md gives both timings).
if command -v ccache >/dev/null; then
  cpu=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | md5sum | cut -c1-12)
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1 \
    CCACHE_DIR=${CCACHE_DIR:-${HOME:-/tmp}/.cache/ccache}/cpu-$cpu
fi

stage "release build (warnings are errors)"
# Explicitly on: scripts/demo.sh configures the same build directory without them.
cmake --preset release -DLSTMAD_BUILD_TESTS=ON -DLSTMAD_BUILD_BENCH=ON >/dev/null
cmake --build build/release -j "$jobs"
if ((quick)); then
  stage "unit tests, release build (--quick: the rest of the run is skipped)"
  ctest --test-dir build/release --output-on-failure -j "$jobs" -L unit
  exit 0
fi
stage "all tests, release build"
ctest --test-dir build/release --output-on-failure -j "$jobs"
stage "deployment figures"
# The unit's hardening rating, as the systemd-unit test measured it (it fails above 2.0).
ctest --test-dir build/release -R deploy_systemd_unit -V 2>/dev/null | grep -E "systemd-analyze (security|verify)" || true

stage "ASan + UBSan build"
cmake --preset asan-ubsan >/dev/null
cmake --build build/asan-ubsan -j "$jobs"
stage "unit and integration tests under ASan + UBSan"
# The integration tests start this build's `lstmad` (its ctest registrations
# set LSTMAD_BIN), with smaller attack counts (LSTMAD_UNDER_SANITIZER, see
# test_hostile_clients.py). Reports go to files, as in the TSan step below: a
# daemon's report fails the step even when its test never sees the exit
# status. The models a test only feeds to the daemon are trained by the
# release build (LSTMAD_FIXTURE_BIN, tests/integration/lstmad_cli.py): training
# at ASan's pace was most of these tests' time. Left out: the tests whose work
# is the engine's, training and evaluating (sine_model_learns_and_flags_spike,
# nab_like_flatline_and_step: minutes each under ASan+UBSan, seconds in the
# release build), and the demo (80 s of the daemon paths the daemon tests run
# here, after training its model); the engine runs under ASan+UBSan in the
# unit tests. (The unit tests report on their own stderr: the test is the
# process.)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan-ubsan --output-on-failure -j "$jobs" -L unit
asan_reports=$PWD/build/asan-ubsan/reports
rm -rf "$asan_reports" && mkdir -p "$asan_reports"
asan_status=0
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$asan_reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$asan_reports/ubsan"
export LSTMAD_FIXTURE_BIN=$PWD/build/release/tools/lstmad
LSTMAD_UNDER_SANITIZER=1 ctest --test-dir build/asan-ubsan --output-on-failure -j "$jobs" -L integration \
  -E '^(sine_model_learns_and_flags_spike|nab_like_flatline_and_step|demo_runs_and_ends_with_a_recap)$' \
  || asan_status=$?
unset ASAN_OPTIONS UBSAN_OPTIONS
if compgen -G "$asan_reports/*" >/dev/null; then
  echo "AddressSanitizer / UndefinedBehaviorSanitizer reports:" >&2
  cat "$asan_reports"/* >&2
  asan_status=1
fi
((asan_status == 0))

stage "ThreadSanitizer build"
cmake --preset tsan >/dev/null
cmake --build build/tsan -j "$jobs" --target daemon_tests lstmad
stage "daemon unit and integration tests under ThreadSanitizer"
# Reports go to files (the integration tests' daemons log to pipes); any
# report fails the step, even from a process whose exit status went unseen.
tsan_reports=$PWD/build/tsan/reports
rm -rf "$tsan_reports" && mkdir -p "$tsan_reports"
tsan_status=0
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$tsan_reports/tsan"
# One unit test binary per daemon subsystem (tests/CMakeLists.txt).
for subsystem in obs alerting scoring ingest cluster net remote console; do
  build/tsan/tests/${subsystem}_tests --gtest_brief=1 || tsan_status=$?
done
# The daemon tests (two scoring workers with reloads under load among them),
# the hostile clients with smaller counts (LSTMAD_UNDER_SANITIZER) and cluster
# mode (coordinator, partition and scoring threads), their models trained by
# the release build as in the ASan step (LSTMAD_FIXTURE_BIN).
LSTMAD_UNDER_SANITIZER=1 ctest --test-dir build/tsan --output-on-failure -j "$jobs" -L integration \
  -R 'daemon|hostile_clients|cluster|mqtt' || tsan_status=$?
unset TSAN_OPTIONS
if compgen -G "$tsan_reports/tsan.*" >/dev/null; then
  echo "ThreadSanitizer reports:" >&2
  cat "$tsan_reports"/tsan.* >&2
  tsan_status=1
fi
((tsan_status == 0))

# Each target for a bounded time (LSTMAD_FUZZ_SECONDS, 20 s by default); any
# crash, broken property, leak, hang or sanitizer report fails the step. The
# seed is fixed (LSTMAD_FUZZ_SEED, 1 by default) so that this step explores
# the same inputs on every run: a finding here reproduces, rather than
# depending on the draw. Longer runs with random seeds (scripts/fuzz.sh
# alone) are where new findings come from (docs/fuzzing.md).
stage "fuzz targets (scripts/fuzz.sh)"
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$jobs" --target fuzzers
for source in fuzz/*_fuzz.cc; do
  target=$(basename "$source" _fuzz.cc)
  bash scripts/fuzz.sh "$target" "${LSTMAD_FUZZ_SECONDS:-20}" -seed="${LSTMAD_FUZZ_SEED:-1}"
done
