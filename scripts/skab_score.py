#!/usr/bin/python3
"""SKAB's evaluation protocol over `lstmad score` output (used by
scripts/evaluate_skab.sh and scripts/skab_tables.py; standard library only).

SKAB (its core/utils.py and notebooks): each file's first 400 rows are normal
and train the model; every later row is predicted, the rows of all files are
pooled, and F1 = TP / (TP + (FP + FN) / 2), FAR = FP / (FP + TN), MAR =
FN / (FN + TP).

lstmad scores windows, not rows: window k covers rows k .. k+T-1 and its
verdict is the row k+T-1's (the newest sample, as the daemon sees it); rows
before the first complete window have no verdict and count as 0.

  skab_score.py prepare SKAB.csv DEST_DIR TRAIN_ROWS

writes what lstmad reads: DEST_DIR/data.csv (every row's sensor columns,
comma-separated, a header row, no datetime and no labels), DEST_DIR/train.csv
(its first TRAIN_ROWS rows), DEST_DIR/labels.txt (the `anomaly` column, one
0/1 a line; all 0 when the file has none) and DEST_DIR/meta.json.
"""
import csv
import json
import os
import sys

TRAIN_ROWS = 400  # SKAB's protocol: the first 400 rows of each file are normal
LABEL_COLUMNS = ("anomaly", "changepoint")
# The valve1 experiments close the valve at the pump's inlet: flow and
# pressure are where the fault shows first.
EXPECTED_CAUSES = ("Volume Flow RateRMS", "Pressure")


def read_skab(path):
    """(feature names, rows of feature cells as written, anomaly labels) of a
    SKAB file: ';'-separated, `datetime` first, the label columns (if any) last."""
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader)
        rows = [r for r in reader if r]
    if header[0] != "datetime":
        raise ValueError(f"{path}: the first column is {header[0]!r}, not datetime")
    features = [h for h in header[1:] if h not in LABEL_COLUMNS]
    keep = [header.index(h) for h in features]
    label = header.index("anomaly") if "anomaly" in header else None
    values, labels = [], []
    for line, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise ValueError(f"{path}:{line}: {len(r)} cells, the header has {len(header)}")
        values.append([r[i] for i in keep])
        labels.append(int(float(r[label])) if label is not None else 0)
    return features, values, labels


