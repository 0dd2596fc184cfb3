"""Starting the real `lstmad serve` on free loopback ports, feeding it line
protocol and reading /metrics, for the daemon's integration tests.

Every wait is bounded; every port is picked by the daemon itself (port 0)
and read back from its "lstmad serving" log line.
"""
import math
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

from lstmad_cli import BIN, run, train_fixture

FEATURES = ["temperature", "pressure", "vibration", "flow"]
PERIOD = 40


def pump_values(i, phase=0.0, rng=None):
    """One normal sample of a simulated pump (same shape as `lstmad simulate`)."""
    a = 2 * math.pi * i / PERIOD + phase
    noise = (lambda s: rng.gauss(0, s)) if rng else (lambda s: 0.0)
    return [60 + 8 * math.sin(a - 0.6) + noise(0.3), 4 + 1.2 * math.sin(a) + noise(0.05),
            0.5 + 0.2 * math.sin(2 * a) + noise(0.02), 120 + 25 * math.sin(a) + noise(1.0)]


def write_pump_csv(path, values, timestamps=None):
    """The pump's feature rows as a CSV the CLI reads (header, 6 decimals),
    after a timestamp column when `timestamps` are given; returns the path."""
    with open(path, "w") as f:
        f.write(",".join((["timestamp"] if timestamps else []) + FEATURES) + "\n")
        for i, v in enumerate(values):
            f.write(",".join(([timestamps[i]] if timestamps else []) + [f"{x:.6f}" for x in v]) + "\n")
    return path


def train_pump_model(workdir, lookback=10, epochs=12, name="pump.lstmad", samples=4000,
                     encoder="32,16", decoder="16,32"):
    """Trains a small pump model through the CLI; returns its path."""
    import random
    rng = random.Random(7)
    csv = write_pump_csv(os.path.join(workdir, "pump-train.csv"),
                         [pump_values(i, 0.0, rng) for i in range(samples)])
    model = os.path.join(workdir, name)
    train_fixture("--data", csv, "--lookback", lookback, "--encoder", encoder, "--decoder", decoder,
                  "--activation", "tanh", "--epochs", epochs, "--batch-size", 32, "--patience", 4,
        "--threshold", "mean+6std", "--seed", 3, "--out", model)
    return model


