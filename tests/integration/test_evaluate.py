"""`lstmad evaluate`, `evaluate-stream`, and `score`'s anomaly_score and --plot
on a small synthetic labelled series.

The series: a noisy sine (period 40) with a level shift at rows 1500..1539
and a spike at row 2300, labelled 1490..1559 and 2295..2320. A model trained
on the first 450 rows (NAB's probation for 3000 rows) scores it.

The metrics `lstmad evaluate --threshold-mode fixed` prints are checked
against the same metrics computed here, independently, from `lstmad score`'s
`anomaly` column (error > the fixed threshold with --threshold-mode fixed) and the labels.
"""
import json
import math
import os
import random
import re
import xml.etree.ElementTree as ET

from lstmad_cli import Checks, read_csv, run, tempdir, train_fixture

ROWS, PROBATION, LOOKBACK = 3000, 450, 20


def label(i):
    return 1 if 1490 <= i < 1560 or 2295 <= i <= 2320 else 0


def write_series(path, rows, labelled=True):
    rng = random.Random(1)
    with open(path, "w") as f:
        f.write("timestamp,value" + (",label" if labelled else "") + "\n")
        for i in range(rows):
            v = math.sin(2 * math.pi * i / 40) + rng.gauss(0, 0.05)
            v += 3.0 if 1500 <= i < 1540 else 0.0
            v += 5.0 if i == 2300 else 0.0
            f.write(f"{1600000000 + 60 * i},{v:.6f}" + (f",{label(i)}" if labelled else "") + "\n")


def expected_metrics(alarms, labels, first):
    """Point-wise and event-wise counts, written from the definitions."""
    tp = sum(1 for i in range(first, len(labels)) if labels[i] and alarms[i])
    fp = sum(1 for i in range(first, len(labels)) if not labels[i] and alarms[i])
    fn = sum(1 for i in range(first, len(labels)) if labels[i] and not alarms[i])
    events, start = [], None
    for i in range(first, len(labels) + 1):
        on = i < len(labels) and labels[i]
        if on and start is None:
            start = i
        if not on and start is not None:
            events.append((start, i - 1))
            start = None
    found = [e for e in events if any(alarms[e[0]:e[1] + 1])]
    runs, start = [], None
    for i in range(first, len(alarms) + 1):
        on = i < len(alarms) and alarms[i]
        if on and start is None:
            start = i
        if not on and start is not None:
            runs.append((start, i - 1))
            start = None
    fp_events = sum(1 for a, b in runs if not any(labels[a:b + 1]))
    return (tp, fp, fn), (len(found), fp_events, len(events) - len(found))


def printed_row(text, name):
    m = re.search(rf"^  {name} +([0-9.]+) +([0-9.]+) +([0-9.]+) +(\d+) +(\d+) +(\d+)$", text, re.M)
    return tuple(int(m.group(k)) for k in (4, 5, 6)) if m else None


