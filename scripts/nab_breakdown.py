#!/usr/bin/python3
"""Where a NAB run's score is lost, per file: windows found and missed, the
reward earned in the found ones, the false positives and their cost (NAB's
standard profile, detections = anomaly_score >= THRESHOLD, 0.5 by default:
the onsets), and the rows (after the probationary period) of the first false
positives; then the missed windows with the largest score inside each (as a
tail probability where the score is a quiet one, 0.49 s with s = -log10(tail)
/ 10), which tells a window the detector never saw from one the onset gate
hid (an alarm inside an excursion that began before the window).

  nab_breakdown.py RESULTS_DIR combined_windows.json [THRESHOLD]

RESULTS_DIR is an evaluate_nab.sh OUT_DIR/results/lstmad.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402


def main():
    results, windows_json = sys.argv[1], sys.argv[2]
    threshold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    profile = nab_score.PROFILES["standard"]
    with open(windows_json) as f:
        entries = json.load(f)
    totals = {"windows": 0, "found": 0, "reward": 0.0, "fp": 0, "fp_cost": 0.0}
    missed = []
    print(f"{'file':40} {'windows':>7} {'found':>5} {'reward':>6} {'FP':>3} {'FP cost':>7} {'raw':>6}  first FP rows")
    for category in sorted(os.listdir(results)):
        for name in sorted(os.listdir(os.path.join(results, category))):
            timestamps, scores, _ = nab_score.read_results(os.path.join(results, category, name))
            data_name = f"{category}/{name.split('_', 1)[1]}"
            windows = nab_score.windows_from_json(entries[data_name], timestamps)
            points = nab_score.sweep_points(data_name, scores, windows, profile)
            first = len(scores) - len(points)
            best, fp_rows, fp_cost = {}, [], 0.0
            for k, (score, weighted, window) in enumerate(points):
                if window is not None:
                    best.setdefault(window, None)
                    if score >= threshold and (best[window] is None or weighted > best[window]):
                        best[window] = weighted
                elif score >= threshold:
                    fp_rows.append(k)
                    fp_cost += weighted
            reward = sum(v for v in best.values() if v is not None)
            found = sum(1 for v in best.values() if v is not None)
            raw = reward - profile["fn"] * (len(best) - found) + fp_cost
            print(f"{name.split('_', 1)[1][:40]:40} {len(best):7} {found:5} {reward:6.2f} {len(fp_rows):3} "
                  f"{fp_cost:7.2f} {raw:6.2f}  {fp_rows[:8]}")
            totals["windows"] += len(best)
            totals["found"] += found
            totals["reward"] += reward
            totals["fp"] += len(fp_rows)
            totals["fp_cost"] += fp_cost
            for a, b in windows:
                inside = scores[a:b + 1]
                if max(inside) < threshold:
                    top = max(inside)
                    s = top / 0.49 if top < 0.5 else 1.0
                    missed.append((data_name, a - first, b - a + 1, -10 * s))
    t = totals
    raw = t["reward"] - profile["fn"] * (t["windows"] - t["found"]) + t["fp_cost"]
    print(f"all: {t['windows']} windows, {t['found']} found earning {t['reward']:.2f}, "
          f"{t['windows'] - t['found']} missed, {t['fp']} false positives costing {t['fp_cost']:.2f}; "
          f"raw {raw:.2f}, standard {nab_score.normalised(raw, t['windows'], profile):.1f}")
    print("missed windows (start row after the probationary period, width, log10 of the smallest tail inside):")
    for data_name, start, width, log_tail in missed:
        print(f"  {data_name}: row {start}, {width} rows, 10^{log_tail:.1f}")


if __name__ == "__main__":
    main()
