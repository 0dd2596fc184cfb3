#!/usr/bin/python3
"""SKAB and the normal-only series with learning on: `lstmad evaluate-stream`
(the daemon's `retrain` replayed: a fine-tune every 250 windows on the newest
windows outside alerts) under SKAB's protocol (train on each file's first 400
rows, judge every later row; NAB's 600 for the generated series of
normal_series.py), judged by the alerts an operator would receive
(evaluate-stream's `alerts`, score's `alert` column). With
`--relearn-every 0` it is scripts/evaluate_skab.sh's `train` + `score` run,
number for number. Prints a markdown table (docs/detection.md).

  skab_stream.py OUT_DIR SEED [evaluate-stream flags...]

Environment: LSTMAD (default build/release/tools/lstmad), SKAB (default
../shared/datasets/skab), SETS (default "valve1 anomaly-free generated"),
FILES (which valve1 files, by name without .csv; default all), JOBS
(default: the CPUs), as for evaluate_skab.sh. Writes OUT_DIR/results.json:
every file's evaluate-stream report.
"""
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import normal_series  # noqa: E402
import skab_score  # noqa: E402

SKAB_TRAIN_ROWS = 400
NAB_PROBATION_ROWS = 600


def labelled_csv(src, dest):
    """evaluate-stream's input: the feature columns and a `label` column."""
    features, values, labels = skab_score.read_skab(src)
    skab_score.write_csv(dest, features + ["label"], [row + [str(y)] for row, y in zip(values, labels)])
    return dest


def evaluate(lstmad, data, probation, seed, flags):
    out = subprocess.run([lstmad, "evaluate-stream", "--data", data, "--probation-rows", str(probation),
                          "--seed", str(seed), "--json"] + flags, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{data}: evaluate-stream failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout)


def pooled(results):
    """SKAB's pooled F1, FAR and MAR (skab_score.metrics) of the alert column."""
    c = {k: sum(r["alerts"]["points"][k] for r in results) for k in ("tp", "fp", "fn")}
    c["tn"] = sum(r["rows"] - r["probation"] for r in results) - c["tp"] - c["fp"] - c["fn"]
    m = skab_score.metrics(c)
    return m["f1"] or 0.0, 100 * (m["far"] or 0.0), 100 * (m["mar"] or 0.0)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    out, seed, flags = argv[0], int(argv[1]), argv[2:]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    lstmad = os.environ.get("LSTMAD", os.path.join(root, "build/release/tools/lstmad"))
    skab = os.environ.get("SKAB", os.path.join(root, "../shared/datasets/skab"))
    os.makedirs(out, exist_ok=True)
    generated = os.path.join(out, "generated")
    sets = os.environ.get("SETS", "valve1 anomaly-free generated").split()
    jobs = []  # (set, name, source, probation)
    if "valve1" in sets:
        names = os.environ.get("FILES", "").split() or sorted(
            (os.path.basename(p)[:-4] for p in glob.glob(os.path.join(skab, "valve1", "*.csv"))), key=int)
        for name in names:
            jobs.append(("valve1", name, os.path.join(skab, "valve1", name + ".csv"), SKAB_TRAIN_ROWS))
    if "anomaly-free" in sets:
        jobs.append(("anomaly-free", "anomaly-free", os.path.join(skab, "anomaly-free", "anomaly-free.csv"),
                     SKAB_TRAIN_ROWS))
    if "generated" in sets:
        normal_series.main([generated])
        for name in ("white_noise", "daily_sine", "random_walk", "sawtooth"):
            jobs.append(("generated", name, os.path.join(generated, name + ".csv"), NAB_PROBATION_ROWS))

    def one(job):
        kind, name, src, probation = job
        data = labelled_csv(src, os.path.join(out, f"{kind}-{name}.csv"))
        return evaluate(lstmad, data, probation, seed, flags)

    with ThreadPoolExecutor(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        results = list(pool.map(one, jobs))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump([{"set": j[0], "file": j[1], "result": r} for j, r in zip(jobs, results)], f)
    print(f"evaluate-stream, seed {seed}, flags `{' '.join(flags) or '(defaults)'}`\n")
    print("| set | alert F1 | FAR | MAR | alerts fired | rows alerting |")
    print("|---|---:|---:|---:|---:|---:|")
    valve = [r for j, r in zip(jobs, results) if j[0] == "valve1"]
    if valve:
        f1, far, mar = pooled(valve)
        print(f"| valve1, pooled ({len(valve)}) | {f1:.3f} | {far:.1f} % | {mar:.1f} % | "
              f"{sum(r['alerts']['fired'] for r in valve)} | {sum(r['alerts']['rows'] for r in valve)} |")
    for j, r in zip(jobs, results):
        if j[0] != "valve1":
            print(f"| {j[0]}/{j[1]} | | | | {r['alerts']['fired']} | {r['alerts']['rows']} |")
    normal = sum(r["alerts"]["fired"] for j, r in zip(jobs, results) if j[0] != "valve1")
    print(f"| **normal-only, all** | | | | {normal} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