def write_csv(path, features, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(features)
        writer.writerows(rows)


def prepare(src, dest, train_rows):
    features, values, labels = read_skab(src)
    if len(values) <= train_rows:
        raise ValueError(f"{src}: {len(values)} rows, not more than the {train_rows} training rows")
    os.makedirs(dest, exist_ok=True)
    write_csv(os.path.join(dest, "data.csv"), features, values)
    write_csv(os.path.join(dest, "train.csv"), features, values[:train_rows])
    with open(os.path.join(dest, "labels.txt"), "w") as f:
        f.writelines(f"{v}\n" for v in labels)
    with open(os.path.join(dest, "meta.json"), "w") as f:
        json.dump({"source": src, "rows": len(values), "train_rows": train_rows, "features": features}, f)


class ScoreRun:
    """The columns of one `lstmad score` output that the protocol needs, per window."""

    def __init__(self, text):
        lines = [line for line in text.splitlines() if line]
        header = lines[0].split(",")
        if header[:4] != ["timestamp", "error", "threshold", "anomaly"] or header[-2:] != ["anomaly_score",
                                                                                         "alert"]:
            raise ValueError(f"not lstmad score output: {lines[0]}")
        self.features = [h[: -len("_error")] for h in header[4:-2]]
        cells = [line.split(",") for line in lines[1:]]
        bad = [i for i, c in enumerate(cells) if len(c) != len(header)]
        if bad:
            raise ValueError(f"score line {bad[0] + 2}: {len(cells[bad[0]])} cells, the header has {len(header)}")
        self.keys = [c[0] for c in cells]
        self.anomaly = [int(c[3]) for c in cells]
        # The model's own fixed threshold, for comparison with the detector.
        self.fixed = [1 if float(c[1]) > float(c[2]) else 0 for c in cells]
        self.feature_errors = [[float(v) for v in c[4:-2]] for c in cells]
        self.score = [float(c[-2]) for c in cells]
        self.alert = [int(c[-1]) for c in cells]

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(f.read())

    def windows(self):
        return len(self.alert)

    def lookback(self, rows):
        """T, from the rows of the data and the windows scored (rows - T + 1)."""
        t = rows - self.windows() + 1
        if not 1 <= t <= rows:
            raise ValueError(f"{self.windows()} windows for {rows} rows")
        return t


def rows_from_windows(per_window, rows):
    """Per-row values from per-window ones: row r gets window r - T + 1's, the
    window whose newest sample it is; the first T - 1 rows get 0."""
    t = rows - len(per_window) + 1
    if not 1 <= t <= rows:
        raise ValueError(f"{len(per_window)} windows for {rows} rows")
    return [0] * (t - 1) + list(per_window)


def confusion(predicted, labels, start):
    """{tp, fp, fn, tn} over rows start.. (SKAB scores only the rows after training)."""
    if len(predicted) != len(labels):
        raise ValueError(f"{len(predicted)} predictions for {len(labels)} labels")
    c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for p, y in zip(predicted[start:], labels[start:]):
        c[("t" if p == y else "f") + ("p" if p else "n")] += 1
    return c


def add(a, b):
    return {k: a.get(k, 0) + b[k] for k in ("tp", "fp", "fn", "tn")}


def metrics(c):
    """SKAB's F1, FAR and MAR of a confusion; None where a denominator is 0."""
    def ratio(n, d):
        return n / d if d else None
    return {"f1": ratio(c["tp"], c["tp"] + (c["fp"] + c["fn"]) / 2),
            "far": ratio(c["fp"], c["fp"] + c["tn"]),
            "mar": ratio(c["fn"], c["fn"] + c["tp"])}


def first_detection_delay(predicted, labels, start):
    """Rows from the first labelled row at or after `start` to the first
    predicted row from there while still labelled; None if not found."""
    onset = next((r for r in range(start, len(labels)) if labels[r]), None)
    if onset is None:
        return None
    r = onset
    while r < len(labels) and labels[r]:
        if predicted[r]:
            return r - onset
        r += 1
    return None


def onsets(flags, start):
    """Rows r >= start where flags go from 0 to 1 (a flag already up at
    `start` is no new onset)."""
    return sum(1 for r in range(start, len(flags)) if flags[r] and (r == 0 or not flags[r - 1]))


def onsets_by_label(flags, labels, start):
    """(onsets on labelled rows, onsets on normal rows), rows >= start."""
    rows = [r for r in range(start, len(flags)) if flags[r] and (r == 0 or not flags[r - 1])]
    inside = sum(1 for r in rows if labels[r])
    return inside, len(rows) - inside


def attribution(run, labels, start):
    """(mean share of each feature in the error, windows averaged) over the
    alerting windows whose newest row is labelled anomalous and scored (>= start).
    A window's share of feature f is f's error over the sum of its features' errors."""
    t = run.lookback(len(labels))
    sums = [0.0] * len(run.features)
    count = 0
    for w, (alert, errors) in enumerate(zip(run.alert, run.feature_errors)):
        row = w + t - 1
        total = sum(errors)
        if not alert or row < start or not labels[row] or total <= 0:
            continue
        for f, e in enumerate(errors):
            sums[f] += e / total
        count += 1
    return ([s / count for s in sums] if count else [0.0] * len(sums)), count


def ranks(shares, features):
    """{feature: 1-based rank by share, largest first; ties keep the column order}."""
    order = sorted(range(len(shares)), key=lambda f: -shares[f])
    return {features[f]: i + 1 for i, f in enumerate(order)}


class FileResult:
    """One prepared and scored file of an evaluate_skab.sh run."""

    def __init__(self, folder):
        with open(os.path.join(folder, "meta.json")) as f:
            meta = json.load(f)
        with open(os.path.join(folder, "labels.txt")) as f:
            self.labels = [int(line) for line in f if line.strip()]
        self.run = ScoreRun.load(os.path.join(folder, "score.csv"))
        self.rows, self.start = meta["rows"], meta["train_rows"]
        if len(self.labels) != self.rows:
            raise ValueError(f"{folder}: {len(self.labels)} labels for {self.rows} rows")
        self.lookback = self.run.lookback(self.rows)
        self.alert = rows_from_windows(self.run.alert, self.rows)
        self.anomaly = rows_from_windows(self.run.anomaly, self.rows)
        self.fixed = rows_from_windows(self.run.fixed, self.rows)
        self.onset_score = rows_from_windows([1 if s >= 0.5 else 0 for s in self.run.score], self.rows)

    def confusion(self, column):
        return confusion(getattr(self, column), self.labels, self.start)


def main(argv):
    if len(argv) == 4 and argv[0] == "prepare":
        prepare(argv[1], argv[2], int(argv[3]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
