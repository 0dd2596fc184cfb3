#!/usr/bin/env bash
# Evaluates lstmad on SKAB (../shared/datasets/skab) with SKAB's protocol, as
# an operator would run it, one set of settings for every file: for each
# file, `lstmad train` on its first 400 rows (train's defaults), then
# `lstmad score` on the whole file with the detector calibrated on the
# windows of those same 400 rows; each later row's verdict is the `alert`
# column (the daemon's alert state) of the window ending on it. Also the
# normal-only series: SKAB's anomaly-free file (the same protocol) and the
# series of scripts/normal_series.py (trained on their first 600 rows, NAB's
# probationary period for 4000 rows). Prints the tables of docs/detection.md
# (scripts/skab_tables.py).
#
#   scripts/evaluate_skab.sh [OUT_DIR] [extra score flags...]
#
# Environment:
#   LSTMAD       the binary (default build/release/tools/lstmad)
#   SKAB         the data set folder (default ../shared/datasets/skab)
#   SEED         train's --seed (default 1); runs with 1, 2, 3 give the spread
#   TRAIN_FLAGS  extra train flags (default none: train's defaults, so the
#                numbers follow them)
#   SETS         which sets to run (default "valve1 anomaly-free generated")
#   FILES        which valve1 files, by name without .csv (default all)
#   JOBS         parallel runs (default nproc)
# Writes OUT_DIR/runs/<set>/<file>/{data.csv,train.csv,labels.txt,meta.json,
# model,summary.txt,score.csv}, OUT_DIR/settings.json and OUT_DIR/tables.md.
set -euo pipefail
cd "$(dirname "$0")/.."
LSTMAD=${LSTMAD:-build/release/tools/lstmad}
SKAB=${SKAB:-../shared/datasets/skab}
SEED=${SEED:-1}
TRAIN_FLAGS=${TRAIN_FLAGS:-}
SETS=${SETS:-valve1 anomaly-free generated}
FILES=${FILES:-}
JOBS=${JOBS:-$(nproc)}
OUT=${1:-build/skab}
shift || true
SCORE_FLAGS="$*"
SKAB_TRAIN_ROWS=400   # SKAB's protocol
NAB_PROBATION_ROWS=600  # min(floor(0.15 x 4000), 750): NAB's probationary period
rm -rf "$OUT/runs" "$OUT/generated"
mkdir -p "$OUT/runs"
export LSTMAD SEED TRAIN_FLAGS SCORE_FLAGS OUT

jobs=()
for set in $SETS; do
  case "$set" in
    valve1)
      if [ -n "$FILES" ]; then names=$FILES; else
        names=$(find "$SKAB/valve1" -maxdepth 1 -name '*.csv' -printf '%f\n' | sed 's/\.csv$//' | sort -n); fi
      for n in $names; do jobs+=("valve1 $n $SKAB/valve1/$n.csv $SKAB_TRAIN_ROWS"); done ;;
    anomaly-free)
      jobs+=("anomaly-free anomaly-free $SKAB/anomaly-free/anomaly-free.csv $SKAB_TRAIN_ROWS") ;;
    generated)
      python3 scripts/normal_series.py "$OUT/generated"
      for n in white_noise daily_sine random_walk sawtooth; do
        jobs+=("generated $n $OUT/generated/$n.csv $NAB_PROBATION_ROWS")
      done ;;
    *) echo "evaluate_skab.sh: unknown set $set (valve1, anomaly-free, generated)" >&2; exit 2 ;;
  esac
done

run_one() {
  set -euo pipefail
  local set=$1 name=$2 src=$3 train_rows=$4
  local dir="$OUT/runs/$set/$name"
  python3 scripts/skab_score.py prepare "$src" "$dir" "$train_rows"
  # shellcheck disable=SC2086  # TRAIN_FLAGS and SCORE_FLAGS are flag lists
  if ! "$LSTMAD" train --data "$dir/train.csv" --out "$dir/model" --seed "$SEED" $TRAIN_FLAGS \
      2> "$dir/train.log"; then
    echo "evaluate_skab.sh: training on $src failed:" >&2
    tail -5 "$dir/train.log" >&2
    exit 1
  fi
  "$LSTMAD" summary "$dir/model" > "$dir/summary.txt"
  # The detector calibrates on exactly the windows of the training rows.
  local t
  t=$(sed -n 's/^Input: \([0-9][0-9]*\) timesteps.*/\1/p' "$dir/summary.txt")
  # shellcheck disable=SC2086
  "$LSTMAD" score --model "$dir/model" --data "$dir/data.csv" --calibration $((train_rows - t + 1)) \
    $SCORE_FLAGS > "$dir/score.csv"
}
export -f run_one

printf '%s\n' "${jobs[@]}" | xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' run_one
python3 -c 'import json, sys; json.dump(dict(zip(("seed", "train_flags", "score_flags"), sys.argv[2:])),
                                        open(sys.argv[1], "w"))' "$OUT/settings.json" "$SEED" "$TRAIN_FLAGS" "$SCORE_FLAGS"
python3 scripts/skab_tables.py "$OUT" > "$OUT/tables.md"
cat "$OUT/tables.md"
