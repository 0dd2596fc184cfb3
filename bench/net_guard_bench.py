#!/usr/bin/python3
"""Before/after figures for issue 18's findings 2 and 4 (the metrics port under
hostile clients), one daemon binary at a time, the same configuration for each.

Finding 2, password guessing: the metrics port has basic auth (one user, a
bcrypt hash of cost 12). 16 clients guess that user's password as fast as
they are answered, each from an address of its own in 127.0.1.0/24 (every
127/8 address is local on Linux); after 0.5 s a sender writes 20,000 lines on
the ingest port. Reported: the seconds from the first byte sent until
lstmad_samples_received_total reaches 20,000, the same without guessers,
and /healthz latency (median, worst) probed throughout from another address;
what the guessers were answered. Then, without guessers, the latency of a
wrong password for the real user and of an unknown user name (median of 5
each, from one more address).

Finding 4, idle connections: 70 connections to the metrics port from
127.0.0.1 that send nothing; then /healthz and /readyz from 127.0.0.2 and
from 127.0.0.1: status (or how it failed) and latency.

Usage: bench/net_guard_bench.py [--bin build/release/tools/lstmad]
       [--baseline /work/baseline/lstmad] [--out results.json]
The model is trained with --bin (1 epoch: the figures do not depend on it).
"""
import argparse
import base64
import crypt
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LINES = 20000
GUESSERS = 16


