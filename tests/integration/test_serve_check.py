"""`lstmad serve --check` says what the daemon would run, not only "OK":
listeners, state, events, Alertmanager, limits, and per model its
measurement, features, lookback, threshold (and where it comes from),
detector and alert rule. The text is compared exactly."""
import os
import re
import subprocess

from daemon_harness import train_pump_model, write_config
from lstmad_cli import BIN, Checks, tempdir


def binary_bytes(n):
    """As the daemon writes sizes: three significant digits, binary units."""
    units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    unit = 0
    value = float(n)
    while value >= 1024 and unit + 1 < len(units):
        value /= 1024
        unit += 1
    return "%.3g %s" % (value, units[unit])


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=5, epochs=1, samples=300)
        summary = subprocess.run([BIN, "summary", model], capture_output=True, text=True, timeout=60).stdout
        threshold = next(line.split()[1] for line in summary.splitlines() if line.startswith("Threshold:"))
        params = int(next(line.split()[2] for line in summary.splitlines() if line.startswith("Total params:"))
                     .replace(",", ""))
        cfg = write_config(
            os.path.join(d, "lstmad.yaml"),
            [{"name": "pump", "path": model, "measurement": "pump", "for": 2, "clear": 4,
              "retrain": "{ every: 10m, min_windows: 200, scope: stream }"},
             {"name": "fixed", "path": model, "measurement": "tank", "threshold": 0.25,
              "detector": "{ threshold: spot }", "retrain": "{ every: 1h, min_windows: 100 }",
              "guards": "{ flow: { direction: above } }"}],
            extra=f"state:\n  path: {d}/state\n  interval: 1m\nevents:\n  path: {d}/events.jsonl\n"
                  "alertmanager:\n  urls: [\"http://127.0.0.1:9093\"]\n",
            ingest="precision: ms")
        proc = subprocess.run([BIN, "serve", "--config", cfg, "--check"], capture_output=True, text=True, timeout=60)
        expected = (
            f"{cfg}: OK\n"
            "  ingest:       127.0.0.1:0, line protocol, timestamps in ms, plain TCP\n"
            "  metrics:      127.0.0.1:0 (/metrics, /healthz, /readyz), plain HTTP\n"
            f"  state:        {d}/state, a snapshot every 60 s\n"
            f"  events:       {d}/events.jsonl\n"
            "  alertmanager: http://127.0.0.1:9093, firing alerts re-sent every 60 s\n"
            "  limits:       10000 streams, 1024 connections, lines up to 65536 bytes\n"
            "  model pump: measurement \"pump\", 4 features (temperature, pressure, vibration, flow), lookback 5, "
            f"threshold {threshold} (from the model file), detector likelihood and novel values (margin 0.05), "
            "alert for 2 / clear 4 windows, retrain every 600 s per stream (each stream up to 62.5 KiB of windows "
            f"and about {binary_bytes(8 * params)} for a model of its own)\n"
            "  model fixed: measurement \"tank\", 4 features (temperature, pressure, vibration, flow), lookback 5, "
            "threshold 0.25 (from the config), detector spot and novel values (margin 0.05), alert for 3 / clear 3 windows, "
            "retrain every 3600 s, guards on flow\n")
        checks.check("serve --check describes the configuration", proc.returncode == 0 and proc.stdout == expected,
                     f"exit {proc.returncode}\n--- got\n{proc.stdout}--- expected\n{expected}{proc.stderr}")

        # Per-stream retraining bounded only by limits.max_streams, beyond any
        # machine's memory: said, not refused. 10,000 streams of 8 GB of
        # windows each; then both limits at their largest (2^31 - 1), whose
        # product no 64-bit integer holds.
        for max_windows, max_streams in ((100000000, 10000), (2147483647, 2147483647)):
            big = write_config(
                os.path.join(d, "big.yaml"),
                [{"name": "pump", "path": model, "measurement": "pump",
                  "retrain": f"{{ every: 10m, min_windows: 200, max_windows: {max_windows}, scope: stream }}"}],
                extra=f"limits:\n  max_streams: {max_streams}\n")
            proc = subprocess.run([BIN, "serve", "--config", big, "--check"], capture_output=True, text=True,
                                  timeout=60)
            per_stream = max_windows * 5 * 4 * 4 + 8 * params
            warning = (f"  warning:      per-stream retraining of model pump may hold "
                       f"{binary_bytes(max_streams * per_stream)} at limits.max_streams ({max_streams} streams of "
                       f"{binary_bytes(per_stream)}), more than the ")
            checks.check(f"serve --check warns when per-stream retraining could outgrow the machine "
                         f"({max_streams} streams of {max_windows} windows)",
                         proc.returncode == 0 and warning in proc.stdout
                         and re.search(r" of memory this process may use \((the machine's memory|its cgroup's limit)\): "
                                       r"lower limits\.max_streams or retrain\.max_windows, or use a smaller model\n",
                                       proc.stdout) is not None, f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
    checks.finish()


if __name__ == "__main__":
    main()
