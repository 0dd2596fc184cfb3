"""A fixed, deterministic scenario for `lstmad serve` and the /metrics text it
leads to: the golden exposition test (test_metrics_golden.py) and the
metrics-documentation test (test_metrics_documented.py) both run it.

The model is a fixture, tests/golden/metrics_scenario.lstmad (2 features
`level`, `flow`; lookback 4; 4-unit tanh LSTMs), so the scenario does not
depend on training being bit-identical across builds. It was written by

    lstmad train --data T.csv --lookback 4 --encoder 4 --decoder 4 --activation tanh \
                 --epochs 60 --batch-size 16 --threshold mean+6std --seed 1 --out M

with T.csv 400 rows of level = sin(2 pi i / 20), flow = cos(2 pi i / 20) at 4 decimals.

What is sent, on one connection and in this order (timestamps explicit, in
seconds): two streams of the model's measurement interleaved, `tank,site=a`
(24 samples, a spike at samples 12-13: its alert fires, then resolves) and
`tank,site=b` (20 samples, a level shift from sample 16 on: still firing at
the end), with one rejected line of each kind that a single connection can
cause between them; then, on a second connection, one line over
limits.max_line_bytes (which closes that connection). scoring.max_batch is 1,
so every window is scored alone and its error does not depend on how windows
happened to be batched.
"""
import math
import os
import shutil
import time

from daemon_harness import Daemon, parse_metrics, total
from lstmad_cli import REPO

MODEL = os.path.join(REPO, "tests", "golden", "metrics_scenario.lstmad")
LOOKBACK = 4
T0 = 1_700_000_000  # seconds (ingest.precision: s)
MAX_LINE_BYTES = 256

# stream tag -> (samples, {sample index: level replacing the normal one})
STREAMS = {
    "a": (24, {12: 25.0, 13: 25.0}),
    "b": (20, {16: -25.0, 17: -25.0, 18: -25.0, 19: -25.0}),
}

# Rejected lines, each sent after the valid sample of stream "a" with the
# given index, and the reason lstmad counts it under.
REJECTED = [
    (2, "this is not line protocol\n", "parse_error"),
    (3, "tank,site=a level=0.5,flow= 1700000003\n", "parse_error"),
    (5, "pump,site=a level=0.1,flow=0.2 1700000005\n", "unknown_measurement"),
    (7, "tank,site=a level=0.5 1700000007\n", "missing_field"),
    (9, "tank,site=a level=1e39,flow=0.5 1700000009\n", "non_finite"),  # beyond float
    (10, "tank,site=a level=1e20,flow=0.5 1700000010\n", "out_of_range"),  # its error would overflow
    (11, "tank,site=c level=0.1,flow=0.2 1700000011\n", "too_many_streams"),
]


def config(workdir):
    """Writes the scenario's lstmad.yaml into `workdir`, next to a copy of the
    model (its path is a label of lstmad_model_info); returns its path."""
    shutil.copyfile(MODEL, os.path.join(workdir, "tank.lstmad"))
    text = f"""ingest:
  listen: 127.0.0.1:0
  precision: s
metrics:
  listen: 127.0.0.1:0
models:
  - name: tank
    path: tank.lstmad
    measurement: tank
    threshold: 0.5
    alert: {{ for: 2, clear: 2 }}
    retrain: {{ every: 24h, min_windows: 100 }}
limits:
  max_streams: 2
  max_line_bytes: {MAX_LINE_BYTES}
scoring:
  max_batch: 1
  workers: 1
events:
  path: {os.path.join(workdir, "events.jsonl")}
"""
    path = os.path.join(workdir, "lstmad.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def sample(stream, i):
    samples, faults = STREAMS[stream]
    a = 2 * math.pi * i / 20
    level = faults.get(i, math.sin(a))
    return f"tank,site={stream} level={level:.6f},flow={math.cos(a):.6f} {T0 + i}\n"


def first_connection_text():
    out = []
    longest = max(n for n, _ in STREAMS.values())
    for i in range(longest):
        for stream, (n, _) in STREAMS.items():
            if i < n:
                out.append(sample(stream, i))
        out += [text for after, text, _ in REJECTED if after == i]
    return "".join(out)


def too_long_line():
    return "tank,site=a level=0.5,flow=0.5,padding=" + "x" * MAX_LINE_BYTES + f" {T0}\n"


def expected_windows():
    return sum(n - LOOKBACK + 1 for n, _ in STREAMS.values())


def _settled(daemon, done, what, timeout=30):
    """Waits until `done(metrics)` holds and two scrapes 0.2 s apart are
    identical (gauges set just after a counter moved have landed); returns
    the text."""
    deadline = time.time() + timeout
    previous = None
    while time.time() < deadline:
        text = daemon.scrape_text()
        if done(parse_metrics(text)):
            if text == previous:
                return text
            previous = text
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(daemon.logs()[-30:]))


def run(workdir):
    """Runs the scenario on a fresh daemon; returns (the final /metrics text,
    the daemon's log lines). The daemon is stopped (SIGTERM) afterwards."""
    samples = sum(n for n, _ in STREAMS.values())
    rejected = len(REJECTED)
    with Daemon(config(workdir)) as daemon:
        daemon.send(first_connection_text())
        _settled(daemon, lambda m: total(m, "lstmad_windows_scored_total") == expected_windows()
                 and total(m, "lstmad_samples_received_total") == samples
                 and total(m, "lstmad_samples_rejected_total") == rejected
                 and total(m, "lstmad_connections") == 0, "the first connection's lines")
        sock = daemon.connect()
        sock.sendall(too_long_line().encode())
        # lstmad closes the connection; reading until EOF waits for it.
        sock.settimeout(10)
        while sock.recv(4096):
            pass
        sock.close()
        text = _settled(daemon, lambda m: total(m, "lstmad_samples_rejected_total") == rejected + 1
                        and total(m, "lstmad_connections") == 0, "the long line's rejection")
        logs = daemon.logs()
        daemon.stop()
    return text, logs
