#!/usr/bin/python3
"""NAB's scoring of a detector's results files, written from NAB's documented
method and its scorer (numenta/NAB nab/sweeper.py, nab/runner.py), so that
lstmad's results can be scored without installing NAB.

A results file is NAB's format: timestamp,value,anomaly_score,label, one row
per timestamp (label 1 inside an anomaly window). For each file:
  - the first min(floor(0.15 n), 750) rows are the probationary period and are
    not scored;
  - rows with anomaly_score >= threshold are detections;
  - a window (a run of label 1, or [start, end] from combined_windows.json)
    earns its best detection's A_TP * sigmoid(position) / sigmoid(-1), where
    position = -(right - i + 1) / width and sigmoid(y) = 2 / (1 + e^(5y)) - 1
    (-1 for y >= 3); a window without one costs A_FN;
  - a detection outside windows costs A_FP * sigmoid(|prev_right - i| /
    (prev_width - 1)) past the previous window, A_FP before the first.
The corpus score is the sum over files, normalised as NAB does:
100 (S - S_null) / (S_perfect - S_null), S_null = -A_FN * windows (the
detector that never fires), S_perfect = A_TP * windows.

Threshold: fixed (--threshold), or optimised over the corpus as NAB's
`optimize` step does. NAB climbs locally from 0.5; we try every distinct score
in the corpus, which finds the global optimum (never below NAB's).

Usage:
  nab_score.py RESULTS_DIR [--windows combined_windows.json] [--threshold T]
               [--profile standard|reward_low_FP_rate|reward_low_FN_rate] [--json]
RESULTS_DIR holds <category>/<detector>_<file>.csv; with --windows, the file
<category>/<file>.csv is looked up in it (else the label column gives windows).
"""
import argparse
import csv
import json
import math
import os
import sys

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def scaled_sigmoid(y):
    """nab/sweeper.py scaledSigmoid."""
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probationary_rows(n, fraction=0.15):
    return min(math.floor(fraction * n), fraction * 5000)


def windows_from_labels(labels):
    """Runs of label 1 as (first index, last index)."""
    runs, start = [], None
    for i, l in enumerate(labels + [0]):
        if l and start is None:
            start = i
        elif not l and start is not None:
            runs.append((start, i - 1))
            start = None
    return runs


def windows_from_json(entries, timestamps):
    """[start, end] timestamp pairs as index pairs (NAB matches exact timestamps)."""
    def key(ts):
        return ts.split(".")[0].replace("T", " ")
    index = {key(ts): i for i, ts in enumerate(timestamps)}
    return [(index[key(a)], index[key(b)]) for a, b in entries]


def sweep_points(name, scores, windows, profile):
    """nab/sweeper.py calcSweepScore: (score, weighted score, window) for each
    scored row; window is None outside windows."""
    n = len(scores)
    probation = probationary_rows(n)
    max_tp = scaled_sigmoid(-1.0)
    points = []
    pending = list(windows)
    current = prev = None
    for i, score in enumerate(scores):
        if pending and i == pending[0][0]:
            current = pending.pop(0)
        if current is not None:
            width = current[1] - current[0] + 1
            position = -(current[1] - i + 1) / width
            weighted = scaled_sigmoid(position) * profile["tp"] / max_tp
            window = f"{name}|{current[0]}"
        else:
            if prev is None:
                position = 3.0
            else:
                width = prev[1] - prev[0] + 1
                position = abs(prev[1] - i) / max(float(width - 1), 1.0)
            weighted = scaled_sigmoid(position) * profile["fp"]
            window = None
        if i >= probation:
            points.append((score, weighted, window))
        if current is not None and i == current[1]:
            prev, current = current, None
    return points


def score_at(points, threshold, profile):
    """The raw score of detections with score >= threshold (calcScoreByThreshold)."""
    best = {}
    fp = 0.0
    for score, weighted, window in points:
        if window is not None:
            best.setdefault(window, -profile["fn"])
            if score >= threshold:
                best[window] = max(best[window], weighted)
        elif score >= threshold:
            fp += weighted
    return sum(best.values()) + fp, len(best)


def optimise(points, profile):
    """The threshold maximising the raw score over all points (a sweep from the
    highest score down, as calcScoreByThreshold does, over the whole corpus)."""
    windows = {w for _, _, w in points if w is not None}
    best = {w: -profile["fn"] for w in windows}
    total = -profile["fn"] * len(windows)
    best_score, best_threshold = total, 1.1
    ordered = sorted(points, key=lambda p: -p[0])
    i = 0
    while i < len(ordered):
        threshold = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == threshold:
            _, weighted, window = ordered[i]
            if window is None:
                total += weighted
            elif weighted > best[window]:
                total += weighted - best[window]
                best[window] = weighted
            i += 1
        if total > best_score:
            best_score, best_threshold = total, threshold
    return best_threshold, best_score


def read_results(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return ([r["timestamp"] for r in rows], [float(r["anomaly_score"]) for r in rows],
            [int(float(r["label"])) for r in rows])


def load_corpus(results_dir, windows_json, profile):
    """{relative name: points} for every results CSV under results_dir."""
    entries = None
    if windows_json:
        with open(windows_json) as f:
            entries = json.load(f)
    corpus = {}
    for category in sorted(os.listdir(results_dir)):
        folder = os.path.join(results_dir, category)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".csv") or "_" not in name:
                continue
            timestamps, scores, labels = read_results(os.path.join(folder, name))
            data_name = f"{category}/{name.split('_', 1)[1]}"
            if entries is not None:
                windows = windows_from_json(entries[data_name], timestamps)
            else:
                windows = windows_from_labels(labels)
            corpus[data_name] = sweep_points(data_name, scores, windows, profile)
    return corpus


def normalised(raw, windows, profile):
    null, perfect = -profile["fn"] * windows, profile["tp"] * windows
    return 100.0 * (raw - null) / (perfect - null) if perfect > null else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results_dir")
    parser.add_argument("--windows")
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--profile", default="standard", choices=sorted(PROFILES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    corpus = load_corpus(args.results_dir, args.windows, profile)
    if not corpus:
        sys.exit(f"no results files under {args.results_dir}")
    all_points = [p for points in corpus.values() for p in points]
    if args.threshold is None:
        threshold, _ = optimise(all_points, profile)
    else:
        threshold = args.threshold
    files = {}
    total_raw = total_windows = 0
    for name, points in corpus.items():
        raw, windows = score_at(points, threshold, profile)
        files[name] = {"raw": raw, "windows": windows,
                       "normalized": normalised(raw, windows, profile)}
        total_raw += raw
        total_windows += windows
    result = {"profile": args.profile, "threshold": threshold, "raw": total_raw,
              "windows": total_windows,
              "normalized": normalised(total_raw, total_windows, profile), "files": files}
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        for name, f in files.items():
            print(f"{name:60s} {f['normalized']:7.1f}  (raw {f['raw']:.3f}, {f['windows']} windows)")
        print(f"corpus ({len(files)} files, {total_windows} windows), {args.profile} profile, "
              f"threshold {threshold:.6g}: {result['normalized']:.1f}")


if __name__ == "__main__":
    main()
