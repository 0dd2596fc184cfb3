#!/usr/bin/env bash
# The README's run command: installs what building and running lstmad need
# (scripts/install-deps.sh --build: no test tools), builds lstmad, trains the
# demo model on simulated pumps (once), starts `lstmad serve` on
# examples/demo/lstmad.yaml and streams simulated pumps with injected faults
# into it, so /metrics moves and alerts fire within a minute. Stops on
# Ctrl-C, or after DEMO_SECONDS if set, and ends with a recap: alerts fired,
# where to look, what to try next.
#
# For tests: LSTMAD_DEMO_BIN=path skips the install and the build and runs
# that binary; DEMO_DIR (default build/demo) holds the model, the events file
# and the configuration the demo runs; DEMO_INGEST_PORT, DEMO_HTTP_PORT and
# DEMO_METRICS_PORT (default 7878, 8186 and 9108) move the listeners.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n ${LSTMAD_DEMO_BIN:-} ]]; then
  bin=$LSTMAD_DEMO_BIN
else
  bash scripts/install-deps.sh --build
  cmake --preset release -DLSTMAD_BUILD_TESTS=OFF -DLSTMAD_BUILD_BENCH=OFF >/dev/null
  cmake --build build/release -j "$(nproc)" --target lstmad
  bin=build/release/tools/lstmad
fi
dir=${DEMO_DIR:-build/demo}
ingest_port=${DEMO_INGEST_PORT:-7878}
metrics_port=${DEMO_METRICS_PORT:-9108}
http_port=${DEMO_HTTP_PORT:-8186}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
model=$dir/pump.lstmad

if [[ ! -f $model ]]; then
  echo "== training the demo model on a simulated pump (takes ~20 s, once)"
  "$bin" simulate --csv "$dir/pump-train.csv" --samples 6000 --seed 42
  "$bin" train --data "$dir/pump-train.csv" --lookback 20 --encoder 32,16 --decoder 16,32 \
    --activation tanh --epochs 15 --batch-size 32 --patience 3 --threshold mean+6std --seed 1 \
    --out "$model"
fi
echo "== the demo model"
"$bin" summary "$model"
: > "$dir/events.jsonl"
# examples/demo/lstmad.yaml, with this run's directory and ports.
sed -e "s#\.\./\.\./build/demo#$dir#g" -e "s#127\.0\.0\.1:7878#127.0.0.1:$ingest_port#" \
  -e "s#127\.0\.0\.1:9108#127.0.0.1:$metrics_port#" -e "s#127\.0\.0\.1:8186#127.0.0.1:$http_port#" \
  examples/demo/lstmad.yaml > "$dir/lstmad.yaml"
metrics=http://127.0.0.1:$metrics_port/metrics

# What the run did, from the events file and /metrics (no tools beyond grep,
# sed and awk).
recap() {
  local fired scored anomalous
  fired=$(grep -c '"kind":"fired"' "$dir/events.jsonl" || true)
  scored=$(curl -sf "$metrics" | awk '/^lstmad_windows_scored_total/ {s += $2} END {printf "%d", s}' || true)
  anomalous=$(curl -sf "$metrics" | awk '/^lstmad_stream_anomalous\{/ {s += $2} END {printf "%d", s}' || true)
  echo
  echo "== recap: ${scored:-0} windows scored, $fired alerts fired, ${anomalous:-0} streams anomalous at the end"
  sed -n 's/.*"kind":"fired","time":"\([^"]*\)".*"stream":"[^",]*,pump=\([^"]*\)".*"top_features":\[{"feature":"\([^"]*\)".*/   \1  pump \2: \3/p' \
    "$dir/events.jsonl" | tail -n 10
  cat <<MSG
   Where to look: the events file $dir/events.jsonl, the metrics at $metrics
   What to try next:
     - your own series: lstmad train --data YOUR.csv --out my.lstmad, then
       lstmad score --model my.lstmad --data YOUR.csv --plot my.svg (open it in a browser)
     - serve it: copy examples/demo/lstmad.yaml, point models[0].path at my.lstmad,
       check it with lstmad serve --config my.yaml --check
     - the daemon's documentation: README.md ("The daemon"), docs/operations.md
MSG
}

# Its own session: a Ctrl-C in the terminal stops the demo, and the daemon
# stays up for the recap before it is stopped with SIGTERM.
setsid "$bin" serve --config "$dir/lstmad.yaml" &
serve_pid=$!
sim_pid=
finish() {
  [[ -n $sim_pid ]] && kill -TERM "$sim_pid" 2>/dev/null
  recap
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}
trap finish EXIT
trap 'exit 130' INT TERM
for _ in $(seq 100); do
  curl -sf "$metrics" >/dev/null && break
  sleep 0.1
done

cat <<MSG

== lstmad is running. Simulated pumps p0000..p0019 stream in; a fault is injected every 15 s.
   Metrics:   curl -s $metrics | grep -E '^lstmad_(stream_anomalous|windows_scored)'
   Alerts:    tail -f $dir/events.jsonl   (and the "alert fired" lines below)
   Send your own (a stream is scored once it has 20 samples, the model's lookback):
     $bin send --connect 127.0.0.1:$ingest_port --repeat 25 --interval 0.1 \\
       --line 'pump,pump=mine temperature=60,pressure=4,vibration=0.5,flow=120'
   Or over HTTP, as Telegraf's outputs.influxdb and the InfluxDB clients write (docs/ingest-http.md):
     curl -i -XPOST 'http://127.0.0.1:$http_port/write?db=demo' \
       --data-binary 'pump,pump=web temperature=60,pressure=4,vibration=0.5,flow=120'
   MQTT and Graphite (collectd): docs/ingest-mqtt.md, docs/ingest-graphite.md.
   Stop with Ctrl-C.

MSG
"$bin" simulate --connect "127.0.0.1:$ingest_port" --streams 20 --rate 200 --fault-every 15 \
  --duration "${DEMO_SECONDS:-0}" &
sim_pid=$!
wait "$sim_pid" || true
sim_pid=
