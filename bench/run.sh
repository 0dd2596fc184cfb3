#!/usr/bin/env bash
# Builds core_bench (Release, in build/release unless BUILD_DIR says otherwise),
# runs it and its PyTorch peer bench/torch_peer.py, and prints one table:
# benchmark, ours, PyTorch, ours/PyTorch. Then runs the end-to-end benchmark
# bench/load_bench.py (`lstmad serve` fed by bench/loadgen over loopback,
# about 80 s) and prints its table. See docs/benchmarks.md.
#
#   bench/run.sh [--no-train]
#     --no-train   skip the training epochs and the loss parity run (about 4 minutes of the run)
#   environment: MIN_TIME          seconds per forward/sgemm benchmark (default 0.5)
#                BUILD_DIR         build folder (default build/release)
#                KEEP_DIR          keep core_bench.json, torch_peer.json and load_bench.json here
#                LSTMAD_BENCH_E2E  0 skips the end-to-end benchmark
#
# Needs Debian's /usr/bin/python3 with python3-torch, and libopenblas0-pthread
# for PyTorch to use a fast BLAS (scripts/install-deps.sh installs both).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build/release}
min_time=${MIN_TIME:-0.5}
python=/usr/bin/python3
train=1
for arg in "$@"; do
  case $arg in
    --no-train) train=0 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  echo "run.sh: warning: libopenblas0-pthread is not installed; PyTorch will use the slow" \
       "reference BLAS (run scripts/install-deps.sh)" >&2
fi

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target core_bench

out=${KEEP_DIR:-$(mktemp -d)}
mkdir -p "$out"
[[ -n ${KEEP_DIR:-} ]] || trap 'rm -rf "$out"' EXIT

filter=.
((train)) || filter='^(forward|sgemm)/'
echo "== core_bench (single-threaded)" >&2
"$build/bench/core_bench" --benchmark_min_time="$min_time" --benchmark_filter="$filter" \
  --benchmark_out="$out/core_bench.json" --benchmark_out_format=json >&2

echo "== torch_peer.py (torch.set_num_threads(1))" >&2
peer_args=(--min-time "$min_time" --out "$out/torch_peer.json")
((train)) || peer_args+=(--no-train)
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$python" "$root/bench/torch_peer.py" "${peer_args[@]}" >/dev/null

"$python" - "$out/core_bench.json" "$out/torch_peer.json" <<'PY'
import json, re, sys

core = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))
peer_by_name = {b["name"]: b for b in peer["benchmarks"]}


def plain(name):
    """core_bench's name without the suffixes Google Benchmark appends."""
    return re.sub(r"/(iterations:\d+|real_time|min_time:[\d.]+s?)", "", name)


ctx = core["context"]
print(f"\nmachine: {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs at "
      f"{ctx.get('mhz_per_cpu', '?')} MHz; PyTorch {peer['torch_version']}, {peer['threads']} thread")
print("rates: windows/s (sgemm: GFLOP/s); ratio > 1 means ours is faster; "
      "GFLOP/s = 2 x the model's nominal multiply-adds\n")
def rate(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.3g}"


header = f"{'benchmark':34} {'ours':>11} {'PyTorch':>11} {'ours/PyTorch':>12} {'ours GFLOP/s':>12} {'PyTorch GFLOP/s':>15}"
print(header)
print("-" * len(header))
detector = []
for b in core["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    name = plain(b["name"])
    if "GFLOP" not in b:  # the detector's rows: no FLOP count, no PyTorch peer
        detector.append(b)
        continue
    p = peer_by_name.get(name)
    is_gemm = name.startswith("sgemm")
    ours = b["GFLOP"] if is_gemm else b["items_per_second"]
    theirs = (p["gflops"] if is_gemm else p["windows_per_second"]) if p else None
    ratio = f"{ours / theirs:12.2f}" if theirs else f"{'-':>12}"
    theirs_s = f"{rate(theirs):>11}" if theirs else f"{'-':>11}"
    peer_gflops = f"{p['gflops']:15.1f}" if p else f"{'-':>15}"
    print(f"{name:34} {rate(ours):>11} {theirs_s} {ratio} {b['GFLOP']:12.1f} {peer_gflops}")

if detector:
    print("\nthe daemon's per-stream detector (no peer): " + "; ".join(
        f"{plain(b['name'])} {b['real_time']:.3g} {b['time_unit']}" for b in detector))

# Issue 6's goals, each a ratio within this run.
ours_by_name = {plain(b["name"]): b for b in core["benchmarks"] if b.get("run_type", "iteration") == "iteration"}
def verdict(ok):
    return "met" if ok else "MISSED"
print("\ngoals (ratios measured in this run):")
sgemm = peer_by_name.get("sgemm/2048", {}).get("gflops")
for m in ("t3f2_relu", "t30f8_relu"):
    b256, b1 = ours_by_name.get(f"forward/{m}/batch:256"), ours_by_name.get(f"forward/{m}/batch:1")
    p256, p1 = peer_by_name.get(f"forward/{m}/batch:256"), peer_by_name.get(f"forward/{m}/batch:1")
    two = ours_by_name.get(f"forward_2threads/{m}/batch:256")
    if b256 and sgemm:
        share = b256["GFLOP"] / sgemm
        print(f"  {m} batch 256: {b256['GFLOP']:.1f} GFLOP/s = {share:.0%} of OpenBLAS sgemm's {sgemm:.1f} "
              f"(goal 75%): {verdict(share >= 0.75)}")
    if b256 and p256:
        r = b256["items_per_second"] / p256["windows_per_second"]
        print(f"  {m} batch 256: {r:.2f}x PyTorch (goal 1.5x): {verdict(r >= 1.5)}")
    if b1 and p1:
        r = b1["items_per_second"] / p1["windows_per_second"]
        print(f"  {m} batch 1: {r:.1f}x PyTorch, {1e6 / b1['items_per_second']:.1f} us/window (goal 10x): "
              f"{verdict(r >= 10)}")
    if two and b256:
        r = two["items_per_second"] / b256["items_per_second"]
        print(f"  {m} two threads: {r:.2f}x one (goal 1.8x): {verdict(r >= 1.8)}")
for act in ("relu", "tanh"):
    name = f"train_epoch/t30f8_{act}/batch:64"
    b, p = ours_by_name.get(name), peer_by_name.get(name)
    if b and p:
        r = b["items_per_second"] / p["windows_per_second"]
        print(f"  training epoch ({act}): {r:.2f}x PyTorch (goal 1.5x): {verdict(r >= 1.5)}")
PY

# The training goal's other half: the same final loss as PyTorch (about 3 minutes).
if ((train)); then
  cmake --build "$build" --target lstmad
  echo "== train_parity.py (final loss of lstmad and PyTorch training from Keras' initialisation)" >&2
  "$python" "$root/bench/train_parity.py" --build "$build" --out "$out/train_parity.json"
fi

# End to end: the daemon, not just its forward pass. Its own progress goes to
# stderr, its table to stdout.
if [[ ${LSTMAD_BENCH_E2E:-1} != 0 ]]; then
  cmake --build "$build" --target lstmad loadgen
  echo "== load_bench.py (lstmad serve + loadgen over loopback; LSTMAD_BENCH_E2E=0 skips it)" >&2
  "$python" "$root/bench/load_bench.py" --build "$build" --min-time "$min_time" \
    --out "$out/load_bench.json"
fi
