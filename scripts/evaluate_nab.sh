#!/usr/bin/env bash
# Evaluates lstmad on every NAB series in ../shared/datasets/nab with
# `lstmad evaluate-stream` (NAB's protocol: train on the probationary period,
# score the rest online), then scores the NAB results files with
# scripts/nab_score.py and writes the tables of docs/detection.md.
#
#   scripts/evaluate_nab.sh [OUT_DIR] [extra evaluate-stream flags...]
#
# Environment: LSTMAD (the binary; default build/release/tools/lstmad), NAB
# (the data set folder), JOBS (parallel runs; default nproc). Writes
# OUT_DIR/results/lstmad/<category>/lstmad_<file> (NAB results),
# OUT_DIR/metrics/<category>/<file>.json (lstmad's metrics), .log (its
# warnings) and
# OUT_DIR/tables.md. About 2 minutes for the 26 files on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
LSTMAD=${LSTMAD:-build/release/tools/lstmad}
NAB=${NAB:-../shared/datasets/nab}
JOBS=${JOBS:-$(nproc)}
OUT=${1:-build/nab}
shift || true
rm -rf "$OUT/results" "$OUT/metrics"
mkdir -p "$OUT/metrics"
export LSTMAD NAB OUT
export EXTRA="$*"
find "$NAB/data" -name '*.csv' | sort | xargs -P "$JOBS" -I{} bash -c '
  file="{}"; rel="${file#$NAB/data/}"; mkdir -p "$OUT/metrics/$(dirname "$rel")"
  "$LSTMAD" evaluate-stream --data "$file" --windows "$NAB/combined_windows.json" \
    --nab-results "$OUT/results/lstmad" --json $EXTRA > "$OUT/metrics/${rel%.csv}.json" \
    2> "$OUT/metrics/${rel%.csv}.log"'
python3 scripts/nab_tables.py "$OUT" "$NAB/combined_windows.json" > "$OUT/tables.md"
cat "$OUT/tables.md"
