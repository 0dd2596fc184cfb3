#!/usr/bin/env bash
# The ablation table of docs/detection.md: scripts/evaluate_nab.sh for each
# variant below and each training seed (1, 2, 3), then scripts/nab_ablation.py.
#
#   scripts/nab_ablation.sh [OUT_DIR]      (42 to 59 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/nab-ablation}
NAB=${NAB:-../shared/datasets/nab}
SEEDS=${SEEDS:-1 2 3}
variants=(
  "defaults="
  "without novel values (--novelty-margin off)=--novelty-margin off"
  "novel values beyond 20% of the range (--novelty-margin 0.2)=--novelty-margin 0.2"
  "SPOT instead of the likelihood=--threshold-mode spot"
  "SPOT and the likelihood (both must alarm)=--threshold-mode spot_and_likelihood"
  "likelihood without the short mean (window 1)=--likelihood-window 1"
  "likelihood short window 5 (the default before)=--likelihood-window 5"
  "likelihood short window 20=--likelihood-window 20"
  "likelihood risk 1e-3=--likelihood-risk 1e-3"
  "likelihood risk 1e-5=--likelihood-risk 1e-5"
  "likelihood history 1000=--likelihood-history 1000"
  "likelihood without settling (--likelihood-settle 0)=--likelihood-settle 0"
  "settling windows counted once (--likelihood-settle-weight 1: the default before)=--likelihood-settle-weight 1"
  "settling windows counted 24 times (--likelihood-settle-weight 24)=--likelihood-settle-weight 24"
  "refractory 10 windows instead of T (--refractory 10)=--refractory 10"
  "without hysteresis (--likelihood-clear-risk 0: the default before)=--likelihood-clear-risk 0"
  "hysteresis clearing at 1e-3 (--likelihood-clear-risk 1e-3)=--likelihood-clear-risk 1e-3"
  "newest step's error only (--last-step-error)=--last-step-error"
  "never accepting a lasting change (--likelihood-accept-after 0)=--likelihood-accept-after 0"
  "accepting a lasting change after 100 windows (--likelihood-accept-after 100)=--likelihood-accept-after 100"
  "without relearning (--relearn-every 0)=--relearn-every 0"
  "the model's fixed threshold (p99.5)=--threshold-mode fixed"
)
args=()
for v in "${variants[@]}"; do
  name=${v%%=*}; flags=${v#*=}
  dirs=()
  for seed in $SEEDS; do
    dir="$OUT/$(echo "$name" | tr -c 'a-zA-Z0-9' '_')-$seed"
    # shellcheck disable=SC2086
    scripts/evaluate_nab.sh "$dir" $flags --seed "$seed" > /dev/null
    dirs+=("$dir")
  done
  args+=("$name=$(IFS=,; echo "${dirs[*]}")")
done
/usr/bin/python3 scripts/nab_ablation.py "$NAB/combined_windows.json" "${args[@]}" | tee "$OUT/ablation.md"
