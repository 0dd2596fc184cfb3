"""`lstmad serve` exit codes by meaning (README, "The command line"): a
listen address in use is a dependency unavailable at start, 69 (the systemd
unit restarts on it), with a message naming the setting and the address; bad
configuration stays 2 (the unit leaves it down), whether the file itself is
bad or its listen host does not resolve. Once the port is free the same
configuration serves."""
import os
import socket
import subprocess

from daemon_harness import Daemon, train_pump_model, write_config
from lstmad_cli import BIN, Checks, tempdir

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 69


def serve(config):
    return subprocess.run([BIN, "serve", "--config", config], capture_output=True, text=True, timeout=60)


def busy_port():
    """A loopback socket listening on a free port (the caller closes it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def config_listening(d, name, model, ingest_at="127.0.0.1:0", metrics_at="127.0.0.1:0"):
    path = write_config(os.path.join(d, name), [{"name": "pump", "path": model, "measurement": "pump"}])
    with open(path) as f:
        text = f.read()
    text = text.replace("ingest:\n  listen: 127.0.0.1:0\n", f"ingest:\n  listen: {ingest_at}\n", 1)
    text = text.replace("metrics:\n  listen: 127.0.0.1:0\n", f"metrics:\n  listen: {metrics_at}\n", 1)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_busy(checks, d, model, key):
    with busy_port() as held:
        address = f"127.0.0.1:{held.getsockname()[1]}"
        cfg = config_listening(d, f"busy-{key}.yaml", model, **{f"{key}_at": address})
        proc = serve(cfg)
        err = proc.stderr.strip()
        checks.check(f"{key}.listen in use: exit 69", proc.returncode == EXIT_UNAVAILABLE,
                     f"exit {proc.returncode}: {err[-300:]}")
        checks.check(f"{key}.listen in use: the message names the setting and the address",
                     f"{key}.listen: cannot listen on {address}" in err and "in use" in err, err[-300:])
        check = subprocess.run([BIN, "serve", "--config", cfg, "--check"], capture_output=True, text=True,
                               timeout=60)
        checks.check(f"{key}.listen in use: serve --check still exits 0 (it binds nothing)",
                     check.returncode == 0, f"exit {check.returncode}: {check.stderr.strip()[-300:]}")
    # Freed (as when the other process goes): the same configuration serves.
    with Daemon(cfg) as daemon:
        port = daemon.ingest_port if key == "ingest" else daemon.metrics_port
        checks.check(f"{key}.listen freed: the same configuration serves on {address}",
                     f"127.0.0.1:{port}" == address, f"127.0.0.1:{port}")
        code = daemon.stop()
        checks.check("SIGTERM exits 0", code == 0, str(code))


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=5, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        check_busy(checks, d, model, "ingest")
        check_busy(checks, d, model, "metrics")

        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("ingest:\n  listen: 127.0.0.1:0\nmodels:\n  - name: pump\n    measurement: pump\n")
        proc = serve(bad)
        checks.check("a model without a path: exit 2", proc.returncode == EXIT_BAD_INPUT,
                     f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
        checks.check("the message names the key", "models[0].path" in proc.stderr, proc.stderr.strip()[-300:])

        missing = os.path.join(d, "no-such-model.yaml")
        write_config(missing, [{"name": "pump", "path": os.path.join(d, "absent.lstmad"), "measurement": "pump"}])
        proc = serve(missing)
        checks.check("a model file that does not exist: exit 2", proc.returncode == EXIT_BAD_INPUT,
                     f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}")

        no_port = config_listening(d, "no-port.yaml", model, metrics_at="127.0.0.1")
        proc = serve(no_port)
        checks.check("a metrics.listen without a port: exit 2", proc.returncode == EXIT_BAD_INPUT,
                     f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
        checks.check("the message names the key and the address",
                     "metrics.listen" in proc.stderr and '"127.0.0.1"' in proc.stderr, proc.stderr.strip()[-300:])

        unresolvable = config_listening(d, "unresolvable.yaml", model, ingest_at="no-such-host.invalid:0")
        proc = serve(unresolvable)
        err = proc.stderr.strip()
        checks.check("an ingest.listen host that does not resolve: exit 2", proc.returncode == EXIT_BAD_INPUT,
                     f"exit {proc.returncode}: {err[-300:]}")
        checks.check("the message names the setting and the host",
                     'ingest.listen: cannot resolve "no-such-host.invalid"' in err, err[-300:])
    checks.finish()


if __name__ == "__main__":
    main()
