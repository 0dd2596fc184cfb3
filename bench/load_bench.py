#!/usr/bin/python3
"""End-to-end benchmark: `lstmad serve` fed by bench/loadgen over loopback.

For each model (the seed autoencoder t3f2_relu: T=3, F=2, and t30f8_relu:
T=30, F=8; both LSTM 128,64 | RepeatVector | LSTM 64,128 | Dense F, relu) and
each scoring.workers setting (1 and 2):

  1. saturation: loadgen writes --streams (1,000) streams as fast as the daemon takes them
     for --seconds; the sustained rates are the deltas of
     lstmad_samples_received_total and lstmad_windows_scored_total between a
     scrape after the first --warmup seconds and the last scrape of the run
     (the daemon blocks its reader when the scoring queues are full, so the
     rate it ingests is the rate it scores);
  2. half load: once the daemon has read and scored all that the saturating
     run wrote (some of it waits in socket buffers when loadgen stops),
     loadgen paces the same streams at half the sustained windows/s, evenly
     spread, for --half-seconds; p50 and p99 of
     lstmad_sample_to_score_seconds come from the delta of its buckets over
     that run, interpolated as PromQL's histogram_quantile() does (linearly
     inside a bucket), and the mean from _sum / _count.

With --wait-retrains N (after priming), the measured runs wait until the
daemon has ended N retraining tries: with `--retrain '{ ..., scope: stream }'`
and N = --streams, every stream is then scored by a model of its own, and
the growth of VmRSS over the wait is what those models and their windows
hold.

With --prime-windows N, loadgen first gives every stream N windows (not
measured), so that the runs measure detectors past their calibration: at
1,000 streams and the larger model a 10 s run gives each stream about 36
windows, fewer than the detector's 500 calibration windows.

Next to these, the core's single-threaded batched forward throughput at the
same model, measured in the same run just before each case (so that both see
the same machine): bench/core_bench's forward/<model>/batch:256 (the daemon's
max_batch), as windows per second and per CPU second. The "CPU ratio"
compares the daemon's windows per CPU second (all its threads) with the
latter: the share of the daemon's CPU that does the forward pass's work, which
moves much less than the wall-clock ratio when other work shares the machine.

Idle-stream memory: a daemon on the seed model with limits.max_streams
200,000 gets one sample for each of --idle-streams (100,000) distinct streams
(fewer than T, so no window is cut and no per-stream metric series exists);
the growth of VmRSS divided by the streams is the memory per idle stream, of
which T*F*4 bytes are the window's values themselves.

The models are trained with `lstmad train --epochs 1` on a small CSV of
loadgen's own series: the rates do not depend on the weights, but --retrain's
fine-tuning needs data in the model's range. Alerts are configured never to
fire (alert.for is huge) so that no alert logging enters the figures.

Prints a table and writes the figures as JSON (--out). Needs the build's
tools/lstmad, bench/loadgen and bench/core_bench (--build). Every wait is
bounded; the daemon and loadgen only use 127.0.0.1.
"""

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"t3f2_relu": (3, 2), "t30f8_relu": (30, 8)}
ENCODER, DECODER = "128,64", "64,128"
MAX_BATCH, MAX_WAIT_MS = 256, 0.25  # the daemon's defaults
GOAL_RATIO, GOAL_P99_S, GOAL_IDLE_OVERHEAD_B = 0.60, 0.010, 64
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- models

