"""`lstmad send`: the demo's "send your own" without nc. Lines from --line
(repeated) and from standard input reach the daemon and are scored; a
refused connection is a clear error with exit 1."""
import os
import socket
import subprocess

from daemon_harness import Daemon, train_pump_model, write_config
from lstmad_cli import BIN, Checks, tempdir

LINE = "pump,pump=mine temperature=60,pressure=4,vibration=0.5,flow=120"


def send(*args, stdin=None):
    return subprocess.run([BIN, "send", *args], input=stdin, capture_output=True, text=True, timeout=60)


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=10, epochs=2, samples=400)
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}])
        with Daemon(cfg) as daemon:
            address = f"127.0.0.1:{daemon.ingest_port}"
            proc = send("--connect", address, "--line", LINE, "--repeat", "12", "--interval", "0.01")
            checks.check("send --line --repeat 12: exit 0 and says what it sent",
                         proc.returncode == 0 and proc.stderr == f"send: 12 lines sent to {address}\n", proc.stderr)
            # Twelve samples of a lookback-10 model: windows 10, 11 and 12.
            ok, m = daemon.poll(lambda m: m.get('lstmad_windows_scored_total{model="pump"}', 0) >= 3, timeout=20)
            checks.check("the repeated line is scored: 3 windows", ok and
                         m.get('lstmad_windows_scored_total{model="pump"}') == 3, str(m.get('lstmad_windows_scored_total{model="pump"}')))
            stdin = "".join(f"pump,pump=piped temperature={60 + i},pressure=4,vibration=0.5,flow=120\n\n"
                            for i in range(10))
            proc = send("--connect", address, stdin=stdin)
            checks.check("send from stdin skips blank lines", proc.returncode == 0 and
                         proc.stderr == f"send: 10 lines sent to {address}\n", proc.stderr)
            ok, m = daemon.poll(lambda m: m.get('lstmad_windows_scored_total{model="pump"}', 0) >= 4, timeout=20)
            checks.check("the piped lines are scored: one more window", ok and
                         m.get('lstmad_windows_scored_total{model="pump"}') == 4, str(m.get('lstmad_windows_scored_total{model="pump"}')))
            daemon.stop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = f"127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refused
            proc = send("--connect", closed, "--line", LINE)
        checks.check("a refused connection: exit 1, named", proc.returncode == 1 and
                     proc.stderr == f"lstmad send: error: --connect {closed}: Connection refused\n", proc.stderr)
        proc = send("--repeat", "0", "--line", LINE)
        checks.check("--repeat 0 is refused", proc.returncode == 2 and
                     '--repeat must be an integer from 1 to 2147483647; "0" is out of range' in proc.stderr,
                     proc.stderr)
    checks.finish()


if __name__ == "__main__":
    main()
