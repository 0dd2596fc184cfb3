"""Issue 18, finding 11: `lstmad serve` in cluster mode waits for NATS at
start instead of exiting on the first failure.

(a) Started with no NATS server running, NATS started once lstmad has logged
    a retry: lstmad comes up without a restart, acquires every partition,
    answers /readyz 200 and scores samples published through NATS. Each
    partition, never owned before, logs previous_owner="" (not its new
    owner's own id).
(b) NATS never comes: it exits 69 (the unit restarts on it) after
    nats.startup_timeout, naming what it waited for and the last error, with
    a backoff (a handful of attempts, one retry log line).
(c) SIGHUP during the wait: ignored; SIGTERM: exit 0 at once, logged.
Every wait is bounded."""
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

from cluster_support import cluster_config, publish_rounds, wait_scored
from daemon_harness import Daemon, total, train_pump_model
from lstmad_cli import BIN, Checks, tempdir
from nats_harness import NatsClient, NatsCluster

LOOKBACK = 5
PARTITIONS = 4
STREAMS = 20
SAMPLES = 8
EXIT_UNAVAILABLE = 69
GIVE_UP_AFTER_S = 4


class DaemonBeforeNats(Daemon):
    """A Daemon whose NATS cluster is started only once lstmad has logged
    that it is retrying: the harness's wait for "lstmad serving" first waits
    for that line and starts the cluster."""

    def __init__(self, config, nats):
        self.nats = nats
        self.nats_started_at = None
        super().__init__(config, start_timeout=90)

    def wait_for_log(self, needle, timeout=30, start=0):
        if needle == "lstmad serving" and self.nats_started_at is None:
            super().wait_for_log("not ready yet; retrying", 30)
            self.nats_started_at = time.monotonic()
            self.nats.start_all()
        return super().wait_for_log(needle, timeout, start)


def readyz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_for_file_text(path, needle, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path) as f:
            if needle in f.read():
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def nats_comes_later(checks, d, model):
    with NatsCluster(PARTITIONS, start=False) as nats:
        cfg = cluster_config(os.path.join(d, "late.yaml"), model, nats, "i0", PARTITIONS,
                             extra="  startup_timeout: 60s\n")
        with DaemonBeforeNats(cfg, nats) as daemon:
            retry = daemon.wait_for_log("not ready yet; retrying", 1)
            checks.check("while NATS is down it logs what failed and the next delay",
                         "error=\"nats: connecting to nats.servers" in retry and "next_in_s=" in retry
                         and "waiting_for=\"NATS at nats://127.0.0.1:" in retry, retry)
            m = daemon.wait_for(lambda m: total(m, "lstmad_cluster_owned_partitions") == PARTITIONS, timeout=40,
                                what="every partition acquired")
            checks.check("NATS started after lstmad: the same process acquires every partition",
                         total(m, "lstmad_cluster_owned_partitions") == PARTITIONS)
            checks.check("it logged that it is ready after retrying", daemon.logged("ready after retrying", 1))
            checks.check("NATS connected", total(m, "lstmad_cluster_nats_connected") == 1)
            checks.check("/readyz answers 200", readyz(daemon.metrics_port) == 200)
            with NatsClient(nats.client_ports[0]) as client:
                publish_rounds(client, STREAMS, 0, SAMPLES)
            expected = STREAMS * (SAMPLES - LOOKBACK + 1)
            got = wait_scored([daemon], expected, nats=nats)
            checks.check("it scores what is published through NATS: streams * (samples - T + 1) windows",
                         got == expected, f"{got} expected {expected}")
            # Each partition's line comes from its own thread: read until all
            # are in (bounded).
            deadline = time.time() + 30
            while True:
                acquired = [l for l in daemon.logs() if "partition acquired" in l]
                if len(acquired) >= PARTITIONS or time.time() > deadline:
                    break
                time.sleep(0.05)
            fresh = [l for l in acquired if 'previous_owner=""' in l]
            checks.check("each never-owned partition logs previous_owner=\"\" on acquisition",
                         len(acquired) == PARTITIONS and len(fresh) == PARTITIONS, "\n".join(acquired))
            checks.check("no partition names its new owner as the previous one",
                         not any("previous_owner=i0" in l for l in acquired))
            code = daemon.stop()
            checks.check("SIGTERM exits 0", code == 0, str(code))


