"""`lstmad score` and `lstmad evaluate` on a series read from Prometheus
(issue 15, backtesting on history): a real Prometheus (Debian's), backfilled
through `promtool tsdb create-blocks-from openmetrics` and behind basic auth,
is read through /api/v1/query_range, one --query per model feature (in any
order) plus, for evaluate, one for the labels; the output equals that of the
same command on the CSV of the same values, byte for byte. A missing
feature query and --windows with --prometheus are refused with exit 2 and a
message that says why."""
import json
import math
import os
import random
import subprocess
import time

from lstmad_cli import BIN, Checks, tempdir
from test_train_prometheus import PASSWORD, start_prometheus

STEP = 60
ROWS = 500
ANOMALY = range(400, 420)


def lstmad(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=300)


def write_series(d, t0):
    """One pump's temperature, flow and 0/1 label (an injected excursion);
    returns (openmetrics path, csv path)."""
    rng = random.Random(9)
    rows = []
    for i in range(ROWS):
        bump = 25.0 if i in ANOMALY else 0.0
        rows.append((t0 + i * STEP, round(60 + 5 * math.sin(i / 20) + rng.gauss(0, 0.3) + bump, 6),
                     round(120 + 8 * math.cos(i / 15) + rng.gauss(0, 0.5), 6), 1 if i in ANOMALY else 0))
    om = os.path.join(d, "series.om")
    with open(om, "w") as f:
        for metric, col in (("pump_temperature", 1), ("pump_flow", 2), ("pump_label", 3)):
            f.write(f"# TYPE {metric} gauge\n")
            for r in rows:
                f.write(f'{metric}{{pump="p1"}} {r[col]} {r[0]}\n')
        f.write("# EOF\n")
    csv = os.path.join(d, "p1.csv")
    with open(csv, "w") as f:
        f.write("timestamp,temperature,flow,label\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]}\n")
    return om, csv


def main():
    checks = Checks()
    with tempdir() as d:
        t0 = (int(time.time()) // 3600 - 72) * 3600  # three days ago: whole blocks, nothing in the head
        om, csv = write_series(d, t0)
        tsdb = os.path.join(d, "tsdb")
        backfill = subprocess.run(["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", om, tsdb],
                                  capture_output=True, text=True, timeout=120)
        checks.check("promtool backfills the series", backfill.returncode == 0, backfill.stderr[-500:])
        model = os.path.join(d, "m.lstmad")
        trained = lstmad("train", "--data", csv, "--features", "temperature,flow", "--lookback", 10,
                         "--encoder", "8", "--decoder", "8", "--epochs", 3, "--seed", 3, "--out", model)
        checks.check("train --data", trained.returncode == 0, trained.stderr[-500:])
        proc, port = start_prometheus(d, tsdb)
        try:
            password = os.path.join(d, "password")
            with open(password, "w") as f:
                f.write(PASSWORD + "\n")
            source = ["--prometheus", f"http://127.0.0.1:{port}", "--start", t0, "--end", t0 + (ROWS - 1) * STEP,
                      "--step", f"{STEP}s", "--prometheus-user", "lstmad", "--prometheus-password-file", password]
            # Not in the model's order: the queries are matched by name.
            queries = ["--query", 'flow=pump_flow{pump="p1"}', "--query", 'temperature=pump_temperature{pump="p1"}']

            by_csv = lstmad("score", "--model", model, "--data", csv, "--calibration", 100)
            by_prom = lstmad("score", "--model", model, *source, *queries, "--calibration", 100)
            checks.check("score --data", by_csv.returncode == 0, by_csv.stderr[-500:])
            checks.check("score --prometheus", by_prom.returncode == 0, by_prom.stderr[-800:])
            checks.check("score --prometheus prints what score --data prints", by_csv.stdout == by_prom.stdout and
                         len(by_csv.stdout.splitlines()) == ROWS - 10 + 2,
                         f"{by_csv.stdout[:400]}\nvs\n{by_prom.stdout[:400]}")

            common = ["--model", model, "--json", "--probation-rows", 150, "--threshold-mode", "fixed"]
            eval_csv = lstmad("evaluate", *common, "--data", csv)
            eval_prom = lstmad("evaluate", *common, *source, *queries, "--query", 'label=pump_label{pump="p1"}')
            checks.check("evaluate --data", eval_csv.returncode == 0, eval_csv.stderr[-500:])
            checks.check("evaluate --prometheus", eval_prom.returncode == 0, eval_prom.stderr[-800:])
            if eval_csv.returncode == 0 and eval_prom.returncode == 0:
                a, b = json.loads(eval_csv.stdout), json.loads(eval_prom.stdout)
                checks.check("evaluate names its source", b.get("data") == f"prometheus http://127.0.0.1:{port}",
                             b.get("data"))
                a.pop("data", None)
                b.pop("data", None)
                checks.check("evaluate --prometheus reports what evaluate --data reports", a == b, f"{a}\nvs\n{b}")

            missing = lstmad("score", "--model", model, *source, queries[0], queries[1])
            checks.check("a model feature without a --query is refused, naming it", missing.returncode == 2 and
                         'no --query temperature=PROMQL for feature "temperature"' in missing.stderr,
                         missing.stderr)
            windows = lstmad("evaluate", *common, *source, *queries, "--windows", csv)
            checks.check("--windows with --prometheus is refused, saying what works", windows.returncode == 2 and
                         "--query label=PROMQL" in windows.stderr, windows.stderr)
            both = lstmad("score", "--model", model, "--data", csv, *source, *queries)
            checks.check("--data and --prometheus together are refused", both.returncode == 2 and
                         "one of --data and --prometheus is required" in both.stderr, both.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    checks.finish()


if __name__ == "__main__":
    main()