def http_get(port, path, source, auth=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Authorization": auth} if auth else {})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def timed_get(port, path, source, auth=None, timeout=30):
    began = time.time()
    try:
        status = http_get(port, path, source, auth, timeout)[0]
    except (OSError, http.client.HTTPException) as e:
        status = type(e).__name__
    return status, time.time() - began


def basic(user_password):
    return "Basic " + base64.b64encode(user_password.encode()).decode()


class Daemon:
    def __init__(self, binary, config):
        self.proc = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 30
        for line in self.proc.stdout:
            if "lstmad serving" in line:
                self.ingest_port = int(re.search(r"ingest=[^ ]*:(\d+)", line).group(1))
                self.metrics_port = int(re.search(r"metrics=[^ ]*:(\d+)", line).group(1))
                break
            if time.time() > deadline:
                raise RuntimeError("lstmad did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def received(daemon, auth):
    status, body = http_get(daemon.metrics_port, "/metrics", "127.0.0.3", auth)
    if status != 200:
        return -1
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines()
               if l.startswith("lstmad_samples_received_total"))


def payload():
    return "".join(f"pump,pump=p{i % 20} temperature={60 + i % 7},pressure=4,vibration=0.5,flow=120\n"
                   for i in range(LINES)).encode()


def ingest_seconds(daemon, auth, health):
    """Seconds until LINES more lines are received; /healthz probed meanwhile into `health`."""
    base = received(daemon, auth)
    began = time.time()
    with socket.create_connection(("127.0.0.1", daemon.ingest_port), timeout=30) as s:
        s.sendall(payload())
    while time.time() - began < 120:
        health.append(timed_get(daemon.metrics_port, "/healthz", "127.0.0.4"))
        if received(daemon, auth) >= base + LINES:
            return time.time() - began
    return float("inf")


def guessing(binary, config, auth):
    d = Daemon(binary, config)
    try:
        received(d, auth)  # the right credentials, accepted once (both builds remember them)
        quiet = ingest_seconds(d, auth, [])
        stop = threading.Event()
        answers = {}
        lock = threading.Lock()

        def guesser(k):
            i = 0
            while not stop.is_set():
                status, _ = timed_get(d.metrics_port, "/metrics", f"127.0.1.{k + 1}", basic(f"prometheus:guess{i}"))
                with lock:
                    answers[str(status)] = answers.get(str(status), 0) + 1
                i += 1

        threads = [threading.Thread(target=guesser, args=(k,), daemon=True) for k in range(GUESSERS)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        health = []
        attacked = ingest_seconds(d, auth, health)
        for _ in range(10):
            health.append(timed_get(d.metrics_port, "/healthz", "127.0.0.4"))
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        latencies = [t for _, t in health]
        timing = {}
        for who in ("prometheus", "nobody"):
            runs = [timed_get(d.metrics_port, "/metrics", "127.0.0.5", basic(f"{who}:wrong")) for _ in range(5)]
            timing[who] = {"status": sorted({str(s) for s, _ in runs}), "median_ms": statistics.median(t for _, t in runs) * 1000}
        return {"ingest_quiet_s": quiet, "ingest_guessed_s": attacked,
                "healthz_median_ms": statistics.median(latencies) * 1000, "healthz_worst_ms": max(latencies) * 1000,
                "healthz_statuses": sorted({str(s) for s, _ in health}), "guess_answers": answers,
                "wrong_password": timing["prometheus"], "unknown_user": timing["nobody"]}
    finally:
        d.stop()


def idle_connections(binary, config):
    d = Daemon(binary, config)
    try:
        idle = [socket.create_connection(("127.0.0.1", d.metrics_port), timeout=10) for _ in range(70)]
        time.sleep(0.5)
        out = {}
        for source in ("127.0.0.2", "127.0.0.1"):
            for path in ("/healthz", "/readyz"):
                status, seconds = timed_get(d.metrics_port, path, source, timeout=10)
                out[f"{path} from {source}"] = {"status": str(status), "ms": seconds * 1000}
        for s in idle:
            s.close()
        return out
    finally:
        d.stop()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(here, "..", "build", "release", "tools", "lstmad"))
    ap.add_argument("--baseline", default="/work/baseline/lstmad")
    ap.add_argument("--out")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        csv = os.path.join(d, "train.csv")
        with open(csv, "w") as f:
            f.write("temperature,pressure,vibration,flow\n")
            for i in range(600):
                f.write(f"{60 + i % 7},4,0.5,120\n")
        model = os.path.join(d, "pump.lstmad")
        subprocess.run([args.bin, "train", "--data", csv, "--lookback", "10", "--encoder", "16", "--decoder", "16",
                        "--epochs", "1", "--out", model], check=True, capture_output=True)
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 12))
        auth = basic("prometheus:s3cret")
        models = f"models:\n  - {{ name: pump, path: {model}, measurement: pump }}\n"
        with_auth = os.path.join(d, "auth.yaml")
        with open(with_auth, "w") as f:
            f.write("ingest: { listen: 127.0.0.1:0 }\nmetrics:\n  listen: 127.0.0.1:0\n"
                    f'  basic_auth_users: {{ prometheus: "{hashed}" }}\n' + models)
        plain = os.path.join(d, "plain.yaml")
        with open(plain, "w") as f:
            f.write("ingest: { listen: 127.0.0.1:0 }\nmetrics: { listen: 127.0.0.1:0 }\n" + models)
        results = {}
        for name, binary in (("before", args.baseline), ("after", args.bin)):
            print(f"{name}: {binary}", file=sys.stderr, flush=True)
            results[name] = {"guessing": guessing(binary, with_auth, auth),
                             "idle_connections": idle_connections(binary, plain)}
    print(json.dumps(results, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    b, a = results["before"], results["after"]
    rows = [("20,000 lines, no guessers (s)", "ingest_quiet_s", "{:.2f}"),
            ("20,000 lines, 16 guessers (s)", "ingest_guessed_s", "{:.2f}"),
            ("/healthz median while guessing (ms)", "healthz_median_ms", "{:.1f}"),
            ("/healthz worst while guessing (ms)", "healthz_worst_ms", "{:.1f}")]
    print("\n| measure | before | after |\n|---|---|---|")
    for label, key, fmt in rows:
        print(f"| {label} | {fmt.format(b['guessing'][key])} | {fmt.format(a['guessing'][key])} |")
    for label, key in (("wrong password, real user (median ms)", "wrong_password"),
                       ("unknown user (median ms)", "unknown_user")):
        print(f"| {label} | {b['guessing'][key]['median_ms']:.1f} | {a['guessing'][key]['median_ms']:.1f} |")
    print(f"| guessers' answers | {b['guessing']['guess_answers']} | {a['guessing']['guess_answers']} |")
    for probe in b["idle_connections"]:
        bb, aa = b["idle_connections"][probe], a["idle_connections"][probe]
        print(f"| 70 idle connections from 127.0.0.1: {probe} | {bb['status']} in {bb['ms']:.0f} ms "
              f"| {aa['status']} in {aa['ms']:.0f} ms |")


if __name__ == "__main__":
    main()
