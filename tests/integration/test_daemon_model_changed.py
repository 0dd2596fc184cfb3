"""A model file replaced between two runs of the daemon: its streams'
detectors calibrate afresh, as at a reload, instead of judging the new model's
errors against the history of the old one's.

The daemon scores windows 0 to RESTART_AFTER (past calibration) under model A,
and stops (the snapshot holds the stream's window and detector). Model B, the
same shape trained for fewer epochs, is copied over A's path, and the daemon
starts again: it logs that the detectors calibrate afresh (with B's fingerprint,
as `lstmad summary` shows it), and from then on its
anomaly scores and alert transitions equal `lstmad score --model B` on the
series from the restored window on (a detector that calibrates on its first
CALIBRATION windows), window for window, including an excursion after that
calibration. Restarting with the file unchanged restores the detector: no such
log line (test_daemon_anomaly_score.py checks the scores there).
"""
import datetime
import json
import os
import random
import re
import shutil

from daemon_harness import Daemon, feed_until, pump_values, train_pump_model, write_config, write_pump_csv
from lstmad_cli import Checks, read_csv, run, tempdir

LOOKBACK = 10
CALIBRATION = 120
RESTART_AFTER = 200  # the last window scored under model A (past calibration)
AFTER_RESTART = 300  # windows scored under model B
FAULT_AT, FAULT = 200, 12  # after the restart: windows of B's series where a flow excursion starts
DETECTOR = "{ threshold: likelihood, calibration_windows: %d }" % CALIBRATION
T0 = 1_700_000_000_000_000_000  # the first sample's timestamp, ns
KEY = 'lstmad_stream_anomaly_score{model="pump",pump="a",stream="pump,pump=a"}'
CALIBRATES_AFRESH = "detectors calibrate afresh"


def series():
    rng = random.Random(5)
    total_samples = RESTART_AFTER + LOOKBACK + AFTER_RESTART
    values = [pump_values(i, 0.3, rng) for i in range(total_samples)]
    first_after = RESTART_AFTER + 1  # the first window scored after the restart
    for w in range(FAULT_AT, FAULT_AT + FAULT):
        values[first_after + w + LOOKBACK - 1][3] += 45.0
    return values


def transitions(alert, offset=0):
    out, prev = [], 0
    for w, a in enumerate(alert):
        if a != prev:
            out.append(("fired" if a else "resolved", w + offset))
        prev = a
    return out


