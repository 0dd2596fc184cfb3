"""A model trained with `--time-features daily` scores the same in the daemon
as in `lstmad score`: the daemon builds each window's time inputs from its
samples' timestamps (ns), the CLI from the CSV's timestamp column, and
lstmad_stream_reconstruction_error equals score's error column window by
window (within 1e-4 relative). The series has a daily cycle sampled every
15 minutes. Also the contract around it: `summary` shows the time features,
and train and score refuse data without timestamps, naming the file.
"""
import math
import os
import random

from daemon_harness import Daemon, line, total, write_config
from lstmad_cli import Checks, read_csv, run, tempdir, train_fixture

LOOKBACK = 8
STEP_S = 900  # 96 samples a day
T0_S = 1_704_067_200  # 2024-01-01 00:00:00 UTC
TRAIN_DAYS, SCORE_DAYS = 8, 2
FEATURES = ["load"]


def load(i, rng):
    """A daily cycle: low at night, a peak in the afternoon, plus noise."""
    hours = (i * STEP_S % 86400) / 3600
    return 50 + 20 * math.sin(2 * math.pi * (hours - 9) / 24) + rng.gauss(0, 1.0)


def write_csv(path, first, count, rng, timestamps=True):
    with open(path, "w") as f:
        f.write(("timestamp," if timestamps else "") + "load\n")
        for i in range(first, first + count):
            f.write((f"{T0_S + i * STEP_S}," if timestamps else "") + f"{load(i, rng):.6f}\n")


def main():
    checks = Checks()
    with tempdir() as d:
        train_csv = os.path.join(d, "train.csv")
        write_csv(train_csv, 0, TRAIN_DAYS * 96, random.Random(5))
        model = os.path.join(d, "load.lstmad")
        train_fixture("--data", train_csv, "--lookback", LOOKBACK, "--encoder", "16", "--decoder", "16",
                      "--activation", "tanh", "--epochs", 6, "--batch-size", 32, "--threshold", "p99",
                      "--seed", 3, "--time-features", "daily", "--out", model)
        summary = run("summary", model).stdout
        checks.check("summary shows the time features", "Time features: daily (2 inputs" in summary, summary)
        checks.check("the network has the series feature and two time inputs",
                     f"Input: {LOOKBACK} timesteps x 3 features (load)" in summary, summary)

        bare = os.path.join(d, "bare.csv")
        write_csv(bare, 0, 200, random.Random(6), timestamps=False)
        refused = run("score", "--model", model, "--data", bare, check=False)
        checks.check("score refuses data without timestamps, naming the file",
                     refused.returncode == 2 and f"{bare}: no timestamp column" in refused.stderr,
                     refused.stderr)
        refused = run("train", "--data", bare, "--lookback", 4, "--epochs", 1, "--time-features", "daily",
                      "--out", os.path.join(d, "x.lstmad"), check=False)
        checks.check("train --time-features refuses data without timestamps, naming the file",
                     refused.returncode == 2 and f"{bare}: no timestamp column" in refused.stderr,
                     refused.stderr)
        refused = run("train", "--data", train_csv, "--lookback", 4, "--time-features", "hourly",
                      "--out", os.path.join(d, "x.lstmad"), check=False)
        checks.check("an unknown time feature is refused", refused.returncode == 2 and "hourly" in refused.stderr,
                     refused.stderr)

        first = TRAIN_DAYS * 96  # the days after training
        score_csv = os.path.join(d, "score.csv")
        write_csv(score_csv, first, SCORE_DAYS * 96, random.Random(8))
        header, rows = read_csv(run("score", "--model", model, "--data", score_csv).stdout)
        want = [float(r[header.index("error")]) for r in rows]
        with open(score_csv) as f:
            samples = [[float(x) for x in row.split(",")] for row in f.read().splitlines()[1:]]

        cfg = write_config(os.path.join(d, "lstmad.yaml"), [{"name": "load", "path": model, "measurement": "load"}])
        key = 'lstmad_stream_reconstruction_error{model="load",site="a",stream="load,site=a"}'
        # Windows across midnight, noon and the second day.
        probes = [0, 1, 17, 40, 63, 88, 95, 120, 150, len(want) - 1]
        got, sent = {}, 0
        with Daemon(cfg) as daemon:
            sock = daemon.connect()
            for w in probes:
                last = w + LOOKBACK - 1
                sock.sendall("".join(line("load", {"site": "a"}, [samples[i][1]], ts=int(samples[i][0]) * 10**9,
                                          features=FEATURES)
                                     for i in range(sent, last + 1)).encode())
                sent = last + 1
                daemon.wait_for(lambda m: total(m, "lstmad_windows_scored_total", model="load") >= w + 1,
                                what=f"window {w} scored", timeout=20)
                got[w] = daemon.metrics().get(key)
            sock.close()
            checks.check("daemon exits 0", daemon.stop() == 0)

        worst = max(abs(got[w] - want[w]) / max(abs(want[w]), 1e-12) if got[w] is not None else 1.0
                    for w in probes)
        checks.check("the daemon's error equals lstmad score's for every probed window", worst < 1e-4,
                     f"max relative diff {worst:.2e}; daemon {[got[w] for w in probes]} cli {[want[w] for w in probes]}")
    checks.finish()


if __name__ == "__main__":
    main()
