#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset `fuzz`, in build/fuzz) and runs one
# of them for a bounded time. See docs/fuzzing.md.
#
#   scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]
#
# TARGET is a harness of fuzz/ (fuzz/TARGET_fuzz.cc, with fuzz/TARGET.dict if
# there is one): line_protocol, graphite, config, model_file, csv, keras, write_body,
# console, remote_write, mqtt. The run starts
# from the seeds in fuzz/corpus/TARGET (read only) plus the inputs earlier runs
# kept in build/fuzz/corpus/TARGET; findings are written to
# build/fuzz/artifacts/TARGET/ (crash-*, leak-*, timeout-*, oom-*), the log to
# build/fuzz/logs/TARGET.log. Exit status: 0 when the run ends without a
# finding, 1 on any crash, broken property, leak, timeout, OOM or sanitizer
# report, 2 on bad usage. Prints the total executions either way.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=$(find fuzz -maxdepth 1 -name '*_fuzz.cc' -printf '%f\n' | sed 's/_fuzz\.cc$//' | sort | tr '\n' ' ')
usage() {
  echo "usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_FLAG...]; targets: $targets" >&2
  exit 2
}
(($# >= 2)) || usage
target=$1 seconds=$2
shift 2
[[ -f fuzz/${target}_fuzz.cc ]] || usage
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage

# Per execution: 10 s at most (a hang) and 2 GiB (libFuzzer's own default,
# said out loud); both are findings, reported with the input that caused them.
limits=(-timeout=10 -rss_limit_mb=2048)
# A target's dictionary of keywords, when it has one, steers the mutations.
dict=()
[[ -f fuzz/$target.dict ]] && dict=(-dict="fuzz/$target.dict")

cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target "${target}_fuzz"

corpus=build/fuzz/corpus/$target
artifacts=build/fuzz/artifacts/$target
log=build/fuzz/logs/$target.log
mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
before=$(find "$artifacts" -type f | wc -l)

echo "== fuzzing $target for ${seconds}s (log: $log)"
status=0
# UBSan already aborts (-fno-sanitize-recover); ASan's leak check runs after
# each input that grew memory; libFuzzer turns every report into an artifact.
asan_options=detect_leaks=1 lsan_options=
if [[ $target == keras ]]; then
  # libhdf5's own leaks on damaged files are suppressed by function name
  # (fuzz/keras.lsan.supp); libhdf5 lacks frame pointers, so its frames are
  # only seen with the slow unwinder. It also asks malloc for sizes read from
  # damaged files (realloc of 2^64 - 1 bytes) and handles the NULL, as it gets
  # in production: let huge allocations fail instead of aborting. Ours would
  # still fail loudly (new throws, nothing here catches it).
  asan_options+=:fast_unwind_on_malloc=0:malloc_context_size=16:allocator_may_return_null=1
  lsan_options=suppressions=$PWD/fuzz/keras.lsan.supp:print_suppressions=0
  # Those suppressed leaks still hold memory: over ~20,000 damaged files a
  # run's RSS climbs past 2 GiB (seen: 2.3 GiB used with 44 MB of live heap
  # and 240 MB in ASan's quarantine). The process may grow to 4 GiB; one
  # allocation over 2 GiB is still a finding.
  limits=(-timeout=10 -rss_limit_mb=4096 -malloc_limit_mb=2048)
fi
ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_options} LSAN_OPTIONS=${LSAN_OPTIONS:-$lsan_options} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
  "build/fuzz/fuzz/${target}_fuzz" "$corpus" "fuzz/corpus/$target" \
  -max_total_time="$seconds" "${limits[@]}" "${dict[@]}" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" >"$log" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [[ -z $executions ]]; then  # no final stats after a crash: the last progress line
  executions=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
fi
units=$(find "$corpus" -type f | wc -l)
new_artifacts=$(($(find "$artifacts" -type f | wc -l) - before))
echo "fuzz.sh: $target: ${executions:-0} executions in ${seconds}s, corpus ${units} inputs"

if ((status != 0 || new_artifacts > 0)) || grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error:)' "$log"; then
  echo "fuzz.sh: $target: FINDING (exit status $status); last lines of $log:" >&2
  tail -n 40 "$log" >&2
  echo "fuzz.sh: $target: reproducers in $artifacts/:" >&2
  ls -t "$artifacts" | head -n 10 >&2
  echo "fuzz.sh: reproduce with: build/fuzz/fuzz/${target}_fuzz $artifacts/FILE" >&2
  exit 1
fi
echo "fuzz.sh: $target: no findings"