def main():
    checks = Checks()
    with tempdir() as d:
        model_a = train_pump_model(d, lookback=LOOKBACK, name="pump-a.lstmad")
        model_b = train_pump_model(d, lookback=LOOKBACK, name="pump-b.lstmad", epochs=4)
        fingerprints = [re.search(r"^Fingerprint: ([0-9a-f]{8}) ", run("summary", m).stdout, re.M)
                        for m in (model_a, model_b)]
        checks.check("summary shows each model's fingerprint, and they differ",
                     all(fingerprints) and fingerprints[0].group(1) != fingerprints[1].group(1), str(fingerprints))
        fingerprint_b = fingerprints[1].group(1) if fingerprints[1] else "?"
        served = os.path.join(d, "pump.lstmad")
        shutil.copyfile(model_a, served)
        values = series()
        first_after = RESTART_AFTER + 1
        tail = values[first_after:]  # its window k is the daemon's window first_after + k
        csv = write_pump_csv(os.path.join(d, "tail.csv"), tail,
                             [str(T0 // 10**9 + first_after + i) for i in range(len(tail))])
        header, rows = read_csv(run("score", "--model", model_b, "--data", csv, "--threshold-mode", "likelihood",
                                    "--calibration", CALIBRATION, "--alert-for", 3, "--alert-clear", 3).stdout)
        want = {first_after + k: float(r[header.index("anomaly_score")]) for k, r in enumerate(rows)}
        want_alerts = transitions([int(r[header.index("alert")]) for r in rows], first_after)
        checks.check("score under B fires on the excursion after its calibration",
                     any(kind == "fired" and w >= first_after + FAULT_AT for kind, w in want_alerts), str(want_alerts))
        a_rows = read_csv(run("score", "--model", model_a, "--data", csv, "--threshold-mode", "likelihood",
                              "--calibration", CALIBRATION).stdout)[1]
        checks.check("A and B give other scores (the models differ)",
                     any(abs(float(a[header.index("anomaly_score")]) - float(b[header.index("anomaly_score")])) > 1e-3
                         for a, b in zip(a_rows, rows)))

        events = os.path.join(d, "events.jsonl")
        cfg = write_config(os.path.join(d, "lstmad.yaml"),
                           [{"name": "pump", "path": served, "measurement": "pump", "detector": DETECTOR}],
                           extra=f"events:\n  path: {events}\nstate:\n  path: {os.path.join(d, 'state')}\n")
        sent = 0
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            sent = feed_until(daemon, sock, values, sent, RESTART_AFTER, 0, LOOKBACK, T0)
            sock.close()
            checks.check("first daemon exits 0", daemon.stop() == 0)
        # The same file: the detector is restored, nothing said.
        with Daemon(cfg) as daemon:
            daemon.wait_for_log("snapshot restored")
            checks.check("the same model keeps the detector",
                         not any(CALIBRATES_AFRESH in x for x in daemon.logs()))
            checks.check("daemon exits 0", daemon.stop() == 0)

        shutil.copyfile(model_b, served)
        last = RESTART_AFTER + AFTER_RESTART
        probes = sorted({first_after, first_after + 1, first_after + 60, first_after + CALIBRATION - 1,
                         first_after + CALIBRATION, first_after + CALIBRATION + 1, first_after + 180, last} |
                        set(range(first_after + FAULT_AT - 1, first_after + FAULT_AT + FAULT + 2)))
        got = {}
        with Daemon(cfg) as daemon:
            daemon.wait_for_log("snapshot restored")  # logged after the restore's own lines
            said = [x for x in daemon.logs() if CALIBRATES_AFRESH in x]
            checks.check("the log names the model, its fingerprint (as summary shows it) and counts the stream",
                         len(said) == 1 and "model=pump" in said[0] and f"fingerprint={fingerprint_b}" in said[0]
                         and "streams=1" in said[0], f"{said} (summary: {fingerprint_b})")
            sock = daemon.connect()
            for w in probes:
                sent = feed_until(daemon, sock, values, sent, w, first_after, LOOKBACK, T0)
                got[w] = daemon.metrics().get(KEY)
            sock.close()
            checks.check("daemon under B exits 0", daemon.stop() == 0)

        worst = max(abs(got[w] - want[w]) if got[w] is not None else 1.0 for w in probes)
        checks.check("after the restart the daemon scores as a detector calibrating afresh on B",
                     worst < 1e-4, f"max diff {worst:.2e}: " +
                     ", ".join(f"{w}: {got[w]} vs {want[w]}" for w in probes if got[w] is None or
                               abs(got[w] - want[w]) >= 1e-4))
        with open(events) as f:
            records = [json.loads(x) for x in f if x.strip()]
        daemon_alerts = [(r["kind"], window_of(r["window_end"])) for r in records
                         if window_of(r["window_end"]) >= first_after]
        checks.check("every alert transition at the same window as score's under B",
                     daemon_alerts == want_alerts, f"daemon {daemon_alerts} score {want_alerts}")
    checks.finish()


def window_of(rfc3339):
    """The window (of the whole series) whose newest sample has this timestamp."""
    whole = rfc3339.rstrip("Z").partition(".")[0]
    seconds = int(datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
                  .replace(tzinfo=datetime.timezone.utc).timestamp())
    return seconds - T0 // 10**9 - LOOKBACK + 1


if __name__ == "__main__":
    main()
