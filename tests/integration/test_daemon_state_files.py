"""Files the daemon writes and reads, issue 18.

Finding 10: snapshot failures are visible and heal. A snapshot that cannot be
written is counted in lstmad_snapshot_failures_total (not only logged),
lstmad_snapshot_last_success_timestamp_seconds says when one last succeeded,
and a state directory that disappeared is created again (0700) at the next
try instead of failing every snapshot until a restart.

Finding 9: a SIGHUP reload reads and parses the model files off the io
thread, so /metrics and ingestion are served during a slow load (here a
Keras model calibrated on a long CSV, several seconds of work).
"""
import math
import os
import shutil
import signal
import stat
import time

from daemon_harness import Daemon, line, pump_values, train_pump_model, write_config
from lstmad_cli import REPO, Checks, tempdir

KERAS = os.path.join(REPO, "..", "shared", "keras-models", "fariha-masters-thesis", "lstm_autoencoder.h5")

FAILURES = "lstmad_snapshot_failures_total"
LAST_SUCCESS = "lstmad_snapshot_last_success_timestamp_seconds"


def snapshot_health(checks, d, model):
    state = os.path.join(d, "state")
    cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}],
                       extra=f"state: {{ path: {state}, interval: 1s }}\n")
    with Daemon(cfg) as daemon:
        first = daemon.metrics()
        checks.check("both snapshot series exist from the start",
                     first.get(FAILURES + "{}") == 0 and LAST_SUCCESS + "{}" in first, str(
                         {k: v for k, v in first.items() if "snapshot" in k}))
        ok, m = daemon.poll(lambda m: m.get(LAST_SUCCESS + "{}", 0) > 0, timeout=20)
        checks.check("a periodic snapshot sets the last-success time to about now",
                     ok and abs(m[LAST_SUCCESS + "{}"] - time.time()) < 60, str(m.get(LAST_SUCCESS + "{}")))

        # A regular file where the directory was: create_directories cannot
        # make the directory, so every snapshot fails until it is removed.
        shutil.rmtree(state)
        with open(state, "w") as f:
            f.write("squatter\n")
        ok, m = daemon.poll(lambda m: m.get(FAILURES + "{}", 0) >= 2, timeout=20)
        checks.check("failed snapshots are counted", ok, str(m.get(FAILURES + "{}")))
        checks.check("...and logged with the reason",
                     daemon.logged(f"{state}: cannot create the state directory: Not a directory"))
        failed_success = m.get(LAST_SUCCESS + "{}", 0)

        os.unlink(state)
        ok, m = daemon.poll(lambda m: m.get(LAST_SUCCESS + "{}", 0) > failed_success, timeout=20)
        checks.check("once the fault clears the next snapshot succeeds", ok)
        checks.check("the state directory is created again, 0700",
                     os.path.isdir(state) and stat.S_IMODE(os.stat(state).st_mode) == 0o700,
                     oct(os.stat(state).st_mode) if os.path.exists(state) else "missing")
        checks.check("the snapshot file is back", os.path.isfile(os.path.join(state, "streams.snapshot")))
        healed = daemon.metrics()[FAILURES + "{}"]
        time.sleep(2.5)  # two more periodic snapshots
        checks.check("no failure is counted after the fault cleared",
                     daemon.metrics()[FAILURES + "{}"] == healed, str(healed))

        # Finding 5 for the daemon: a snapshot path that is a device is
        # refused, never replaced by a regular file.
        snap = os.path.join(state, "streams.snapshot")
        # Swapped in at once (rename): a periodic snapshot between an unlink
        # and a symlink would put a file back and make symlink() fail.
        os.symlink("/dev/null", snap + ".link")
        os.replace(snap + ".link", snap)
        before = daemon.metrics()[FAILURES + "{}"]
        ok, _ = daemon.poll(lambda m: m.get(FAILURES + "{}", 0) > before, timeout=20)
        checks.check("a snapshot path linked to /dev/null is refused and counted", ok)
        checks.check("...the link is untouched and /dev/null is still a character device",
                     os.readlink(snap) == "/dev/null" and stat.S_ISCHR(os.stat("/dev/null").st_mode))
        checks.check("...with the reason logged",
                     daemon.logged(f"{snap}: not a regular file (a character device): refusing to replace it"))
        os.unlink(snap)
        daemon.stop()

    no_state = write_config(os.path.join(d, "plain.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}])
    with Daemon(no_state) as daemon:
        text = daemon.scrape_text()
        checks.check("without state.path neither series is exported",
                     FAILURES not in text and LAST_SUCCESS not in text)


def slow_reload(checks, d, model):
    cfg = write_config(os.path.join(d, "reload.yaml"), [{"name": "pump", "path": model, "measurement": "pump"}])
    normal = os.path.join(d, "normal.csv")
    # About 2.5 s of calibration on a quiet machine; a sanitizer build is
    # slower by itself.
    rows = 8000 if os.environ.get("LSTMAD_UNDER_SANITIZER") else 40000
    with open(normal, "w") as f:
        f.write("value\n" + "".join(f"{0.5 + 0.4 * math.sin(i / 5):.6f}\n" for i in range(rows)))
    with Daemon(cfg) as daemon:
        sock = daemon.connect()
        with open(cfg, "a") as f:
            f.write(f"  - name: thesis\n    path: {KERAS}\n    measurement: sensor\n"
                    f"    features: [value]\n    calibrate: {normal}\n    scaler: none\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for_log("reloading the configuration")
        # While the loader works, the io thread answers /metrics and reads
        # samples: scrapes that return with the reload not yet counted, and
        # samples counted in one of them, prove it (the old code ran the load
        # on the io thread, so no scrape could return before the counter moved).
        sock.sendall("".join(line("pump", {"pump": "r"}, pump_values(i)) for i in range(3)).encode())
        during = []
        deadline = time.time() + 300
        while time.time() < deadline and not any("configuration reloaded" in x for x in daemon.logs()):
            m = daemon.metrics()
            if m.get('lstmad_config_reloads_total{result="success"}') == 0:
                during.append(m)
            time.sleep(0.05)
        checks.check("/metrics answers while the models load", len(during) >= 2, f"{len(during)} scrapes")
        checks.check("...and samples sent during the load are read",
                     any(m.get('lstmad_samples_received_total{model="pump"}') == 3 for m in during),
                     str([m.get('lstmad_samples_received_total{model="pump"}') for m in during][-3:]))
        ok, m = daemon.poll(lambda m: m.get('lstmad_config_reloads_total{result="success"}') == 1, timeout=10)
        checks.check("the reload then succeeds with the new model",
                     ok and m.get('lstmad_model_threshold{model="thesis"}', 0) > 0)
        sock.close()
        checks.check("exit 0", daemon.stop() == 0)


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=5, epochs=1, samples=400, encoder="8", decoder="8")
        snapshot_health(checks, d, model)
        slow_reload(checks, d, model)
    checks.finish()


if __name__ == "__main__":
    main()