def main():
    checks = Checks()
    with tempdir() as d:
        data = os.path.join(d, "labelled.csv")
        write_series(data, ROWS)
        prefix = os.path.join(d, "prefix.csv")
        write_series(prefix, PROBATION, labelled=False)
        model = os.path.join(d, "m.lstmad")
        train_fixture("--data", prefix, "--lookback", LOOKBACK, "--encoder", "16", "--decoder", "16",
                      "--activation", "tanh", "--epochs", 8, "--threshold", "p99", "--out", model)

        # score: the contract's columns, then anomaly_score and alert; a plot.
        svg = os.path.join(d, "score.svg")
        header, rows = read_csv(run("score", "--model", model, "--data", data, "--plot", svg).stdout)
        checks.check("score columns end with anomaly_score, alert",
                     header == ["timestamp", "error", "threshold", "anomaly", "value_error", "anomaly_score",
                                "alert"],
                     str(header))
        scores = [float(r[header.index("anomaly_score")]) for r in rows]
        checks.check("alert is 0 or 1", all(r[-1] in ("0", "1") for r in rows))
        checks.check("anomaly_score in [0, 1]", all(0 <= s <= 1 for s in scores))
        onsets = [k + LOOKBACK - 1 for k, s in enumerate(scores) if s >= 0.5]
        checks.check("an onset at the level shift and at the spike",
                     any(1500 <= i < 1520 for i in onsets) and any(2300 <= i < 2310 for i in onsets),
                     str(onsets))
        checks.check("one onset per excursion, not one per window",
                     len([i for i in onsets if 1500 <= i < 1560]) == 1, str(onsets))
        # Novel values (docs/detection.md): the shift's first sample (3.0, the
        # sine's zero crossing plus 3) and the spike's lie beyond every value
        # before them by more than 5% of the range, so their own windows are
        # onsets with tail 0, whatever the window's mean error says.
        score_at = {k + LOOKBACK - 1: s for k, s in enumerate(scores)}
        checks.check("novel values: score 1 at the shift's and the spike's first sample",
                     score_at[1500] == 1.0 and score_at[2300] == 1.0, f"{score_at[1500]} {score_at[2300]}")
        _, off_rows = read_csv(run("score", "--model", model, "--data", data, "--novelty-margin", "off").stdout)
        off = [float(r[header.index("anomaly_score")]) for r in off_rows]
        checks.check("--novelty-margin off: the model's error alone decides those windows",
                     off[1500 - LOOKBACK + 1] < 1.0 and off[2300 - LOOKBACK + 1] < 1.0,
                     f"{off[1500 - LOOKBACK + 1]} {off[2300 - LOOKBACK + 1]}")
        for value in ("-0.1", "nan", "some"):
            bad = run("score", "--model", model, "--data", data, "--novelty-margin", value, check=False)
            checks.check(f"--novelty-margin {value} is bad input",
                         bad.returncode == 2 and "--novelty-margin" in bad.stderr, bad.stderr.strip())
        for value in ("0", "2.5", "10001"):
            bad = run("score", "--model", model, "--data", data, "--likelihood-settle-weight", value, check=False)
            checks.check(f"--likelihood-settle-weight {value} is bad input",
                         bad.returncode == 2 and "--likelihood-settle-weight" in bad.stderr, bad.stderr.strip())
        for value in ("-1", "2.5", "x"):
            bad = run("score", "--model", model, "--data", data, "--likelihood-accept-after", value, check=False)
            checks.check(f"--likelihood-accept-after {value} is bad input",
                         bad.returncode == 2 and "--likelihood-accept-after" in bad.stderr, bad.stderr.strip())
        root = ET.parse(svg).getroot()
        checks.check("score --plot writes a self-contained SVG",
                     root.tag.endswith("svg") and "href" not in open(svg).read())

        # evaluate with the fixed threshold: metrics recomputed from score's
        # anomaly column under the same threshold mode.
        _, fixed_rows = read_csv(run("score", "--model", model, "--data", data, "--threshold-mode", "fixed").stdout)
        alarms = [0] * ROWS
        for k, r in enumerate(fixed_rows):
            alarms[k + LOOKBACK - 1] = int(r[3])
        labels = [label(i) for i in range(ROWS)]
        points, events = expected_metrics(alarms, labels, PROBATION)
        eval_svg = os.path.join(d, "eval.svg")
        text = run("evaluate", "--model", model, "--data", data, "--threshold-mode", "fixed",
                   "--plot", eval_svg).stdout
        print(text)
        checks.check("point-wise tp/fp/fn", printed_row(text, "point-wise") == points,
                     f"{printed_row(text, 'point-wise')} vs {points}")
        checks.check("event-wise tp/fp/fn", printed_row(text, "event-wise") == events,
                     f"{printed_row(text, 'event-wise')} vs {events}")
        checks.check("point-adjusted shown apart and labelled", "point-adjusted" in text and "flatters" in text)
        checks.check("evaluate --plot draws the labelled windows", "labelled anomaly windows" in open(eval_svg).read())
        checks.check("probation is NAB's 15%", f"after the first {PROBATION} rows" in text)

        # One verdict: evaluate's alert metrics are those of score's alert
        # column, with the detector calibrated on the same windows and the
        # same alert rule.
        calibration = str(PROBATION - LOOKBACK + 1)
        header, alert_rows = read_csv(run("score", "--model", model, "--data", data, "--calibration", calibration,
                                          "--alert-for", "2", "--alert-clear", "4").stdout)
        alerts = [0] * ROWS
        for k, r in enumerate(alert_rows):
            alerts[k + LOOKBACK - 1] = int(r[header.index("alert")])
        points, events = expected_metrics(alerts, labels, PROBATION)
        fired = sum(1 for i in range(PROBATION, ROWS) if alerts[i] and not alerts[i - 1])
        ev = json.loads(run("evaluate", "--model", model, "--data", data, "--alert-for", "2", "--alert-clear", "4",
                            "--json").stdout)["alerts"]
        got = ((ev["points"]["tp"], ev["points"]["fp"], ev["points"]["fn"]),
               (ev["events"]["tp"], ev["events"]["fp"], ev["events"]["fn"]))
        checks.check("evaluate's alert metrics are score's alert column's", got == (points, events),
                     f"{got} vs {(points, events)}")
        checks.check("...its alerts fired and alerting rows too",
                     (ev["fired"], ev["rows"], ev["for"], ev["clear"]) == (fired, sum(alerts[PROBATION:]), 2, 4),
                     json.dumps(ev))
        checks.check("...and the alerts found an event", ev["events"]["tp"] >= 1, json.dumps(ev))

        # evaluate-stream: trains on the probation itself, detects both events early.
        js = json.loads(run("evaluate-stream", "--data", data, "--lookback", LOOKBACK, "--encoder", "16",
                            "--decoder", "16", "--epochs", 8, "--json").stdout)
        checks.check("evaluate-stream finds both events", js["events"]["tp"] == 2, json.dumps(js["events"]))
        checks.check("...within a window length of their first labelled row",
                     all(0 <= x <= 10 + LOOKBACK for x in js["delays"]), str(js["delays"]))
        checks.check("...with a NAB score well above the null detector's", js["nab"]["normalized"] > 50,
                     json.dumps(js["nab"]))

        bad = run("evaluate", "--model", model, "--data", data, "--risk", "0.5", check=False)
        checks.check("a risk above 1 - level is bad input", bad.returncode == 2 and "risk" in bad.stderr,
                     bad.stderr.strip())
    checks.finish()


if __name__ == "__main__":
    main()
