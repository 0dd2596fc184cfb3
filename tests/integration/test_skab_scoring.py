"""SKAB's scoring as scripts/skab_score.py does it (and skab_tables.py prints
it), against hand-made examples; no training, no lstmad binary.

The hand calculation of the confusion: 12 rows, scoring from row 2 (the
split), labels 0 0 | 1 1 1 1 1 0 0 0 0 0, predictions 1 1 | 0 1 1 1 0 1 0 0 0 0.
Rows 0 and 1 are before the split and do not count. TP = 3 (rows 3-5), FN = 2
(rows 2, 6), FP = 1 (row 7), TN = 4 (rows 8-11): F1 = 3 / (3 + (1 + 2) / 2) =
2/3, FAR = 1 / (1 + 4) = 0.2, MAR = 2 / (2 + 3) = 0.4.

The file case: a SKAB file of 403 rows, 400 training rows, T = 3, so 401
windows; window w ends on row w + 2. Labels: rows 399-401 anomalous, row 402
normal. Alerts on windows 397 (row 399: training, not scored), 398 (row 400)
and 400 (row 402): over rows 400-402 TP 1 (row 400), FN 1 (row 401), FP 1
(row 402), TN 0: F1 0.5, FAR 100 %, MAR 50 %; first alert 0 rows into the
anomaly; alert onsets: none inside (row 400 continues the alert raised on row
399, in training), one outside (row 402). The anomaly column is 1 from
window 398 on (rows 400-402): TP 2, FP 1, FN 0, F1 0.8. The error is above the
threshold 2.5 in every window but 398: TP 1, FP 1, FN 1. Attribution: the only alerting
window inside the scored anomaly is 398, feature errors Pressure 1, Volume Flow
RateRMS 3: shares 0.25 and 0.75, ranks 2 and 1.
"""
import contextlib
import io
import json
import os
import sys

from lstmad_cli import REPO, Checks, tempdir

sys.path.insert(0, os.path.join(REPO, "scripts"))
import skab_score  # noqa: E402
import skab_tables  # noqa: E402

FEATURES = ["Pressure", "Volume Flow RateRMS"]
SUMMARY = """Model: "model"
 lstm (LSTM)                         (None, 3, 4)              112
 lstm_1 (LSTM)                       (None, 2)                 56
Input: 3 timesteps x 2 features (Pressure, Volume Flow RateRMS)
Activation: tanh
  epochs: 7
"""


