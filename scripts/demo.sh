#!/usr/bin/env bash
# The README's run command: builds lstmad, trains the demo model on simulated
# pumps (once), starts `lstmad serve` on examples/demo/lstmad.yaml and streams
# simulated pumps with injected faults into it, so /metrics moves and alerts
# fire within a minute. Stops on Ctrl-C, or after DEMO_SECONDS if set.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release -DLSTMAD_BUILD_TESTS=OFF -DLSTMAD_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "$(nproc)" --target lstmad
bin=build/release/tools/lstmad
mkdir -p build/demo
model=build/demo/pump.lstmad

if [[ ! -f $model ]]; then
  echo "== training the demo model on a simulated pump (takes ~20 s, once)"
  "$bin" simulate --csv build/demo/pump-train.csv --samples 6000 --seed 42
  "$bin" train --data build/demo/pump-train.csv --lookback 20 --encoder 32,16 --decoder 16,32 \
    --activation tanh --epochs 15 --batch-size 32 --patience 3 --threshold mean+6std --seed 1 \
    --out "$model"
fi
"$bin" summary "$model" | head -20
: > build/demo/events.jsonl

"$bin" serve --config examples/demo/lstmad.yaml &
serve_pid=$!
trap 'kill -TERM $serve_pid $sim_pid 2>/dev/null || true; wait $serve_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:9108/metrics >/dev/null && break
  sleep 0.1
done

cat <<MSG

== lstmad is running. Simulated pumps p0000..p0019 stream in; a fault is injected every 15 s.
   Metrics:   curl -s http://127.0.0.1:9108/metrics | grep -E '^lstmad_(stream_anomalous|windows_scored)'
   Alerts:    tail -f build/demo/events.jsonl   (and the "alert fired" lines below)
   Send your own: echo 'pump,pump=mine temperature=60,pressure=4,vibration=0.5,flow=120' | nc 127.0.0.1 7878
   Stop with Ctrl-C.

MSG
"$bin" simulate --connect 127.0.0.1:7878 --streams 20 --rate 200 --fault-every 15 \
  --duration "${DEMO_SECONDS:-0}" &
sim_pid=$!
wait $sim_pid || true