def nats_never_comes(checks, d, model):
    with NatsCluster(PARTITIONS, start=False) as nats:
        cfg = cluster_config(os.path.join(d, "never.yaml"), model, nats, "i0", PARTITIONS,
                             extra=f"  startup_timeout: {GIVE_UP_AFTER_S}s\n")
        start = time.monotonic()
        proc = subprocess.run([BIN, "serve", "--config", cfg], capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
        err = proc.stderr
        checks.check("NATS never comes: exit 69 (restarted by the unit)", proc.returncode == EXIT_UNAVAILABLE,
                     f"exit {proc.returncode}: {err.strip()[-400:]}")
        checks.check(f"it waited nats.startup_timeout ({GIVE_UP_AFTER_S} s), not much more",
                     GIVE_UP_AFTER_S <= took < GIVE_UP_AFTER_S + 15, f"{took:.1f}s")
        servers = ",".join(nats.urls())
        found = re.search(r"lstmad serve: error: NATS at (\S+) \(connection, stream LSTMAD, buckets LSTMAD_leases "
                          r"and LSTMAD_state\) not ready after (\d+\.\d) s \((\d+) attempts, nats.startup_timeout "
                          r"4\.0 s\); last error: nats: connecting to nats.servers: ", err)
        checks.check("the message names what it waited for, how long, and the last error",
                     found is not None and found.group(1) == servers, err.strip()[-400:])
        if found:
            attempts = int(found.group(3))
            # Backoff from 250 ms doubling (half to all of each step): 6 or 7
            # attempts in 4 s on an idle machine, fewer when attempts are slow.
            checks.check("attempts follow the backoff, not a busy loop", 3 <= attempts <= 8, str(attempts))
            checks.check("the wait it reports is the timeout", float(found.group(2)) >= GIVE_UP_AFTER_S,
                         found.group(2))
        retries = err.count("not ready yet; retrying")
        checks.check("retries are logged at most every 5 s: one line in 4 s", retries == 1, str(retries))


def sigterm_while_waiting(checks, d, model):
    with NatsCluster(PARTITIONS, start=False) as nats:
        cfg = cluster_config(os.path.join(d, "term.yaml"), model, nats, "i0", PARTITIONS,
                             extra="  startup_timeout: 60s\n")
        log_path = os.path.join(d, "term.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([BIN, "serve", "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        try:
            waiting = wait_for_file_text(log_path, "not ready yet; retrying", proc)
            checks.check("waiting for NATS", waiting)
            proc.send_signal(signal.SIGHUP)
            checks.check("SIGHUP during the wait is ignored (logged), the wait goes on",
                         wait_for_file_text(log_path, "SIGHUP during start-up ignored", proc)
                         and proc.poll() is None)
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
            took = time.monotonic() - start
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        with open(log_path) as f:
            text = f.read()
        checks.check("SIGTERM during the wait: exit 0", code == 0, f"exit {code}: {text[-400:]}")
        checks.check("promptly (no NATS call in flight: the backoff sleep is cut short)", took < 5, f"{took:.2f}s")
        checks.check("logged as a stop during start-up",
                     "stopped during start-up, before serving" in text and "signal=SIGTERM" in text, text[-400:])


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=2, samples=600, encoder="8,4", decoder="4,8")
        nats_comes_later(checks, d, model)
        nats_never_comes(checks, d, model)
        sigterm_while_waiting(checks, d, model)
    checks.finish()


if __name__ == "__main__":
    main()