def train_model(lstmad, workdir, name, lookback, features, encoder=ENCODER, decoder=DECODER):
    csv = os.path.join(workdir, f"{name}.csv")
    with open(csv, "w") as f:
        f.write(",".join(f"f{j}" for j in range(features)) + "\n")
        # loadgen's series (bench/loadgen.cc: a sine of period 64, 10 to 30,
        # feature f 3 steps ahead): the scaler then maps what loadgen sends
        # onto the training range, and retraining fine-tunes on data like the
        # model's own instead of diverging on values 10 to 30 times beyond it.
        for i in range(lookback + 200):
            f.write(",".join(f"{math.sin(2 * math.pi * ((i + 3 * j) % 64) / 64) * 10 + 20:.4f}"
                             for j in range(features)) + "\n")
    model = os.path.join(workdir, f"{name}.lstmad")
    done = subprocess.run([lstmad, "train", "--data", csv, "--lookback", str(lookback), "--encoder", encoder,
                           "--decoder", decoder, "--activation", "relu", "--epochs", "1", "--seed", "1",
                           "--out", model], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"lstmad train exited {done.returncode}:\n{done.stderr[-2000:]}")
    return model


UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def core_forward(core_bench, min_time, workdir, model):
    """core_bench's forward/<model>/batch:256, single-threaded: (windows per
    second of wall time, windows per CPU second)."""
    out = os.path.join(workdir, "core_bench.json")
    subprocess.run([core_bench, f"--benchmark_filter=^forward/{model}/batch:{MAX_BATCH}(/|$)",
                    f"--benchmark_min_time={min_time}", f"--benchmark_out={out}",
                    "--benchmark_out_format=json"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    for b in json.load(open(out))["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration":
            cpu_seconds = b["cpu_time"] * UNIT_SECONDS[b.get("time_unit", "ns")]
            return b["items_per_second"], MAX_BATCH / cpu_seconds
    raise RuntimeError(f"core_bench has no forward/{model}/batch:{MAX_BATCH}")


# ---------------------------------------------------------------- daemon

def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if m:
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            out[(m.group(1), labels)] = float(m.group(4))
    return out


class Daemon:
    """`lstmad serve` on 127.0.0.1:0; stdout goes to a file, not a pipe, so a
    chatty daemon can never block on it."""

    def __init__(self, lstmad, workdir, model_path, workers, max_streams, max_wait_ms=MAX_WAIT_MS,
                 model_settings=""):
        self.config = os.path.join(workdir, f"lstmad-w{workers}.yaml")
        with open(self.config, "w") as f:
            f.write(f"""ingest:
  listen: 127.0.0.1:0
metrics:
  listen: 127.0.0.1:0
models:
  - name: bench
    path: {model_path}
    measurement: m
    alert: {{ for: 1000000000, clear: 1 }}
{model_settings}limits:
  max_streams: {max_streams}
scoring:
  max_batch: {MAX_BATCH}
  max_wait_ms: {max_wait_ms}
  workers: {workers}
""")
        self.sent = 0  # samples loadgen has written to this daemon
        self.log_path = self.config + ".log"
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([lstmad, "serve", "--config", self.config], stdout=self.log_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            text = open(self.log_path).read()
            m = re.search(r"lstmad serving.*", text)
            if m:
                self.ingest_port = int(re.search(r"ingest=[^ ]*:(\d+)", m.group(0)).group(1))
                self.metrics_port = int(re.search(r"metrics=[^ ]*:(\d+)", m.group(0)).group(1))
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lstmad serve did not start:\n{text}")
            time.sleep(0.05)

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            return parse_metrics(r.read().decode())

    def rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024

    def cpu_seconds(self):
        """(network thread, all threads, all threads' run-queue wait) in seconds.

        The network thread (Asio, ingestion and /metrics) is the main thread.
        Run-queue wait is time a thread was ready to run but had no CPU: on a
        busy machine it shows how much the daemon was held back.
        """
        main = total = wait = 0.0
        task_dir = f"/proc/{self.proc.pid}/task"
        for tid in os.listdir(task_dir):
            try:
                fields = open(f"{task_dir}/{tid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:  # the thread has just exited
                continue
            t = (int(fields[11]) + int(fields[12])) / CLK_TCK
            total += t
            try:  # absent without CONFIG_SCHED_INFO
                wait += int(open(f"{task_dir}/{tid}/schedstat").read().split()[1]) * 1e-9
            except (OSError, IndexError):
                pass
            if int(tid) == self.proc.pid:
                main = t
        return main, total, wait

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log_file.close()


def value(metrics, name):
    """Sum of a family's series (one model here)."""
    return sum(v for (n, _), v in metrics.items() if n == name)


def buckets(metrics, name):
    """{le: cumulative count} of a histogram."""
    out = {}
    for (n, labels), v in metrics.items():
        if n == name + "_bucket":
            le = dict(labels)["le"]
            key = math.inf if le == "+Inf" else float(le)
            out[key] = out.get(key, 0.0) + v
    return out


def histogram_quantile(q, cumulative):
    """PromQL's histogram_quantile over {le: cumulative count}."""
    les = sorted(cumulative)
    total = cumulative[les[-1]] if les else 0
    if total <= 0:
        return math.nan
    rank = q * total
    for i, le in enumerate(les):
        if cumulative[le] >= rank:
            if le == math.inf:
                return les[-2] if len(les) > 1 else math.nan
            lower = les[i - 1] if i > 0 else 0.0
            below = cumulative[les[i - 1]] if i > 0 else 0.0
            inside = cumulative[le] - below
            return lower + (le - lower) * ((rank - below) / inside if inside > 0 else 1.0)
    return math.nan


def run_loadgen(loadgen, port, streams, features, seconds, rate=None, max_samples=None, connections=4):
    args = [loadgen, "--connect", f"127.0.0.1:{port}", "--streams", str(streams), "--features", str(features),
            "--connections", str(connections), "--duration", str(seconds)]
    if rate:
        args += ["--rate", f"{rate:.0f}"]
    if max_samples:
        args += ["--max-samples", str(max_samples)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def finish_loadgen(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen exited {proc.returncode}")
    return json.loads(out)


def wait_drained(daemon, samples, timeout=60):
    """Waits until the daemon has read `samples` samples (all that loadgen
    wrote to it so far: what a saturating run leaves in the socket buffers is
    read after loadgen exits) and windows_scored has stopped moving."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        m = daemon.scrape()
        scored = value(m, "lstmad_windows_scored_total")
        if value(m, "lstmad_samples_received_total") >= samples and scored == last:
            return m
        last = scored
        time.sleep(0.1)
    raise RuntimeError(f"the daemon did not read and score all {samples} samples within {timeout} s")


# ---------------------------------------------------------------- measurements

def prime(daemon, loadgen, lookback, features, args):
    """Gives every stream `--prime-windows` windows before anything is
    measured, so that a saturating run measures detectors past their
    calibration (calibration_windows, then the likelihood's settling) and not
    streams that are still collecting it: at 1,000 streams a model that scores
    3,600 windows a second gives each stream under 4 a second."""
    samples = args.streams * (args.prime_windows + lookback - 1)
    proc = run_loadgen(loadgen, daemon.ingest_port, args.streams, features, 600, max_samples=samples)
    sent = finish_loadgen(proc, timeout=630)
    daemon.sent += sent["samples"]
    wait_drained(daemon, daemon.sent, timeout=300)


def wait_retrains(daemon, count, timeout=900):
    """With --wait-retrains: waits until the daemon has ended `count` tries
    (swapped, rejected or failed), so that with `retrain: { scope: stream }`
    every stream has been fine-tuned before the measured runs; returns the
    seconds it took and the daemon's VmRSS before and after."""
    rss_before, start = daemon.rss_bytes(), time.monotonic()
    while time.monotonic() - start < timeout:
        m = daemon.scrape()
        ended = sum(v for (n, labels), v in m.items() if n == "lstmad_model_retrains_total" and
                    dict(labels)["result"] in ("swapped", "rejected", "failed"))
        if ended >= count:
            return {"seconds": time.monotonic() - start, "rss_before": rss_before, "rss_after": daemon.rss_bytes(),
                    "tries_ended": int(ended)}
        time.sleep(0.5)
    raise RuntimeError(f"fewer than {count} retraining tries ended within {timeout} s")


def saturate(daemon, loadgen, features, args):
    """Sustained rates over the steady part of a saturating run."""
    proc = run_loadgen(loadgen, daemon.ingest_port, args.streams, features, args.seconds)
    start = time.monotonic()
    scrapes = []  # (time, metrics, daemon.cpu_seconds())
    while proc.poll() is None and time.monotonic() - start < args.seconds + 5:
        time.sleep(1.0)
        t0 = time.monotonic()
        m = daemon.scrape()
        cpu = daemon.cpu_seconds()
        if t0 - start < args.seconds - 0.3:  # the run is still going at this scrape
            scrapes.append(((t0 + time.monotonic()) / 2, m, cpu))
    sent = finish_loadgen(proc, timeout=30)
    steady = [s for s in scrapes if s[0] - start >= args.warmup]
    if len(steady) < 2:
        raise RuntimeError("too few scrapes in the steady part; raise --seconds")
    (t_a, m_a, cpu_a), (t_b, m_b, cpu_b) = steady[0], steady[-1]
    daemon.sent += sent["samples"]
    dt = t_b - t_a

    def delta(name):
        return value(m_b, name) - value(m_a, name)

    batches = delta("lstmad_inference_batch_size_count")
    return {
        "loadgen": sent,
        "steady_seconds": dt,
        "samples_per_second": delta("lstmad_samples_received_total") / dt,
        "windows_per_second": delta("lstmad_windows_scored_total") / dt,
        "mean_batch": delta("lstmad_inference_batch_size_sum") / batches if batches else 0.0,
        "mean_forward_ms": 1e3 * delta("lstmad_inference_duration_seconds_sum") / batches if batches else 0.0,
        "network_thread_cpu": (cpu_b[0] - cpu_a[0]) / dt,
        "daemon_cpu": (cpu_b[1] - cpu_a[1]) / dt,
        "daemon_run_queue_wait": (cpu_b[2] - cpu_a[2]) / dt,
    }


def half_load(daemon, loadgen, features, rate, args):
    """Sample-to-score latency at a paced rate, from the histogram's delta."""
    before = wait_drained(daemon, daemon.sent)
    cpu_a, t_a = daemon.cpu_seconds(), time.monotonic()
    proc = run_loadgen(loadgen, daemon.ingest_port, args.streams, features, args.half_seconds, rate=rate)
    sent = finish_loadgen(proc, timeout=args.half_seconds + 30)
    cpu_b, t_b = daemon.cpu_seconds(), time.monotonic()
    daemon.sent += sent["samples"]
    after = wait_drained(daemon, daemon.sent)
    name = "lstmad_sample_to_score_seconds"
    b0, b1 = buckets(before, name), buckets(after, name)
    delta = {le: b1[le] - b0.get(le, 0.0) for le in b1}
    count = value(after, name + "_count") - value(before, name + "_count")
    total = value(after, name + "_sum") - value(before, name + "_sum")
    return {
        "loadgen": sent,
        "target_rate": rate,
        "windows": count,
        "p50_seconds": histogram_quantile(0.5, delta),
        "p99_seconds": histogram_quantile(0.99, delta),
        "mean_seconds": total / count if count else math.nan,
        "share_at_or_below_10ms": delta.get(0.01, math.nan) / count if count else math.nan,
        "daemon_cpu": (cpu_b[1] - cpu_a[1]) / (t_b - t_a),
        "daemon_run_queue_wait": (cpu_b[2] - cpu_a[2]) / (t_b - t_a),
    }


def idle_memory(lstmad, loadgen, workdir, model_path, lookback, features, streams):
    daemon = Daemon(lstmad, workdir, model_path, workers=1, max_streams=max(200_000, 2 * streams))
    try:
        time.sleep(0.5)
        daemon.scrape()  # so that the baseline includes serving /metrics once
        before = daemon.rss_bytes()
        proc = run_loadgen(loadgen, daemon.ingest_port, streams, features, 60, max_samples=streams, connections=1)
        finish_loadgen(proc, timeout=90)
        deadline = time.monotonic() + 60
        while True:
            m = daemon.scrape()
            if value(m, "lstmad_streams") >= streams:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"lstmad_streams reached only {value(m, 'lstmad_streams'):.0f}")
            time.sleep(0.2)
        after = daemon.rss_bytes()
        if value(m, "lstmad_windows_scored_total") != 0:
            raise RuntimeError("windows were scored: the idle streams were not idle")
    finally:
        daemon.stop()
    per_stream = (after - before) / streams
    window = lookback * features * 4
    return {"streams": streams, "rss_before": before, "rss_after": after, "bytes_per_stream": per_stream,
            "window_bytes": window, "overhead_bytes": per_stream - window}


# ---------------------------------------------------------------- report

def ms(seconds):
    return f"{seconds * 1e3:.2f}" if not math.isnan(seconds) else "-"


def print_report(results, memory, max_wait_ms):
    print(f"\nend to end: lstmad serve + loadgen over loopback, {results[0]['streams']} streams, "
          f"max_batch {MAX_BATCH}, max_wait_ms {max_wait_ms:g}; {os.cpu_count()} CPUs\n")
    header = (f"{'model':10} {'wrk':>3} {'samples/s':>9} {'windows/s':>9} {'core fwd':>8} {'ratio':>5} "
              f"{'CPU ratio':>9} {'half rate':>9} {'p50 ms':>6} {'p99 ms':>6} {'mean ms':>7} {'batch':>5} "
              f"{'net':>4} {'CPU':>4} {'wait':>4} {'hwait':>5}")
    print(header)
    print("-" * len(header))
    for r in results:
        s, h = r["saturation"], r["half_load"]
        print(f"{r['model']:10} {r['workers']:3d} {s['samples_per_second']:9.0f} {s['windows_per_second']:9.0f} "
              f"{r['core_forward_windows_per_second']:8.0f} {r['ratio_to_core_forward']:5.2f} "
              f"{r['cpu_ratio_to_core_forward']:9.2f} {h['loadgen']['rate']:9.0f} "
              f"{ms(h['p50_seconds']):>6} {ms(h['p99_seconds']):>6} {ms(h['mean_seconds']):>7} "
              f"{s['mean_batch']:5.0f} {s['network_thread_cpu']:4.2f} {s['daemon_cpu']:4.2f} "
              f"{s['daemon_run_queue_wait']:4.2f} {h['daemon_run_queue_wait']:5.2f}")
    print("""
samples/s, windows/s: ingested and scored by the daemon while saturated (steady part)
core fwd: core_bench forward/<model>/batch:256, one thread, windows/s; ratio = windows/s / core fwd
CPU ratio: (windows/s per core the daemon used) / (core fwd windows per CPU second)
half rate: loadgen's paced samples/s at half the saturated windows/s; p50, p99 (interpolated in the
  buckets 0.1, 0.25, 0.5, 1, 2.5, 5, 10 ms) and mean of lstmad_sample_to_score_seconds over that run
batch: mean windows per forward pass while saturated; net, CPU: cores used by the network thread and
  by the whole daemon; wait, hwait: cores' worth of time its threads were runnable but had no CPU,
  while saturated and at half load (other work on the machine: the larger, the noisier the row)""")
    if memory:
        print(f"\nidle streams ({memory['model']}, {memory['streams']} streams, one sample each): "
              f"{memory['bytes_per_stream']:.0f} B/stream = window {memory['window_bytes']} B + "
              f"overhead {memory['overhead_bytes']:.0f} B (VmRSS {memory['rss_before'] / 2**20:.1f} -> "
              f"{memory['rss_after'] / 2**20:.1f} MiB)")
    print("\ngoals (issue 6):")
    for r in results:
        ok_ratio = r["ratio_to_core_forward"] >= GOAL_RATIO
        ok_p99 = r["half_load"]["p99_seconds"] < GOAL_P99_S
        print(f"  {r['model']} workers {r['workers']}: windows/s >= {GOAL_RATIO:.0%} of core fwd: "
              f"{'met' if ok_ratio else 'MISSED'}; p99 < 10 ms at half load: {'met' if ok_p99 else 'MISSED'}")
    if memory:
        ok = memory["overhead_bytes"] < GOAL_IDLE_OVERHEAD_B
        print(f"  idle stream overhead < {GOAL_IDLE_OVERHEAD_B} B beyond the window: {'met' if ok else 'MISSED'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"),
                   help="build folder with tools/lstmad, bench/loadgen, bench/core_bench (default build/release)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, of " + ", ".join(MODELS))
    p.add_argument("--workers", default="1,2", help="scoring.workers values (default 1,2)")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=10, help="saturating run per case (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of it left out of the rates (default 2)")
    p.add_argument("--half-seconds", type=float, default=5, help="paced run at half load (default 5)")
    p.add_argument("--idle-streams", type=int, default=100_000, help="0 skips the memory measurement")
    p.add_argument("--max-wait-ms", type=float, default=MAX_WAIT_MS,
                   help=f"the daemon's scoring.max_wait_ms (default {MAX_WAIT_MS})")
    p.add_argument("--min-time", default="0.5", help="core_bench --benchmark_min_time (default 0.5)")
    p.add_argument("--detector", default="",
                   help="the model's `detector` settings as a YAML flow map, e.g. "
                        "'{ threshold: fixed, anomaly_score: false }' (default: the daemon's defaults)")
    p.add_argument("--retrain", default="",
                   help="the model's `retrain` settings as a YAML flow map, e.g. "
                        "'{ every: 2s, min_windows: 1000, epochs: 1 }' (default: none)")
    p.add_argument("--prime-windows", type=int, default=0,
                   help="windows every stream gets before the measured run (default 0), so that it measures "
                        "calibrated detectors: at least the detector's calibration_windows plus its settling")
    p.add_argument("--wait-retrains", type=int, default=0,
                   help="after priming, wait until the daemon has ended this many retraining tries before "
                        "measuring (with --retrain '{ ..., scope: stream }': the streams, so that each is "
                        "scored by its own model; default 0)")
    p.add_argument("--encoder", default=ENCODER,
                   help=f"the daemon's model's encoder units (default {ENCODER}); core fwd stays core_bench's "
                        f"{ENCODER} | {DECODER} model, so with other units its ratio compares different models")
    p.add_argument("--decoder", default=DECODER, help=f"its decoder units (default {DECODER})")
    p.add_argument("--out", help="write the figures here as JSON")
    args = p.parse_args()
    # Verbatim into the model's entry: the daemon validates them and refuses
    # to start on a bad one, which Daemon reports with its log.
    model_settings = "".join(f"    {key}: {value}\n" for key, value in
                             (("detector", args.detector), ("retrain", args.retrain)) if value)
    if not 1 <= args.seconds <= 120 or not 1 <= args.half_seconds <= 120 or args.warmup >= args.seconds - 1:
        p.error("--seconds and --half-seconds must be in [1, 120], --warmup below --seconds - 1")
    if not 0 <= args.prime_windows <= 100_000:
        p.error("--prime-windows must be in [0, 100000]")
    if not 1 <= args.streams <= 100_000 or not 0 <= args.idle_streams <= 1_000_000:
        p.error("--streams must be in [1, 100000], --idle-streams in [0, 1000000]")
    models = args.models.split(",")
    if any(m not in MODELS for m in models):
        p.error(f"--models: choose from {', '.join(MODELS)}")
    workers = [int(w) for w in args.workers.split(",")]

    lstmad = os.path.join(args.build, "tools", "lstmad")
    loadgen = os.path.join(args.build, "bench", "loadgen")
    core_bench = os.path.join(args.build, "bench", "core_bench")
    for exe in (lstmad, loadgen, core_bench):
        if not os.access(exe, os.X_OK):
            sys.exit(f"load_bench.py: {exe} is missing; build the lstmad, loadgen and core_bench targets")

    with tempfile.TemporaryDirectory(prefix="lstmad-load-") as workdir:
        log("== training the models (1 epoch each)")
        paths = {m: train_model(lstmad, workdir, m, *MODELS[m], args.encoder, args.decoder) for m in models}
        results = []
        for m in models:
            lookback, features = MODELS[m]
            for w in workers:
                log(f"== {m}, workers {w}: core_bench forward/{m}/batch:{MAX_BATCH}, then lstmad serve "
                    f"saturated {args.seconds:g} s and at half load {args.half_seconds:g} s")
                # Just before the daemon's run, so that both see the same machine.
                core_wall, core_cpu = core_forward(core_bench, args.min_time, workdir, m)
                daemon = Daemon(lstmad, workdir, paths[m], w, max_streams=max(10_000, args.streams),
                                max_wait_ms=args.max_wait_ms, model_settings=model_settings)
                try:
                    if args.prime_windows > 0:
                        prime(daemon, loadgen, lookback, features, args)
                    waited = wait_retrains(daemon, args.wait_retrains) if args.wait_retrains > 0 else None
                    sat = saturate(daemon, loadgen, features, args)
                    half = half_load(daemon, loadgen, features, sat["windows_per_second"] / 2, args)
                    # With --retrain: the tries in the whole case, by result, so
                    # that a figure "with learning" shows learning took place.
                    retrains = {dict(labels)["result"]: int(v) for (name, labels), v in daemon.scrape().items()
                                if name == "lstmad_model_retrains_total" and v > 0}
                finally:
                    daemon.stop()
                per_cpu = sat["windows_per_second"] / sat["daemon_cpu"] if sat["daemon_cpu"] > 0 else 0.0
                results.append({"model": m, "lookback": lookback, "features": features, "workers": w,
                                "streams": args.streams, "saturation": sat, "half_load": half,
                                "retrains": retrains, "waited_for_retrains": waited,
                                "core_forward_windows_per_second": core_wall,
                                "core_forward_windows_per_cpu_second": core_cpu,
                                "ratio_to_core_forward": sat["windows_per_second"] / core_wall,
                                "daemon_windows_per_cpu_second": per_cpu,
                                "cpu_ratio_to_core_forward": per_cpu / core_cpu})
        memory = None
        if args.idle_streams > 0:
            log(f"== idle streams: {args.idle_streams} streams, one sample each (t3f2_relu)")
            seed = paths.get("t3f2_relu") or train_model(lstmad, workdir, "t3f2_relu", *MODELS["t3f2_relu"])
            memory = idle_memory(lstmad, loadgen, workdir, seed, *MODELS["t3f2_relu"], args.idle_streams)
            memory["model"] = "t3f2_relu"

    if (args.encoder, args.decoder) != (ENCODER, DECODER):
        print(f"\nthe daemon's models: {args.encoder} | {args.decoder} units (core fwd: {ENCODER} | {DECODER})")
    if model_settings:
        print("\nmodel settings:\n" + model_settings.rstrip())
    if args.prime_windows:
        print(f"primed: {args.prime_windows} windows per stream before each measured run")
    if args.retrain:
        for r in results:
            print(f"  {r['model']}, workers {r['workers']}: retrains {r['retrains'] or 'none'}")
            if w := r["waited_for_retrains"]:
                print(f"    before measuring: {w['tries_ended']} tries ended in {w['seconds']:.0f} s, VmRSS "
                      f"{w['rss_before'] / 2**20:.1f} -> {w['rss_after'] / 2**20:.1f} MiB "
                      f"({(w['rss_after'] - w['rss_before']) / args.streams / 1024:.0f} KiB per stream)")
    print_report(results, memory, args.max_wait_ms)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cpus": os.cpu_count(), "max_batch": MAX_BATCH, "max_wait_ms": args.max_wait_ms,
                       "detector": args.detector, "retrain": args.retrain, "prime_windows": args.prime_windows,
                       "encoder": args.encoder, "decoder": args.decoder,
                       "cases": results, "idle_memory": memory}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
