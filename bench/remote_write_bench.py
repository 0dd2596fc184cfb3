#!/usr/bin/python3
"""remote_write in next to line protocol, in one run: `lstmad serve` with one
small model (T=3, F=2, LSTM 16,8 | 8,16; `lstmad train --epochs 1`: the rates
do not depend on the weights) that reads both a TCP line-protocol stream set
and a remote_write stream set (models[].remote_write maps two metrics to its
two features, streams named by `instance`).

  1. line protocol: --streams streams x --steps samples, pre-formatted, written
     over one TCP connection as fast as the daemon reads them;
  2. remote_write: the same number of streams and steps as prebuilt
     remote write 1.0 requests (each --series-per-request series, both
     features of a stream in the same request, --steps-per-request samples per
     series; bodies built by tests/integration/remote_write_support.py:
     literal-only snappy, so the decoder's work is the copy, not LZ77), POSTed
     one after another (one request per connection, as the listener serves).

For each phase: samples per second accepted (lstmad_samples_received_total for
line protocol, lstmad_remote_write_samples_total{outcome="accepted"} for
remote_write: one line of two samples per vector), and windows scored per
second, from the first byte sent until the daemon has scored every window
(lstmad_windows_scored_total stops short of nothing). 503 answers (scoring
queue full) are retried after 10 ms and counted. Prints a table; --out
writes JSON. Every wait is bounded; loopback only.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from remote_write_support import post, snappy_literal, write_request  # noqa: E402


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def total(m, prefix, contains=""):
    return sum(v for k, v in m.items() if k.split("{")[0] == prefix and contains in k)


def wait_scored(port, windows, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if total(scrape(port), "lstmad_windows_scored_total") >= windows:
            return time.time()
        time.sleep(0.05)
    m = scrape(port)
    raise SystemExit(f"the daemon did not score {windows} windows within {timeout}s: "
                     f"{total(m, 'lstmad_windows_scored_total')} scored; "
                     + str({k: v for k, v in m.items() if v and ('samples' in k or 'remote_write' in k)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--series-per-request", type=int, default=500)
    ap.add_argument("--steps-per-request", type=int, default=20)
    ap.add_argument("--out")
    args = ap.parse_args()
    lstmad = os.path.join(args.build, "tools", "lstmad")
    lookback = 3
    with tempfile.TemporaryDirectory(prefix="lstmad-rwbench-") as d:
        csv = os.path.join(d, "train.csv")
        with open(csv, "w") as f:
            f.write("a,b\n")
            for i in range(400):
                f.write(f"{i % 7},{(i * 3) % 11}\n")
        model = os.path.join(d, "m.lstmad")
        subprocess.run([lstmad, "train", "--data", csv, "--lookback", str(lookback), "--encoder", "16,8",
                        "--decoder", "8,16", "--epochs", "1", "--seed", "1", "--out", model],
                       check=True, capture_output=True)
        config = os.path.join(d, "lstmad.yaml")
        with open(config, "w") as f:
            f.write(f"""ingest: {{ listen: 127.0.0.1:0, precision: ms }}
metrics: {{ listen: 127.0.0.1:0 }}
limits: {{ max_streams: {4 * args.streams} }}
models:
  - name: m
    path: {model}
    measurement: m
    alert: {{ for: 1000000, clear: 1 }}
    detector: {{ threshold: fixed, anomaly_score: false }}
    remote_write: {{ features: {{ a: 'm_a', b: 'm_b' }}, stream_labels: [instance] }}
""")
        proc = subprocess.Popen([lstmad, "serve", "--config", config], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            # The ports from the "lstmad serving" line; then the log is drained.
            ingest_port = metrics_port = None
            for line in proc.stdout:
                if "lstmad serving" in line:
                    ingest_port = int(re.search(r"ingest=[^ ]*:(\d+)", line).group(1))
                    metrics_port = int(re.search(r"metrics=[^ ]*:(\d+)", line).group(1))
                    break
            if metrics_port is None:
                raise SystemExit("the daemon did not start")
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            windows_per_phase = args.streams * (args.steps - lookback + 1)
            t0 = 1_700_000_000_000

            # 1. line protocol
            lines = "".join(f"m,instance=lp{s} a={(i % 7)},b={(i * 3) % 11} {t0 + i * 1000}\n"
                            for i in range(args.steps) for s in range(args.streams)).encode()
            start = time.time()
            with socket.create_connection(("127.0.0.1", ingest_port)) as sock:
                sock.sendall(lines)
            end = wait_scored(metrics_port, windows_per_phase)
            m = scrape(metrics_port)
            lp = {"samples": total(m, "lstmad_samples_received_total"), "seconds": end - start}

            # 2. remote_write
            bodies = []
            for first in range(0, args.steps, args.steps_per_request):
                steps = range(first, min(args.steps, first + args.steps_per_request))
                for s0 in range(0, args.streams, args.series_per_request // 2):
                    series = []
                    for s in range(s0, min(args.streams, s0 + args.series_per_request // 2)):
                        inst = {"instance": f"rw{s}"}
                        series.append(({"__name__": "m_a", **inst}, [(float(i % 7), t0 + i * 1000) for i in steps]))
                        series.append(({"__name__": "m_b", **inst},
                                       [(float((i * 3) % 11), t0 + i * 1000) for i in steps]))
                    bodies.append(snappy_literal(write_request(series)))
            busy = 0
            start = time.time()
            for body in bodies:
                while True:
                    status, text = post(metrics_port, body, timeout=60)
                    if status == 204:
                        break
                    if status != 503:
                        raise SystemExit(f"remote_write answered {status}: {text}")
                    busy += 1
                    time.sleep(0.01)
            end = wait_scored(metrics_port, 2 * windows_per_phase)
            m = scrape(metrics_port)
            rw = {"samples": total(m, "lstmad_remote_write_samples_total", 'outcome="accepted"'),
                  "seconds": end - start, "requests": len(bodies), "busy_answers": busy,
                  "body_bytes": sum(map(len, bodies)) / len(bodies)}
            dropped = total(m, "lstmad_remote_write_samples_total", 'outcome="dropped"')
            rejected = total(m, "lstmad_samples_rejected_total")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result = {
        "streams": args.streams, "steps": args.steps, "windows_per_phase": windows_per_phase,
        "line_protocol": {**lp, "samples_per_second": 2 * lp["samples"] / lp["seconds"],
                          "windows_per_second": windows_per_phase / lp["seconds"]},
        "remote_write": {**rw, "samples_per_second": rw["samples"] / rw["seconds"],
                         "windows_per_second": windows_per_phase / rw["seconds"]},
        "remote_write_dropped": dropped, "lines_rejected": rejected,
    }
    print(f"{'input':<15}{'feature samples/s':>20}{'windows/s':>12}{'seconds':>10}")
    for name in ("line_protocol", "remote_write"):
        r = result[name]
        print(f"{name:<15}{r['samples_per_second']:>20,.0f}{r['windows_per_second']:>12,.0f}{r['seconds']:>10.2f}")
    print(f"remote_write: {rw['requests']} requests of {rw['body_bytes']:,.0f} bytes, {busy} answered 503; "
          f"dropped samples {dropped:.0f}, rejected lines {rejected:.0f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
