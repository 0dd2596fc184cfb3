"""Daemon acceptance 2, 3 and 6: 1,000 streams over 10 concurrent connections
are all accounted for; every bad-input class is counted under its reason and
logged while the other connections keep being served; a live scrape passes
`promtool check metrics`.
"""
import os
import random
import socket
import subprocess
import threading

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
STREAMS, CONNECTIONS, SAMPLES = 1000, 10, 14


def load_test(checks, daemon):
    # Stream k goes over connection k % 10; each connection interleaves its streams.
    def sender(c):
        sock = daemon.connect()
        mine = [k for k in range(STREAMS) if k % CONNECTIONS == c]
        for i in range(SAMPLES):
            sock.sendall("".join(line("pump", {"pump": f"s{k}", "site": "a"}, pump_values(i, k * 0.1))
                                 for k in mine).encode())
        sock.close()

    threads = [threading.Thread(target=sender, args=(c,)) for c in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    expected_windows = STREAMS * (SAMPLES - LOOKBACK + 1)
    m = daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") >= expected_windows,
                        timeout=120, what="1,000 streams scored")
    received = total(m, "lstmad_samples_received_total")
    rejected = total(m, "lstmad_samples_rejected_total")
    checks.check("received + rejected = sent", received + rejected == STREAMS * SAMPLES,
                 f"{received:.0f} + {rejected:.0f}")
    checks.check("windows scored = sum over streams of (samples - T + 1)",
                 total(m, "lstmad_windows_scored_total") == expected_windows,
                 f"{total(m, 'lstmad_windows_scored_total'):.0f} vs {expected_windows}")
    checks.check("1,000 streams", m.get('lstmad_streams{model="pump"}') == STREAMS)


def bad_input_test(checks, daemon, max_line_bytes):
    keeper = daemon.connect()  # a well-behaved client that must keep being served
    cases = {
        "parse_error": "pump,pump=x temperature=1.0,pressure=oops\n",
        "unknown_measurement": "boiler,unit=1 temperature=1.0\n",
        "missing_field": "pump,pump=m temperature=1.0,pressure=2.0\n",
        "non_finite": "pump,pump=n temperature=1e39,pressure=4,vibration=0.5,flow=120\n",
    }
    before = daemon.metrics()
    bad = daemon.connect()
    for reason, text in cases.items():
        bad.sendall(text.encode())
        keeper.sendall(line("pump", {"pump": "keeper"}, pump_values(0)).encode())
    m = daemon.wait_for(lambda m: all(
        total(m, "lstmad_samples_rejected_total", reason=r) > total(before, "lstmad_samples_rejected_total", reason=r)
        for r in cases), what="every reason counted")
    for reason in cases:
        checks.check(f"{reason} counted", total(m, "lstmad_samples_rejected_total", reason=reason) ==
                     total(before, "lstmad_samples_rejected_total", reason=reason) + 1)
        checks.check(f"{reason} logged", daemon.logged(f"reason={reason}"))
    # The bad connection stays open and its next good line is processed.
    bad.sendall(line("pump", {"pump": "bad-then-good"}, pump_values(1)).encode())
    ok, m = daemon.poll(lambda m: any("bad-then-good" in k for k in m) or
                        total(m, "lstmad_samples_received_total") > total(before, "lstmad_samples_received_total") + 4)
    checks.check("a connection survives its malformed lines", ok,
                 f"{total(m, 'lstmad_samples_received_total') - total(before, 'lstmad_samples_received_total'):.0f} "
                 "samples received since the bad lines (4 from the keeper)")
    # Too many streams: the limit in this config is STREAMS + 3.
    for k in range(10):
        bad.sendall(line("pump", {"pump": f"extra{k}"}, pump_values(0)).encode())
    ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_rejected_total", reason="too_many_streams") > 0)
    checks.check("too_many_streams counted", ok,
                 f"{total(m, 'lstmad_samples_rejected_total', reason='too_many_streams'):.0f}")
    # A line over max_line_bytes closes that connection only.
    bad.sendall(b"pump,pump=long temperature=" + b"1" * (max_line_bytes + 10) + b"\n")
    daemon.wait_for(lambda m: total(m, "lstmad_samples_rejected_total", reason="line_too_long") == 1,
                    what="line_too_long")
    bad.settimeout(10)
    try:
        closed = bad.recv(1) == b""
    except socket.timeout:
        closed = False  # still open after 10 s
    except ConnectionResetError:
        closed = True
    checks.check("an over-long line closes its connection", closed)
    # The keeper still works after all of that.
    n0 = total(daemon.metrics(), "lstmad_samples_received_total")
    keeper.sendall(line("pump", {"pump": "keeper"}, pump_values(5)).encode())
    ok, m = daemon.poll(lambda m: total(m, "lstmad_samples_received_total") == n0 + 1)
    checks.check("other connections keep being served", ok,
                 f"{total(m, 'lstmad_samples_received_total') - n0:.0f} of the keeper's 1 sample received")
    keeper.close()
    bad.close()


def http_endpoints_test(checks, daemon):
    import urllib.error
    import urllib.request
    base = f"http://127.0.0.1:{daemon.metrics_port}"
    for path, want in [("/healthz", 200), ("/readyz", 200), ("/nope", 404)]:
        try:
            status = urllib.request.urlopen(base + path, timeout=10).status
        except urllib.error.HTTPError as e:
            status = e.code
        checks.check(f"GET {path} answers {want}", status == want, str(status))


def promtool_test(checks, daemon):
    text = daemon.scrape_text()
    proc = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    checks.check("promtool check metrics passes on a live scrape", proc.returncode == 0,
                 (proc.stdout + proc.stderr).strip()[:500])
    for name in ["lstmad_samples_received_total", "lstmad_samples_rejected_total", "lstmad_windows_scored_total",
                 "lstmad_stream_reconstruction_error", "lstmad_stream_anomalous", "lstmad_stream_anomalies_total",
                 "lstmad_reconstruction_error_bucket", "lstmad_model_threshold", "lstmad_model_info",
                 "lstmad_inference_duration_seconds_bucket", "lstmad_sample_to_score_seconds_bucket",
                 "lstmad_inference_batch_size_bucket", "lstmad_streams", "lstmad_connections",
                 "lstmad_build_info", "lstmad_config_reloads_total"]:
        checks.check(f"exposes {name}", f"\n{name}" in "\n" + text)


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        max_line = 4096
        cfg = write_config(os.path.join(d, "lstmad.yaml"),
                           [{"name": "pump", "path": model, "measurement": "pump"}],
                           extra=f"limits: {{ max_streams: {STREAMS + 3}, max_line_bytes: {max_line}, "
                                 "max_connections: 64 }\n")
        with Daemon(cfg) as daemon:
            load_test(checks, daemon)
            bad_input_test(checks, daemon, max_line)
            promtool_test(checks, daemon)
            http_endpoints_test(checks, daemon)
            checks.check("exit 0 on SIGTERM", daemon.stop() == 0)
    checks.finish()


if __name__ == "__main__":
    main()
