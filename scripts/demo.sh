#!/usr/bin/env bash
# The README's run command: builds lstmad, trains the tutorial's seed example
# (examples/seed/timeseries.csv) and prints its reconstruction and scores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release -DLSTMAD_BUILD_TESTS=OFF -DLSTMAD_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target lstmad
bin=build/release/tools/lstmad
model=build/demo/seed.lstmad
mkdir -p build/demo

echo "== training the seed example (lookback 3, LSTM 128,64 / 64,128, relu, 300 epochs)"
"$bin" train --data examples/seed/timeseries.csv --lookback 3 --encoder 128,64 --decoder 64,128 \
  --activation relu --epochs 300 --batch-size 5 --scaler none --validation-split 0 --seed 1 \
  --out "$model" 2> >(grep -E "^(training|threshold)|epoch (1|100|200|300)/" >&2)
echo
"$bin" summary "$model"
echo
echo "== reconstruction (original units)"
"$bin" reconstruct --model "$model" --data examples/seed/timeseries.csv | column -t -s,
echo
echo "== scores (window MSE against the stored threshold)"
"$bin" score --model "$model" --data examples/seed/timeseries.csv | column -t -s,
