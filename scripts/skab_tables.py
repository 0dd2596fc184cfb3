#!/usr/bin/python3
"""Markdown tables of evaluate_skab.sh runs (scripts/skab_score.py does the
scoring): SKAB valve1 per file and pooled, beside SKAB's published table;
which features lead the error during the anomalies; the alarms on
normal-only series. Given several runs (other training seeds or flags), also
each run's pooled figures, and their mean and spread when only the seed differs.

  skab_tables.py OUT_DIR [OUT_DIR...]
"""
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skab_score  # noqa: E402

# SKAB's README (outlier detection, the whole corpus: valve1, valve2, other),
# as /work/shared/datasets/skab/README.md quotes it: (F1, FAR %, MAR %).
PUBLISHED = [("Conv-AE", 0.78, 13.6, 28.0), ("MSET", 0.78, 39.7, 14.1), ("T²+Q (PCA)", 0.76, 26.6, 24.9),
             ("LSTM-AE", 0.74, 30.0, 25.9), ("LSTM-VAE", 0.56, None, None),
             ("Isolation forest", 0.29, None, None)]


def load_run(out):
    """{set: {name: FileResult}} and the settings of one evaluate_skab.sh run."""
    results = {}
    runs = os.path.join(out, "runs")
    for set_name in sorted(os.listdir(runs)):
        names = os.listdir(os.path.join(runs, set_name))
        names.sort(key=lambda n: (0, int(n)) if n.isdigit() else (1, n))
        results[set_name] = {n: skab_score.FileResult(os.path.join(runs, set_name, n)) for n in names}
    with open(os.path.join(out, "settings.json")) as f:
        settings = json.load(f)
    return results, settings


def pct(v):
    return "–" if v is None else f"{100 * v:.1f} %"


def num(v):
    return "–" if v is None else f"{v:.2f}"


def pooled(files, column):
    total = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for r in files.values():
        total = skab_score.add(total, r.confusion(column))
    return total


def summary_line(out):
    """T, the model and the epochs trained, from the models' summaries."""
    epochs, first = [], None
    # valve1's first model describes the layout (the generated series have one feature).
    for set_name in sorted(os.listdir(os.path.join(out, "runs")), key=lambda s: (s != "valve1", s)):
        for name in sorted(os.listdir(os.path.join(out, "runs", set_name))):
            with open(os.path.join(out, "runs", set_name, name, "summary.txt")) as f:
                lines = f.read().splitlines()
            first = first or lines
            epochs += [int(line.split(":")[1]) for line in lines if line.strip().startswith("epochs:")]
    # An LSTM row reads "lstm_1 (LSTM)   (None, 16)   3136" or "(None, 30, 32)": its units are last.
    units = [re.search(r"\(None, (?:\d+, )?(\d+)\)", line).group(1) for line in first if "(LSTM)" in line]
    activation = next(line.split(": ")[1] for line in first if line.startswith("Activation:"))
    inputs = next(line for line in first if line.startswith("Input:")).split(" (")[0]
    return (f"{inputs}; LSTM units {', '.join(units)}; {activation}; "
            f"epochs trained {min(epochs)}–{max(epochs)} (median {statistics.median(epochs):g}, "
            f"{len(epochs)} models)")


def not_learnt(out, set_name, files):
    """Models whose training data they reconstruct worse than a constant
    (lstmad train's warning), of those trained."""
    count = 0
    for name in files:
        with open(os.path.join(out, "runs", set_name, name, "train.log")) as f:
            count += "worse than a constant" in f.read()
    return count


