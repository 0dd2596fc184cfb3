"""scripts/evaluate_skab.sh end to end on two SKAB files and the generated
normal-only series, with the real binary: every step runs, the outputs parse,
and the counts add up to the rows. Quality is not asserted (docs/detection.md
reports it); training is cut to a small model for 2 epochs (TRAIN_FLAGS) so
this stays a few seconds and does not depend on train's defaults. Then
scripts/skab_stream.py on the same files without relearning: evaluate-stream's
alerts must be score's alert column, file by file. Skipped without
../shared/datasets/skab.
"""
import json
import os
import subprocess
import sys

from lstmad_cli import BIN, REPO, Checks, tempdir

sys.path.insert(0, os.path.join(REPO, "scripts"))
import skab_score  # noqa: E402

SKAB = os.path.join(REPO, "..", "shared", "datasets", "skab")
LOOKBACK = 10


def main():
    checks = Checks()
    if not os.path.isdir(SKAB):
        print("skip: no ../shared/datasets/skab")
        checks.finish()
    with tempdir() as d:
        env = dict(os.environ, LSTMAD=os.path.abspath(BIN), SKAB=SKAB, SETS="valve1 generated", FILES="0 1",
                   TRAIN_FLAGS=f"--lookback {LOOKBACK} --encoder 8 --decoder 8 --epochs 2", JOBS="2")
        proc = subprocess.run(["bash", os.path.join(REPO, "scripts", "evaluate_skab.sh"), d], env=env,
                              capture_output=True, text=True, timeout=300)
        checks.check("evaluate_skab.sh exits 0", proc.returncode == 0, proc.stderr[-2000:])
        if proc.returncode != 0:
            checks.finish()
        expected = {"valve1": ["0", "1"], "generated": ["daily_sine", "random_walk", "sawtooth", "white_noise"]}
        runs = os.path.join(d, "runs")
        found = {s: sorted(os.listdir(os.path.join(runs, s))) for s in sorted(os.listdir(runs))}
        checks.check("one run per file of the chosen sets", found == expected, str(found))
        for set_name, names in expected.items():
            for name in names:
                r = skab_score.FileResult(os.path.join(runs, set_name, name))
                src = (os.path.join(SKAB, "valve1", name + ".csv") if set_name == "valve1"
                       else os.path.join(d, "generated", name + ".csv"))
                with open(src) as f:
                    rows = sum(1 for line in f if line.strip()) - 1
                c = r.confusion("alert")
                checks.check(f"{set_name}/{name}: windows = rows - T + 1, scored rows add up",
                             r.lookback == LOOKBACK and r.rows == rows and sum(c.values()) == rows - r.start and
                             r.start == (400 if set_name == "valve1" else 600), f"{r.lookback} {rows} {c}")
                if set_name == "generated":
                    checks.check(f"{set_name}/{name}: no labelled rows", c["tp"] + c["fn"] == 0, str(c))
        with open(os.path.join(d, "tables.md")) as f:
            tables = f.read()
        checks.check("tables.md is what it printed", tables.strip() and tables == proc.stdout)
        ok = "| **pooled (2)** |" in tables and "| generated/white_noise | 3400 |" in tables
        checks.check("tables: the pooled row and the normal-only table", ok, "" if ok else tables)

        # scripts/skab_stream.py, evaluate-stream without relearning, gives
        # the alert column of the train + score run above, file by file: the
        # same training, and the detector's explicit calibration judges as
        # score's self-calibration on the same windows.
        stream_dir = os.path.join(d, "stream")
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "skab_stream.py"), stream_dir, "1",
                               "--relearn-every", "0", "--lookback", str(LOOKBACK), "--encoder", "8",
                               "--decoder", "8", "--epochs", "2"],
                              env=env, capture_output=True, text=True, timeout=300)
        checks.check("skab_stream.py exits 0", proc.returncode == 0, proc.stderr[-2000:])
        if proc.returncode != 0:
            checks.finish()
        with open(os.path.join(stream_dir, "results.json")) as f:
            stream = {(x["set"], x["file"]): x["result"]["alerts"] for x in json.load(f)}
        checks.check("skab_stream.py: one report per file", sorted(stream) ==
                     sorted((s, n) for s, names in expected.items() for n in names), str(sorted(stream)))
        alerting = 0
        for (set_name, name), alerts in sorted(stream.items()):
            r = skab_score.FileResult(os.path.join(runs, set_name, name))
            c = r.confusion("alert")
            fired = skab_score.onsets(r.alert, r.start)
            got = (alerts["points"]["tp"], alerts["points"]["fp"], alerts["points"]["fn"], alerts["fired"])
            checks.check(f"{set_name}/{name}: evaluate-stream's alerts are score's alert column",
                         got == (c["tp"], c["fp"], c["fn"], fired), f"{got} vs {c} fired {fired}")
            alerting += alerts["rows"]
        checks.check("...and some rows alert, so the comparison can fail", alerting > 0, str(alerting))
    checks.finish()
    checks.finish()


if __name__ == "__main__":
    main()
