"""`lstmad replay` streams a CSV recording into a running daemon: with the
CSV's timestamps (in the daemon's precision) every row reaches the stream
named by --tags, and the daemon's error for the last window equals what
`lstmad score` computes offline on the same file. Bad input is refused before
anything is sent."""
import os
import random
import subprocess

from daemon_harness import Daemon, FEATURES, pump_values, train_pump_model, write_config
from lstmad_cli import BIN, Checks, tempdir

LOOKBACK = 10
ROWS = 60


def replay(*args):
    return subprocess.run([BIN, "replay", *args], capture_output=True, text=True, timeout=120)


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=400)
        rng = random.Random(11)
        csv = os.path.join(d, "recording.csv")
        with open(csv, "w") as f:
            f.write("timestamp," + ",".join(FEATURES) + "\n")
            for i in range(ROWS):
                f.write(f"2024-05-01T12:{i // 60:02d}:{i % 60:02d}.5Z," +
                        ",".join(f"{x:.6f}" for x in pump_values(i, 0.0, rng)) + "\n")
        offline = subprocess.run([BIN, "score", "--model", model, "--data", csv], capture_output=True,
                                 text=True, timeout=120, check=True).stdout.splitlines()
        last_error = float(offline[-1].split(",")[1])
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           ingest="precision: ms")
        with Daemon(cfg) as daemon:
            address = f"127.0.0.1:{daemon.ingest_port}"
            proc = replay("--data", csv, "--connect", address, "--measurement", "pump", "--tags", "pump=rec1",
                          "--precision", "ms")
            checks.check("replay sends every row", proc.returncode == 0 and
                         proc.stderr.startswith(f"replay: {ROWS} rows sent to {address} in "), proc.stderr)
            key = 'lstmad_windows_scored_total{model="pump"}'
            ok, m = daemon.poll(lambda m: m.get(key, 0) >= ROWS - LOOKBACK + 1, timeout=30)
            checks.check(f"every window is scored: {ROWS - LOOKBACK + 1}", ok and m.get(key) == ROWS - LOOKBACK + 1,
                         str(m.get(key)))
            error = m.get('lstmad_stream_reconstruction_error{model="pump",pump="rec1",stream="pump,pump=rec1"}')
            checks.check("the daemon's last error equals lstmad score's", error is not None and
                         abs(error - last_error) <= 1e-6 * max(1.0, abs(last_error)), f"{error} vs {last_error}")
            checks.check("nothing rejected", all(v == 0 for k, v in m.items()
                                                 if k.startswith("lstmad_samples_rejected_total")), "")
            daemon.stop()
        bad = os.path.join(d, "bad.csv")
        with open(bad, "w") as f:
            f.write("timestamp,temperature\n2024-05-01T12:00:00Z,1\n2024-05-01T12:00:01+02:00,2\n")
        proc = replay("--data", bad, "--measurement", "pump", "--connect", "127.0.0.1:1")
        checks.check("a timestamp with an offset is refused before connecting", proc.returncode == 2 and
                     f"{bad}: not a timestamp" not in proc.stderr and "data row 2" in proc.stderr, proc.stderr)
        proc = replay("--data", csv, "--measurement", "pump", "--tags", "pump", "--connect", "127.0.0.1:1")
        checks.check("bad --tags refused", proc.returncode == 2 and
                     'expected key=value, got "pump"' in proc.stderr, proc.stderr)
    checks.finish()


if __name__ == "__main__":
    main()
