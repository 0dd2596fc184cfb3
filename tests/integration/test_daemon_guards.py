"""Guards (docs/detection.md, "Guards") give the same verdicts in the daemon
and in `lstmad score --guards`: one series goes to two models with the same
guards, one with the default detector and one without a detector
(anomaly_score: false, threshold: fixed), and every fired/resolved event in
the events file falls on the window where the CLI's `alert` column changes.
The guards veto the flow excursion the model alarms on (flow only counts
below its expected value; the other features never pass) and force the
windows whose newest pressure leaves its valid range; the CLI's guarded
alert column differs from the unguarded one, and
lstmad_guard_overrides_total{verdict="anomalous"} counts exactly the windows
out of range. A guard naming a feature the model does not have is refused
at start (exit 2) and on reload (the old configuration stays), naming the
model, the feature and the model's features.
"""
import json
import os
import random
import signal

from daemon_harness import FEATURES, Daemon, line, pump_values, total, train_pump_model, write_config, write_pump_csv
from test_daemon_anomaly_score import column_transitions, rfc3339_ns
from lstmad_cli import Checks, read_csv, run, tempdir
from test_metrics_documented import DOC, documented_families, exported_families

LOOKBACK = 10
NORMAL, FAULT, AFTER = 200, 12, 60
OUT_OF_RANGE = range(NORMAL + FAULT + 30, NORMAL + FAULT + 33)  # samples with pressure 9.5
T0 = 1_700_000_000_000_000_000
GUARDS = ("{ temperature: { min_deviation: 1000 }, pressure: { min_deviation: 1000, valid_range: [0, 9] },"
          " vibration: { min_deviation: 1000 }, flow: { direction: below } }")
CLI_GUARDS = ("temperature:min_deviation=1000;pressure:min_deviation=1000,valid_range=0..9;"
              "vibration:min_deviation=1000;flow:direction=below")


def series():
    rng = random.Random(5)
    values = [pump_values(i, 0.3, rng) for i in range(NORMAL + FAULT + AFTER)]
    for i in range(NORMAL, NORMAL + FAULT):
        values[i][3] += 45.0  # flow far above what the model expects
    for i in OUT_OF_RANGE:
        values[i][1] = 9.5  # pressure out of [0, 9]
    return values


def window_of(end_ns):
    return (end_ns - T0) // 10**9 - LOOKBACK + 1


def score(model, csv, *extra):
    header, rows = read_csv(run("score", "--model", model, "--data", csv, "--threshold-mode", "fixed",
                                "--alert-for", 1, "--alert-clear", 3, *extra).stdout)
    return [int(r[header.index("alert")]) for r in rows], [int(r[header.index("anomaly")]) for r in rows]


def main():
    checks = Checks()
    with tempdir() as d:
        model = train_pump_model(d, lookback=LOOKBACK, epochs=8, samples=2000)
        values = series()
        csv = write_pump_csv(os.path.join(d, "series.csv"), values)
        guarded, _ = score(model, csv, "--guards", CLI_GUARDS)
        unguarded, anomaly = score(model, csv)  # anomaly: the model's own verdict, no guard
        windows = len(values) - LOOKBACK + 1
        excursion = range(NORMAL, NORMAL + FAULT - LOOKBACK + 1)  # windows ending inside it
        checks.check("the model alarms on the flow excursion", any(anomaly[w] for w in excursion))
        checks.check("the guards change the alert column", guarded != unguarded)
        forced = [w for w in range(windows) if w + LOOKBACK - 1 in OUT_OF_RANGE]
        checks.check("out-of-range windows fire", all(guarded[w] for w in forced), str(forced))

        bad = run("serve", "--config", write_config(
            os.path.join(d, "bad.yaml"),
            [{"name": "pump", "path": model, "measurement": "pump", "guards": "{ humidity: { direction: above } }"}]),
            check=False, timeout=60)
        checks.check("a guard on an unknown feature is refused at start", bad.returncode == 2,
                     f"exit {bad.returncode}")
        want = 'models[0].guards: model pump: no feature "humidity" (the model\'s features: ' + ", ".join(FEATURES) + ")"
        checks.check("the message names the model, the feature and the features", want in bad.stderr + bad.stdout,
                     (bad.stderr + bad.stdout)[-400:])

        events = os.path.join(d, "events.jsonl")
        models = [{"name": "pump", "path": model, "measurement": "pump", "for": 1, "clear": 3, "guards": GUARDS},
                  {"name": "bare", "path": model, "measurement": "bare", "for": 1, "clear": 3, "guards": GUARDS,
                   "detector": "{ anomaly_score: false, threshold: fixed }"}]
        cfg = write_config(os.path.join(d, "lstmad.yaml"), models, extra=f"events:\n  path: {events}\n")
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            for measurement in ("pump", "bare"):
                sock.sendall("".join(line(measurement, {"pump": "a"}, v, ts=T0 + i * 10**9)
                                     for i, v in enumerate(values)).encode())
            m = daemon.wait_for(lambda m: all(total(m, "lstmad_windows_scored_total", model=x) >= windows
                                              for x in ("pump", "bare")), what="every window scored", timeout=60)
            exported, helps = exported_families(daemon.scrape_text())
            with open(DOC) as f:
                documented = documented_families(f.read())
            family = "lstmad_guard_overrides_total"
            checks.check("lstmad_guard_overrides_total as docs/metrics.md documents it (type, labels, HELP)",
                         family in helps and exported.get(family) == documented.get(family),
                         f"exported {exported.get(family)} documented {documented.get(family)}")
            for name in ("pump", "bare"):
                got = total(m, "lstmad_guard_overrides_total", model=name, verdict="anomalous")
                checks.check(f"{name}: anomalous guard verdicts = windows out of range", got == len(forced),
                             f"{got} vs {len(forced)}")
                checks.check(f"{name}: the flow excursion was vetoed",
                             total(m, "lstmad_guard_overrides_total", model=name, verdict="normal") > 0)
            write_config(cfg, [dict(models[0], guards="{ humidity: { direction: above } }")],
                         extra=f"events:\n  path: {events}\n")
            daemon.signal(signal.SIGHUP)
            ok, m = daemon.poll(lambda m: m.get('lstmad_config_reloads_total{result="failure"}', 0) == 1)
            checks.check("a reload with a guard on an unknown feature fails", ok)
            checks.check("the reload's error names the model and the feature",
                         daemon.logged("models[0].guards: model pump: no feature"))
            sock.close()
            checks.check("daemon exits 0", daemon.stop() == 0)

        with open(events) as f:
            records = [json.loads(x) for x in f if x.strip()]
        cli = column_transitions(guarded)
        checks.check("the guarded alert column fires and resolves", len(cli) >= 2, str(cli))
        for name in ("pump", "bare"):
            got = [(r["kind"], window_of(rfc3339_ns(r["window_end"]))) for r in records if r["model"] == name]
            checks.check(f"{name}: every alert transition at the same window as the CLI's", got == cli,
                         f"daemon {got} cli {cli}")
    checks.finish()


if __name__ == "__main__":
    main()
