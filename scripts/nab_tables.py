#!/usr/bin/python3
"""Markdown tables of an evaluate_nab.sh run: per category, each file's
metrics from `lstmad evaluate-stream --json`, and the NAB scores computed by
scripts/nab_score.py from the NAB results files (which also cross-checks the
scores lstmad printed).

  nab_tables.py OUT_DIR combined_windows.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402


def counts_add(a, b):
    return {k: a.get(k, 0) + b[k] for k in ("tp", "fp", "fn")}


def prf(c):
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def median(values):
    values = sorted(values)
    return values[(len(values) - 1) // 2] if values else None


def load_metrics(out):
    metrics = {}
    root = os.path.join(out, "metrics")
    for category in sorted(os.listdir(root)):
        for name in sorted(os.listdir(os.path.join(root, category))):
            if not name.endswith(".json"):
                continue  # the .log beside it holds evaluate-stream's warnings
            with open(os.path.join(root, category, name)) as f:
                metrics[f"{category}/{name[:-5]}.csv"] = json.load(f)
    return metrics


def nab_scores(out, windows_json):
    """{profile: (threshold, {file: (raw, windows)}, corpus normalised)} at the
    fixed threshold 0.5 and at the corpus-optimised one."""
    results = os.path.join(out, "results", "lstmad")
    scores = {}
    for profile_name, profile in nab_score.PROFILES.items():
        corpus = nab_score.load_corpus(results, windows_json, profile)
        points = [p for pts in corpus.values() for p in pts]
        best_threshold, _ = nab_score.optimise(points, profile)
        for label, threshold in (("0.5", 0.5), ("optimised", best_threshold)):
            per_file = {name: nab_score.score_at(pts, threshold, profile) for name, pts in corpus.items()}
            scores[(profile_name, label)] = (threshold, per_file)
    return scores


def normalised(per_file, names, profile):
    raw = sum(per_file[n][0] for n in names)
    windows = sum(per_file[n][1] for n in names)
    return nab_score.normalised(raw, windows, nab_score.PROFILES[profile])


def fmt_delay(rows, seconds):
    if rows is None:
        return "–"
    if not seconds:
        return f"{rows} rows"
    s = rows * seconds
    text = f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"
    return f"{rows} ({text})"


def main():
    out, windows_json = sys.argv[1], sys.argv[2]
    metrics = load_metrics(out)
    scores = nab_scores(out, windows_json)
    std_fixed = scores[("standard", "0.5")][1]
    # lstmad's own NAB computation must agree with the independent script.
    for name, m in metrics.items():
        if abs(m["nab"]["raw"] - std_fixed[name][0]) > 1e-6:
            print(f"WARNING: {name}: lstmad says NAB raw {m['nab']['raw']}, "
                  f"nab_score.py says {std_fixed[name][0]}", file=sys.stderr)
    categories = sorted({n.split("/")[0] for n in metrics})
    any_metrics = next(iter(metrics.values()))
    print(f"Settings: {any_metrics['training'].split(': ', 1)[-1].split(', val_loss')[0]}\n")
    print(f"Detector: {any_metrics['detector']}\n")
    summary = []
    for category in categories:
        names = [n for n in metrics if n.startswith(category + "/")]
        print(f"#### {category}\n")
        print("| file | rows | events | found | FP events | event P | event R | event F1 | "
              "point F1 | point-adj. F1 | median delay | NAB (0.5) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ev, pt, pa, delays = {}, {}, {}, []
        for n in names:
            m = metrics[n]
            e = m["events"]
            ev, pt, pa = counts_add(ev, e), counts_add(pt, m["points"]), counts_add(pa, m["point_adjusted"])
            delays += m["delays"]
            d = median(m["delays"])
            raw, w = std_fixed[n]
            print(f"| {n.split('/')[1]} | {m['rows']} | {e['tp'] + e['fn']} | {e['tp']} | {e['fp']} | "
                  f"{e['precision']:.2f} | {e['recall']:.2f} | {e['f1']:.2f} | {m['points']['f1']:.2f} | "
                  f"{m['point_adjusted']['f1']:.2f} | {fmt_delay(d, m['sample_seconds'])} | "
                  f"{nab_score.normalised(raw, w, nab_score.PROFILES['standard']):.1f} |")
        p, r, f = prf(ev)
        nab_fixed = normalised(std_fixed, names, "standard")
        print(f"| **all {len(names)}** | | {ev['tp'] + ev['fn']} | {ev['tp']} | {ev['fp']} | {p:.2f} | "
              f"{r:.2f} | {f:.2f} | {prf(pt)[2]:.2f} | {prf(pa)[2]:.2f} | {median(delays)} rows | "
              f"{nab_fixed:.1f} |\n")
        summary.append((category, names, ev, pt, pa))
    all_names = list(metrics)
    print("#### Summary\n")
    print("| category | files | event P | event R | event F1 | point F1 | point-adj. F1 | "
          "NAB standard (0.5) | NAB standard (optimised) | NAB low FP (optimised) | "
          "NAB low FN (optimised) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = summary + [("**all**", all_names,
                       *[{k: sum(s[i][k] for s in summary) for k in ("tp", "fp", "fn")} for i in (2, 3, 4)])]
    for category, names, ev, pt, pa in rows:
        p, r, f = prf(ev)
        cells = [normalised(scores[key][1], names, key[0]) for key in
                 (("standard", "0.5"), ("standard", "optimised"), ("reward_low_FP_rate", "optimised"),
                  ("reward_low_FN_rate", "optimised"))]
        print(f"| {category} | {len(names)} | {p:.2f} | {r:.2f} | {f:.2f} | {prf(pt)[2]:.2f} | "
              f"{prf(pa)[2]:.2f} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print("\nOptimised thresholds (over the whole corpus, as NAB's optimize step): " + ", ".join(
        f"{p} {scores[(p, 'optimised')][0]:.6g}" for p in nab_score.PROFILES))


if __name__ == "__main__":
    main()