def write_config(path, models, extra="", ingest="", metrics=""):
    """models: list of dicts with name, path, measurement and optional threshold/alert/detector/retrain/guards/export
    (detector, retrain, guards: the flow map's text, e.g. "{ every: 2s, min_windows: 300 }");
    `ingest`, `metrics`: extra keys of those sections, e.g. "idle_timeout: 1s"."""
    lines = ["ingest:", "  listen: 127.0.0.1:0"] + [f"  {x}" for x in ingest.splitlines() if x] + \
            ["metrics:", "  listen: 127.0.0.1:0"] + [f"  {x}" for x in metrics.splitlines() if x] + ["models:"]
    for m in models:
        lines += [f"  - name: {m['name']}", f"    path: {m['path']}", f"    measurement: {m['measurement']}"]
        if "threshold" in m:
            lines.append(f"    threshold: {m['threshold']}")
        lines.append(f"    alert: {{ for: {m.get('for', 3)}, clear: {m.get('clear', 3)} }}")
        if "detector" in m:  # a flow map, e.g. "{ threshold: spot }"
            lines.append(f"    detector: {m['detector']}")
        if "retrain" in m:
            lines.append(f"    retrain: {m['retrain']}")
        if "guards" in m:  # a flow map, e.g. "{ flow: { direction: above } }"
            lines.append(f"    guards: {m['guards']}")
        if "export" in m:  # a flow list, e.g. "[expected, band]"
            lines.append(f"    export: {m['export']}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path


class Daemon:
    """A running `lstmad serve`; use as a context manager."""

    def __init__(self, config, start_timeout=30, env=None):
        self.config = config
        self.scrape_timeout = 10  # seconds one /metrics request may take
        self.proc = subprocess.Popen([BIN, "serve", "--config", config], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        self.log = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for_log("lstmad serving", start_timeout)
        self.ingest_port = int(re.search(r"ingest=[^ ]*:(\d+)", line).group(1))
        self.metrics_port = int(re.search(r"metrics=[^ ]*:(\d+)", line).group(1))

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.log.append(line.rstrip("\n"))

    def logs(self):
        with self._lock:
            return list(self.log)

    def wait_for_log(self, needle, timeout=30, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            exited = self.proc.poll() is not None
            if exited:
                # What the process wrote before exiting may still be in the
                # pipe: let the reader drain it before looking a last time.
                self._reader.join(timeout=max(0.0, deadline - time.time()))
            for line in self.logs()[start:]:
                if needle in line:
                    return line
            if exited:
                raise AssertionError(f"lstmad exited {self.proc.returncode}:\n" + "\n".join(self.logs()))
            time.sleep(0.05)
        raise AssertionError(f"no log line with {needle!r} within {timeout}s:\n" + "\n".join(self.logs()[-30:]))

    def logged(self, needle, timeout=10):
        """Whether a log line with `needle` arrives within `timeout` seconds
        (log lines reach the reader thread a little after the metrics move)."""
        try:
            self.wait_for_log(needle, timeout)
            return True
        except AssertionError:
            return False

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.ingest_port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def send(self, text, sock=None):
        own = sock is None
        sock = sock or self.connect()
        sock.sendall(text.encode() if isinstance(text, str) else text)
        if own:
            sock.close()

    def scrape_text(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=self.scrape_timeout) as r:
            return r.read().decode()

    def metrics(self):
        return parse_metrics(self.scrape_text())

    def value(self, name, default=0.0, **labels):
        return self.metrics().get(metric_key(name, labels), default)

    def wait_for(self, predicate, timeout=30, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.metrics()
            if predicate(m):
                return m
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def poll(self, predicate, timeout=30):
        """Like wait_for, but for the condition a check is about: returns
        (ok, the last metrics scraped) instead of raising, so a test records
        a failed check with what it saw and goes on to its other checks.
        A daemon that died or stopped answering is a False, not an error."""
        deadline = time.time() + timeout
        last = {}
        while True:
            try:
                last = self.metrics()
                if predicate(last):
                    return True, last
            except OSError:  # URLError included: nothing listens any more
                if self.proc.poll() is not None:
                    return False, last
            if time.time() >= deadline:
                return False, last
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def metric_key(name, labels):
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def parse_metrics(text):
    """Prometheus text exposition -> {'name{k="v",...}': value} with sorted labels."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[metric_key(m.group(1), labels)] = float(m.group(4))
    return out


def total(metrics, name, **labels):
    """Sum of a metric over all series whose labels include `labels`."""
    s = 0.0
    for key, v in metrics.items():
        if key.split("{")[0] != name:
            continue
        if all(f'{k}="{val}"' in key for k, val in labels.items()):
            s += v
    return s


def line(measurement, tags, values, ts=None, features=FEATURES):
    tag_text = "".join(f",{k}={v}" for k, v in sorted(tags.items()))
    fields = ",".join(f"{k}={v:.6f}" for k, v in zip(features, values))
    return f"{measurement}{tag_text} {fields}" + (f" {ts}" if ts is not None else "") + "\n"


def feed_until(daemon, sock, values, sent, window, scored_before, lookback, t0):
    """Sends pump stream "a" its samples from `sent` up to the one completing
    `window` (sample i at t0 + i s, in ns) and waits until the daemon has
    scored that window (windows scored = window + 1 - scored_before: the
    windows of the series it has not scored came before it started);
    returns the number of samples sent."""
    last_sample = window + lookback - 1
    sock.sendall("".join(line("pump", {"pump": "a"}, values[i], ts=t0 + i * 10**9)
                         for i in range(sent, last_sample + 1)).encode())
    daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total", model="pump") >= window + 1 - scored_before,
                    what=f"window {window} scored", timeout=20)
    return last_sample + 1