def confusion_and_metrics(checks):
    labels = [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    predicted = [1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0]
    c = skab_score.confusion(predicted, labels, 2)
    checks.check("confusion counts only rows after the split", c == {"tp": 3, "fp": 1, "fn": 2, "tn": 4}, str(c))
    m = skab_score.metrics(c)
    checks.check("SKAB's F1, FAR and MAR", abs(m["f1"] - 2 / 3) < 1e-12 and m["far"] == 0.2 and m["mar"] == 0.4,
                 str(m))
    checks.check("undefined ratios are None, not 0",
                 skab_score.metrics({"tp": 0, "fp": 0, "fn": 0, "tn": 5}) == {"f1": None, "far": 0.0, "mar": None})
    checks.check("pooling adds the counts",
                 skab_score.add(c, c) == {"tp": 6, "fp": 2, "fn": 4, "tn": 8})
    checks.check("first alert 1 row into the anomaly", skab_score.first_detection_delay(predicted, labels, 2) == 1)
    checks.check("no alert inside the anomaly: no delay",
                 skab_score.first_detection_delay([0] * 12, labels, 2) is None)


def window_mapping(checks):
    checks.check("row r takes window r - T + 1; the first T - 1 rows are 0",
                 skab_score.rows_from_windows([1, 0, 1], 5) == [0, 0, 1, 0, 1])
    checks.check("T = 1: one window per row", skab_score.rows_from_windows([1, 0], 2) == [1, 0])
    for windows, rows in (([0] * 6, 5), ([], 3)):
        try:
            skab_score.rows_from_windows(windows, rows)
            checks.check(f"{len(windows)} windows for {rows} rows is refused", False)
        except ValueError:
            checks.check(f"{len(windows)} windows for {rows} rows is refused", True)
    flags = [1, 1, 0, 1, 0, 0, 1, 1]
    checks.check("onsets from row 0", skab_score.onsets(flags, 0) == 3)
    checks.check("an alert already up at the split is no onset", skab_score.onsets(flags, 1) == 2)
    checks.check("onsets split by the label of their row",
                 skab_score.onsets_by_label(flags, [0, 0, 0, 1, 1, 1, 1, 0], 1) == (2, 0) and
                 skab_score.onsets_by_label(flags, [1, 0, 0, 0, 0, 0, 1, 0], 0) == (2, 1))


def write_skab(path, rows):
    with open(path, "w") as f:
        f.write("datetime;" + ";".join(FEATURES) + ";anomaly;changepoint\n")
        for r in range(rows):
            label = 1 if 399 <= r <= 401 else 0
            f.write(f"2020-03-09 10:{r // 60 % 60:02d}:{r % 60:02d};{r}.5;{2 * r};{label}.0;0.0\n")


def write_score(path):
    with open(path, "w") as f:
        f.write("timestamp,error,threshold,anomaly," + ",".join(x + "_error" for x in FEATURES) +
                ",anomaly_score,alert\n")
        for w in range(401):
            alert = 1 if w in (397, 398, 400) else 0
            errors = (1, 3) if w == 398 else (5, 1)
            f.write(f"{w + 2},{sum(errors) / 2},2.5,{1 if w >= 398 else 0},{errors[0]},{errors[1]},"
                    f"{0.7 if w == 398 else 0.1},{alert}\n")


def file_case(checks):
    with tempdir() as d:
        src, dest = os.path.join(d, "0.csv"), os.path.join(d, "out", "runs", "valve1", "0")
        write_skab(src, 403)
        skab_score.prepare(src, dest, skab_score.TRAIN_ROWS)
        with open(os.path.join(dest, "data.csv")) as f:
            data = f.read().splitlines()
        with open(os.path.join(dest, "train.csv")) as f:
            train = f.read().splitlines()
        checks.check("data.csv: the sensor columns only, comma-separated, cells as written",
                     data[0] == "Pressure,Volume Flow RateRMS" and data[1] == "0.5,0" and len(data) == 404,
                     f"{data[:2]} {len(data)}")
        checks.check("train.csv: the first 400 rows", len(train) == 401 and train[-1] == "399.5,798", train[-1])
        with open(os.path.join(dest, "labels.txt")) as f:
            labels = [int(x) for x in f.read().split()]
        checks.check("labels.txt: the anomaly column", len(labels) == 403 and sum(labels) == 3 and labels[399] == 1)
        write_score(os.path.join(dest, "score.csv"))
        r = skab_score.FileResult(dest)
        checks.check("T from rows and windows", r.lookback == 3, str(r.lookback))
        checks.check("the alert of row r is window r - 2's", [r.alert[i] for i in (398, 399, 400, 401, 402)] ==
                     [0, 1, 1, 0, 1], str(r.alert[398:]))
        c = r.confusion("alert")
        checks.check("rows 400.. scored against the labels", c == {"tp": 1, "fp": 1, "fn": 1, "tn": 0}, str(c))
        m = skab_score.metrics(c)
        checks.check("file metrics", m == {"f1": 0.5, "far": 1.0, "mar": 0.5}, str(m))
        checks.check("the anomaly column mapped the same way", r.confusion("anomaly") ==
                     {"tp": 2, "fp": 1, "fn": 0, "tn": 0}, str(r.confusion("anomaly")))
        checks.check("error > threshold mapped the same way", r.confusion("fixed") ==
                     {"tp": 1, "fp": 1, "fn": 1, "tn": 0}, str(r.confusion("fixed")))
        shares, count = skab_score.attribution(r.run, r.labels, r.start)
        checks.check("attribution over the alerting windows inside the scored anomaly",
                     count == 1 and shares == [0.25, 0.75], f"{shares} {count}")
        checks.check("ranks by share", skab_score.ranks(shares, r.run.features) ==
                     {"Volume Flow RateRMS": 1, "Pressure": 2})
        tables_print(checks, os.path.join(d, "out"), dest)


def tables_print(checks, out, dest):
    with open(os.path.join(dest, "summary.txt"), "w") as f:
        f.write(SUMMARY)
    with open(os.path.join(dest, "train.log"), "w") as f:
        f.write("lstmad train: warning: train.csv: the model reconstructs normal windows worse than a constant "
                "would (median error 0.9 against 0.7 for each feature's mean): it has not learnt the data\n")
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump({"seed": "1", "train_flags": "", "score_flags": ""}, f)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        skab_tables.main([out, out])
    lines = text.getvalue().splitlines()
    checks.check("tables: the settings line", lines[0].startswith(
        "Settings: seed 1; Input: 3 timesteps x 2 features; LSTM units 4, 2; tanh; epochs trained 7–7"), lines[0])
    checks.check("tables: train's warning counted", lines[2] == "Models that reconstruct their training windows "
                 "worse than a constant (lstmad train's warning): 1 of 1 valve1", lines[2])
    row = "| 0.csv | 3 | 2 | 0.50 | 100.0 % | 50.0 % | 0 | 0 / 1 | 0.80 | 100.0 % | 0.0 % |"
    checks.check("tables: the file's row", row in lines, "" if row in lines else "\n".join(lines))
    row = ("| lstmad, error > the model's threshold (p99.5 of validation) | valve1 (1 files) | 0.50 | 100.0 % | "
           "50.0 % |")
    checks.check("tables: the fixed threshold's row", row in lines)
    checks.check("tables: the attribution row",
                 "| 0.csv | 1 | Volume Flow RateRMS (0.75), Pressure (0.25) | 1 | 2 |" in lines)
    checks.check("tables: two identical runs have mean = the run, spread 0",
                 "| **mean** | 0.50 | 100.0 % | 50.0 % | 0.80 | 100.0 % | 0.0 % | 0.0 |" in lines and
                 "| **sd** | 0.00 | 0.0 % | 0.0 % | 0.00 | 0.0 % | 0.0 % | 0.0 |" in lines)


def main():
    checks = Checks()
    confusion_and_metrics(checks)
    window_mapping(checks)
    file_case(checks)
    checks.finish()


if __name__ == "__main__":
    main()
