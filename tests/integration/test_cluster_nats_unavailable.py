"""`lstmad serve` started before NATS (what systemd does at boot when NATS is
slower) and NATS not up within nats.startup_timeout (2 s here): it exits 69
(EX_UNAVAILABLE, which the unit restarts on) within a bounded time, naming
NATS, both when no server answers and when one node answers but JetStream
has no quorum yet. `serve --check` does not need NATS (exit 0). Once the
cluster is up, the same configuration started again (as systemd's restart
would) serves: every partition acquired, /readyz 200. (NATS coming up
during the wait: test_cluster_startup_wait.py.)"""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

from cluster_support import cluster_config
from daemon_harness import Daemon, total, train_pump_model
from lstmad_cli import BIN, Checks, tempdir
from nats_harness import NatsCluster

PARTITIONS = 4
EXIT_UNAVAILABLE = 69
# nats.startup_timeout, then the attempt in progress: natsConnection_Connect
# fails at once on a refused port; a JetStream lookup waits at most 5 s per
# call (cluster_nats.cc), and an attempt makes a few.
STARTUP_TIMEOUT_S = 2
BOUND_S = 30


def serve(config):
    start = time.monotonic()
    proc = subprocess.run([BIN, "serve", "--config", config], capture_output=True, text=True, timeout=120)
    return proc, time.monotonic() - start


def wait_port_open(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"port {port} not open within {timeout}s")


def readyz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    checks = Checks()
    with tempdir() as d, NatsCluster(PARTITIONS, start=False) as nats:
        model = train_pump_model(d, lookback=5, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        cfg = cluster_config(os.path.join(d, "lstmad.yaml"), model, nats, "i0", PARTITIONS,
                             extra=f"  startup_timeout: {STARTUP_TIMEOUT_S}s\n")

        check = subprocess.run([BIN, "serve", "--config", cfg, "--check"], capture_output=True, text=True,
                               timeout=60)
        checks.check("serve --check passes without NATS (exit 0)", check.returncode == 0,
                     f"exit {check.returncode}: {check.stderr.strip()[-300:]}")

        proc, took = serve(cfg)
        err = proc.stderr.strip()
        checks.check("no NATS server running: exit 69", proc.returncode == EXIT_UNAVAILABLE,
                     f"exit {proc.returncode}: {err[-300:]}")
        checks.check("the message names NATS and its servers", "nats: connecting to nats.servers" in err, err[-300:])
        checks.check(f"it waits nats.startup_timeout, and gives up within {BOUND_S} s",
                     STARTUP_TIMEOUT_S <= took < BOUND_S, f"{took:.1f}s")

        # One node of three: the client connects, but JetStream has no meta
        # leader, so looking up the stream fails (a timeout or "temporarily
        # unavailable"): still a dependency not ready, 69.
        nats.start(0)
        wait_port_open(nats.client_ports[0])
        proc, took = serve(cfg)
        err = proc.stderr.strip()
        checks.check("JetStream without quorum: exit 69", proc.returncode == EXIT_UNAVAILABLE,
                     f"exit {proc.returncode}: {err[-300:]}")
        checks.check("the message names the NATS call that failed",
                     "lstmad serve: error: NATS at " in err and "; last error: nats: " in err, err[-300:])
        checks.check(f"it waits nats.startup_timeout, and gives up within {BOUND_S} s",
                     STARTUP_TIMEOUT_S <= took < BOUND_S, f"{took:.1f}s")

        for i in range(1, len(nats.procs)):
            nats.start(i)
        nats.wait_ready()
        with Daemon(cfg) as daemon:
            m = daemon.wait_for(lambda m: total(m, "lstmad_cluster_owned_partitions") == PARTITIONS, timeout=40,
                                what="every partition acquired")
            checks.check("restarted once NATS is up: it acquires every partition",
                         total(m, "lstmad_cluster_owned_partitions") == PARTITIONS)
            checks.check("NATS connected", total(m, "lstmad_cluster_nats_connected") == 1)
            checks.check("/readyz answers 200", readyz(daemon.metrics_port) == 200)
            code = daemon.stop()
            checks.check("SIGTERM exits 0", code == 0, str(code))
    checks.finish()


if __name__ == "__main__":
    main()