def valve_table(files):
    print("| file | test rows | anomalous | alert F1 | FAR | MAR | first alert (s) | alert onsets in / outside "
          "the anomaly | `anomaly` F1 | FAR | MAR |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    total_onsets = [0, 0]
    for name, r in files.items():
        onsets = skab_score.onsets_by_label(r.alert, r.labels, r.start)
        total_onsets = [total_onsets[0] + onsets[0], total_onsets[1] + onsets[1]]
        c, m, a = r.confusion("alert"), skab_score.metrics(r.confusion("alert")), \
            skab_score.metrics(r.confusion("anomaly"))
        delay = skab_score.first_detection_delay(r.alert, r.labels, r.start)
        print(f"| {name}.csv | {r.rows - r.start} | {c['tp'] + c['fn']} | {num(m['f1'])} | {pct(m['far'])} | "
              f"{pct(m['mar'])} | {'–' if delay is None else delay} | {onsets[0]} / {onsets[1]} | {num(a['f1'])} | {pct(a['far'])} | "
              f"{pct(a['mar'])} |")
    c, ca = pooled(files, "alert"), pooled(files, "anomaly")
    m, a = skab_score.metrics(c), skab_score.metrics(ca)
    print(f"| **pooled ({len(files)})** | {sum(c.values())} | {c['tp'] + c['fn']} | {num(m['f1'])} | "
          f"{pct(m['far'])} | {pct(m['mar'])} | | {total_onsets[0]} / {total_onsets[1]} | {num(a['f1'])} | {pct(a['far'])} | {pct(a['mar'])} |\n")


def comparison_table(files):
    c = pooled(files, "alert")
    everything = {"tp": c["tp"] + c["fn"], "fp": c["fp"] + c["tn"], "fn": 0, "tn": 0}
    rows = [("**lstmad, `alert`** (what an operator sees)", skab_score.metrics(c)),
            ("lstmad, `anomaly` (each window's alarm, before for/clear)",
             skab_score.metrics(pooled(files, "anomaly"))),
            ("lstmad, error > the model's threshold (p99.5 of validation)",
             skab_score.metrics(pooled(files, "fixed"))),
            ("every row flagged", skab_score.metrics(everything))]
    print("| detector | data | F1 | FAR | MAR |")
    print("|---|---|---:|---:|---:|")
    for label, m in rows:
        print(f"| {label} | valve1 ({len(files)} files) | {num(m['f1'])} | {pct(m['far'])} | {pct(m['mar'])} |")
    for label, f1, far, mar in PUBLISHED:
        print(f"| {label} (SKAB's published) | whole SKAB (34 files) | {f1:.2f} | "
              f"{'–' if far is None else f'{far:.1f} %'} | {'–' if mar is None else f'{mar:.1f} %'} |")
    print()


def attribution_table(files):
    causes = skab_score.EXPECTED_CAUSES
    print(f"| file | alerting windows in the anomaly | top 2 (mean share of the error) | "
          f"rank {causes[0]} | rank {causes[1]} |")
    print("|---|---:|---|---:|---:|")
    hits = counted = 0
    for name, r in files.items():
        shares, count = skab_score.attribution(r.run, r.labels, r.start)
        if not count:
            print(f"| {name}.csv | 0 | – | – | – |")
            continue
        rank = skab_score.ranks(shares, r.run.features)
        top = sorted(r.run.features, key=lambda f: rank[f])[:2]
        top_text = ", ".join(f"{f} ({shares[r.run.features.index(f)]:.2f})" for f in top)
        counted += 1
        hits += any(rank[f] <= 2 for f in causes)
        print(f"| {name}.csv | {count} | {top_text} | {rank[causes[0]]} | {rank[causes[1]]} |")
    print(f"\n{causes[0]} or {causes[1]} in the top 2: {hits} of {counted} files with alerting windows in "
          f"their anomaly ({len(files) - counted} without).\n")


def normal_table(sets):
    print("| series | rows after training | alert onsets | alerting rows | windows with score >= 0.5 | "
          "`anomaly` rows | error > threshold rows |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for set_name, files in sets:
        for name, r in files.items():
            after = r.rows - r.start
            alerting = sum(r.alert[r.start:])
            print(f"| {set_name}/{name} | {after} | {skab_score.onsets(r.alert, r.start)} | {alerting} "
                  f"({100 * alerting / after:.1f} %) | {sum(r.onset_score[r.start:])} | "
                  f"{sum(r.anomaly[r.start:])} | {sum(r.fixed[r.start:])} |")
    print()


def run_label(settings):
    label = f"seed {settings['seed']}"
    for key, name in (("train_flags", "train"), ("score_flags", "score")):
        if settings[key]:
            label += f", {name} `{settings[key]}`"
    return label


def runs_table(runs):
    """Each run's pooled figures; their mean and spread when only the seed differs."""
    print("| run | alert F1 | FAR | MAR | `anomaly` F1 | FAR | MAR | normal-only alert onsets |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    columns = []
    for results, settings in runs:
        m = skab_score.metrics(pooled(results["valve1"], "alert"))
        a = skab_score.metrics(pooled(results["valve1"], "anomaly"))
        normal = sum(skab_score.onsets(r.alert, r.start) for s, files in results.items() if s != "valve1"
                     for r in files.values())
        row = [m["f1"], m["far"], m["mar"], a["f1"], a["far"], a["mar"], normal]
        columns.append(row)
        print(f"| {run_label(settings)} | {num(row[0])} | {pct(row[1])} | {pct(row[2])} | {num(row[3])} | "
              f"{pct(row[4])} | {pct(row[5])} | {normal} |")
    flags = {(settings["train_flags"], settings["score_flags"]) for _, settings in runs}
    if len(flags) > 1:
        print()
        return
    cells = list(zip(*columns))
    for label, fn in (("mean", statistics.mean), ("sd", statistics.stdev)):
        v = [fn(c) for c in cells]
        print(f"| **{label}** | {num(v[0])} | {pct(v[1])} | {pct(v[2])} | {num(v[3])} | {pct(v[4])} | "
              f"{pct(v[5])} | {v[6]:.1f} |")
    print()


def main(argv):
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    runs = [load_run(out) for out in argv]
    results, settings = runs[0]
    print(f"Settings: seed {settings['seed']}; {summary_line(argv[0])}; train flags "
          f"`{settings['train_flags'] or '(defaults)'}`; score flags `{settings['score_flags'] or '(defaults)'}`\n")
    print("Models that reconstruct their training windows worse than a constant (lstmad train's warning): " +
          ", ".join(f"{not_learnt(argv[0], s, files)} of {len(files)} {s}" for s, files in results.items()) +
          "\n")
    if "valve1" in results:
        print("#### SKAB valve1: rows after the first 400 of each file\n")
        valve_table(results["valve1"])
        print("#### Beside SKAB's published results\n")
        comparison_table(results["valve1"])
        print("#### Which features lead the error during the anomaly\n")
        attribution_table(results["valve1"])
    normal = [(s, files) for s, files in results.items() if s != "valve1"]
    if normal:
        print("#### Normal-only series: alarms after the training rows (the target is none)\n")
        normal_table(normal)
    if len(runs) > 1 and all("valve1" in r for r, _ in runs):
        print("#### The runs side by side (pooled valve1; normal-only alert onsets summed)\n")
        runs_table(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
