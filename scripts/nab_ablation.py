#!/usr/bin/python3
"""One ablation table row per variant of an evaluate_nab.sh run, averaged over
training seeds: NAB's three profiles (corpus-optimised threshold, as NAB's
optimize step), the windows detected and false positives at the score's 0.5
line, and the detection delay (the earliest score >= 0.5 inside each window,
among detected windows) as a fraction of the labelled window's width and in
rows after the labelled anomaly point the window is centred on (negative:
before it).

  nab_ablation.py combined_windows.json NAME=DIR1,DIR2,DIR3 [NAME=DIRS ...]

Each DIR is an evaluate_nab.sh OUT_DIR (one training seed).
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def run_figures(out, windows_json):
    results = os.path.join(out, "results", "lstmad")
    figures = {}
    for profile in PROFILES:
        corpus = nab_score.load_corpus(results, windows_json, nab_score.PROFILES[profile])
        points = [p for pts in corpus.values() for p in pts]
        _, best = nab_score.optimise(points, nab_score.PROFILES[profile])
        windows = sum(nab_score.score_at(pts, 0.5, nab_score.PROFILES[profile])[1] for pts in corpus.values())
        figures[profile] = nab_score.normalised(best, windows, nab_score.PROFILES[profile])
    with open(windows_json) as f:
        entries = json.load(f)
    with open(os.path.join(os.path.dirname(windows_json), "combined_labels.json")) as f:
        points = json.load(f)
    detected, total, fps, delays, after_label = 0, 0, 0, [], []
    for category in sorted(os.listdir(results)):
        for name in sorted(os.listdir(os.path.join(results, category))):
            timestamps, scores, _ = nab_score.read_results(os.path.join(results, category, name))
            key = f"{category}/{name.split('_', 1)[1]}"
            wins = nab_score.windows_from_json(entries[key], timestamps)
            index = {t[:19]: i for i, t in enumerate(timestamps)}
            labelled = [index[p[:19]] for p in points[key] if p[:19] in index]
            probation = nab_score.probationary_rows(len(scores))
            inside = [False] * len(scores)
            for a, b in wins:
                total += 1
                hits = [i for i in range(a, b + 1) if scores[i] >= 0.5]
                if hits:
                    detected += 1
                    delays.append((hits[0] - a) / (b - a + 1))
                    inside_points = [p for p in labelled if a <= p <= b]
                    if inside_points:
                        after_label.append(hits[0] - inside_points[0])
                for i in range(a, b + 1):
                    inside[i] = True
            fps += sum(1 for i, s in enumerate(scores) if s >= 0.5 and not inside[i] and i >= probation)
    figures["detected"] = detected
    figures["windows"] = total
    figures["fp"] = fps
    figures["delay"] = statistics.median(delays) if delays else float("nan")
    figures["after_label"] = statistics.median(after_label) if after_label else float("nan")
    return figures


def main():
    windows_json = sys.argv[1]
    print("| variant | NAB standard | NAB low FP | NAB low FN | windows found | false positives (0.5) | "
          "median delay / window | median delay after the label (rows) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for arg in sys.argv[2:]:
        name, dirs = arg.split("=", 1)
        runs = [run_figures(d, windows_json) for d in dirs.split(",")]

        def cell(key, digits=1):
            values = [r[key] for r in runs]
            mean = statistics.mean(values)
            spread = (max(values) - min(values)) / 2
            return f"{mean:.{digits}f} ± {spread:.{digits}f}" if len(values) > 1 else f"{mean:.{digits}f}"

        print(f"| {name} | {cell('standard')} | {cell('reward_low_FP_rate')} | {cell('reward_low_FN_rate')} | "
              f"{cell('detected')} / {runs[0]['windows']} | {cell('fp')} | {cell('delay', 2)} | "
              f"{cell('after_label')} |")


if __name__ == "__main__":
    main()
