"""Issue 7, "nothing lost": stream windows and alert states survive a restart.
SIGTERM writes a snapshot and a restart continues scoring at the first new
sample; an alert firing at shutdown is still firing after it; SIGKILL loses at
most the samples since the last periodic snapshot; a corrupt snapshot is
refused with a log line and the daemon starts clean.
"""
import os
import re
import signal
import time

from daemon_harness import Daemon, line, pump_values, total, train_pump_model, write_config
from lstmad_cli import Checks, tempdir

LOOKBACK = 10
LAST_SNAPSHOT = "lstmad_snapshot_last_success_timestamp_seconds{}"


def send(daemon, stream, samples, start=0, fault=()):
    sock = daemon.connect()
    for i in range(start, start + samples):
        v = pump_values(i)
        if i in fault:
            v[3] += 60.0
        sock.sendall(line("pump", {"pump": stream}, v).encode())
    sock.close()


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK)
        state = os.path.join(d, "state")
        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                           extra=f"state: {{ path: {state}, interval: 1s }}\n")

        with Daemon(cfg) as daemon:
            send(daemon, "k", 15)
            send(daemon, "f", 25, fault=range(15, 40))  # fires at sample 16 and is still firing
            daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total") == 6 + 16, what="windows before stop")
            checks.check("the fault stream fires before shutdown",
                         daemon.value("lstmad_stream_anomalous", model="pump", pump="f", stream="pump,pump=f") == 1)
            checks.check("SIGTERM exits 0", daemon.stop() == 0)
        checks.check("a snapshot file is written", os.path.exists(os.path.join(state, "streams.snapshot")))

        with Daemon(cfg) as daemon:
            daemon.wait_for_log("snapshot restored")
            checks.check("both streams restored", any("streams=2" in x for x in daemon.logs() if "snapshot restored" in x))
            checks.check("the firing alert is still firing after the restart",
                         daemon.value("lstmad_stream_anomalous", model="pump", pump="f", stream="pump,pump=f") == 1)
            send(daemon, "k", 1, start=15)
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 1)
            checks.check("scoring continues at the first new sample", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of 1")
            send(daemon, "f", 20, start=40)  # normal again: the alert resolves, without a new firing
            daemon.wait_for(lambda m: daemon.value("lstmad_stream_anomalous", model="pump", pump="f", stream="pump,pump=f") == 0,
                            what="resolution after restart")
            checks.check("it resolves without firing again",
                         daemon.value("lstmad_stream_anomalies_total", model="pump", pump="f", stream="pump,pump=f") == 0)
            # SIGKILL after a periodic snapshot: what it saved is kept.
            send(daemon, "k", 5, start=16)
            daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == 1 + 20 + 5, what="samples in")
            # A periodic snapshot that started after them: the second one to
            # finish from now (the first may have started before). Told apart
            # by the last-success time the daemon sets after each one, not by
            # counting log lines, which reach the reader thread a little late.
            received_at = time.time()
            done = set()
            daemon.wait_for(lambda m: done.add(m.get(LAST_SNAPSHOT, 0)) or
                            len({t for t in done if t > received_at}) >= 2,
                            timeout=30, what="two periodic snapshots after the samples")
            daemon.signal(signal.SIGKILL)
            daemon.proc.wait(timeout=10)

        with Daemon(cfg) as daemon:
            daemon.wait_for_log("snapshot restored")
            send(daemon, "k", 1, start=21)
            ok, m = daemon.poll(lambda m: total(m, "lstmad_windows_scored_total") == 1)
            checks.check("after SIGKILL the periodic snapshot's windows are kept", ok,
                         f"{total(m, 'lstmad_windows_scored_total'):.0f} windows of 1")
            checks.check("exit 0", daemon.stop() == 0)

        with open(os.path.join(state, "streams.snapshot"), "r+b") as f:
            f.seek(20)
            f.write(b"\xff\xff\xff\xff")
        with Daemon(cfg) as daemon:
            refused = daemon.wait_for_log("snapshot refused")
            checks.check("a corrupt snapshot is refused by name", "checksum" in refused and "streams.snapshot" in refused,
                         refused)
            send(daemon, "k", 1, start=22)
            daemon.wait_for(lambda m: total(m, "lstmad_samples_received_total") == 1, what="sample received")
            # SIGTERM scores every window of every sample received before it
            # (test_daemon_lifecycle.py): its "stopped" line's count is final.
            code = daemon.stop()  # joins the log reader: every line is in
            stopped = next((x for x in daemon.logs() if "stopped samples_received=" in x), "no \"stopped\" line")
            scored = re.search(r"windows_scored=(\d+)", stopped)
            checks.check("and the daemon starts clean", scored is not None and scored.group(1) == "0", stopped)
            checks.check("exit 0", code == 0, str(code))
    checks.finish()


if __name__ == "__main__":
    main()
