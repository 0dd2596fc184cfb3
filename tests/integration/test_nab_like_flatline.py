"""A constant series, the degenerate case of NAB's artificialNoAnomaly
category (scripts/nab_like_no_anomaly.py writes our versions of its five
files), through `lstmad evaluate-stream` with its defaults (relearning on):

- the script writes NAB's layout: 5 files of 4032 rows, no window in any;
- art_flatline: the training warns that the feature is constant; nothing alarms
  (the errors are all ~0, so their spread is 0 and only the likelihood's
  floors stand between a rounding difference and an alarm);
- the same file stepping from 50 to 55 at row 3000: the step is found at its
  first row (40 rows into a window of rows 2960..3040), one alert, no false
  positive. A constant feature is not scaled, so the step's error is in its
  own units. The errors before the step had no spread, so the likelihood's
  clipped alarms would never move its level: the alert would stay up to the
  end of the file (1,032 rows). After 860 alarming windows (a tenth of the
  history, detector.likelihood_accept_after) the step is the new normal and
  the alert resolves within the next hundred rows.
"""
import csv
import json
import os
import subprocess

from lstmad_cli import REPO, Checks, run, tempdir

SCRIPT = os.path.join(REPO, "scripts", "nab_like_no_anomaly.py")
CATEGORY = "artificialNoAnomaly"
NAMES = ["art_daily_no_noise", "art_daily_perfect_square_wave", "art_daily_small_noise", "art_flatline",
         "art_noisy"]
STEP_ROW = 3000


def evaluate(data, windows, results, *flags):
    proc = run("evaluate-stream", "--data", data, "--windows", windows, "--json", "--nab-results", results, *flags)
    return json.loads(proc.stdout), proc.stderr


def main():
    checks = Checks()
    with tempdir() as d:
        subprocess.run(["/usr/bin/python3", SCRIPT, d], check=True, timeout=60)
        with open(os.path.join(d, "combined_windows.json")) as f:
            windows = json.load(f)
        checks.check("one entry per file, no window in any",
                     windows == {f"{CATEGORY}/{n}.csv": [] for n in NAMES}, str(windows))
        tables = {}
        for name in NAMES:
            with open(os.path.join(d, "data", CATEGORY, name + ".csv")) as f:
                tables[name] = list(csv.reader(f))
        checks.check("NAB's layout: timestamp,value and 4032 rows each",
                     all(t[0] == ["timestamp", "value"] and len(t) == 4033 for t in tables.values()))

        flat = os.path.join(d, "data", CATEGORY, "art_flatline.csv")
        report, stderr = evaluate(flat, os.path.join(d, "combined_windows.json"), os.path.join(d, "results"))
        checks.check("the training warns that the feature is constant",
                     'feature "value" is constant in the training data (50)' in stderr, stderr)
        checks.check("flatline: no alarm, no alert",
                     report["onsets"] == 0 and report["events"]["fp"] == 0 and report["alerts"]["fired"] == 0 and
                     report["alerts"]["rows"] == 0, json.dumps(report["alerts"]))
        with open(os.path.join(d, "results", CATEGORY, "lstmad_art_flatline.csv")) as f:
            scores = [float(r["anomaly_score"]) for r in csv.DictReader(f)]
        checks.check("flatline: every score in the NAB results below 0.5",
                     len(scores) == 4032 and max(scores) < 0.5, str(max(scores)))

        rows = tables["art_flatline"]
        stepped = os.path.join(d, "stepped.csv")
        with open(stepped, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(rows[0])
            for i, (ts, _) in enumerate(rows[1:]):
                w.writerow([ts, "55.0" if i >= STEP_ROW else "50.0"])
        label = {"stepped.csv": [[rows[1 + STEP_ROW - 40][0] + ".000000", rows[1 + STEP_ROW + 40][0] + ".000000"]]}
        label_file = os.path.join(d, "stepped.json")
        with open(label_file, "w") as f:
            json.dump(label, f)
        report, _ = evaluate(stepped, label_file, os.path.join(d, "results-stepped"))
        checks.check("step: found at its first row, one alert, no false positive",
                     report["events"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0} and
                     report["delays"] == [40] and
                     report["alerts"]["fired"] == 1,
                     json.dumps({k: report[k] for k in ("events", "delays", "alerts")}))
        rows_after_step = len(tables["art_flatline"]) - 1 - STEP_ROW
        checks.check("the step becomes the new normal: its alert resolves after the 860 accepted windows",
                     860 < report["alerts"]["rows"] < min(960, rows_after_step), str(report["alerts"]["rows"]))
        checks.check("the report counts that alert as ended by an accepted change",
                     report["alerts"]["accepted"] == 1, json.dumps(report["alerts"]))
        never, _ = evaluate(stepped, label_file, os.path.join(d, "results-never"), "--likelihood-accept-after", "0")
        checks.check("never accepted, it stays up to the end of the file",
                     never["alerts"]["fired"] == 1 and never["alerts"]["rows"] == rows_after_step - 2 and
                     never["alerts"]["accepted"] == 0,
                     json.dumps(never["alerts"]))
    checks.finish()


if __name__ == "__main__":
    main()
