"""NAB scoring of NAB-format results: scripts/nab_score.py (written from NAB's
documented method and nab/sweeper.py) against a hand calculation on a tiny
constructed file, then against what `lstmad evaluate-stream` printed for the
results file it wrote.

The hand calculation (standard profile: A_TP 1, A_FP 0.11, A_FN 1): 20 rows,
so the probation is floor(0.15 * 20) = 3 rows; one window, rows 8..11 (width
4). Scores: row 1 1.0 (probation: ignored), row 5 0.9, row 9 0.8, row 10 0.95,
row 13 0.7. With sigma(y) = 2 / (1 + e^(5y)) - 1:
  row 9 in the window: position -(11 - 9 + 1)/4 = -0.75,
      reward sigma(-0.75) / sigma(-1) = 0.954041 / 0.986614 = 0.966989
  row 10: position -0.5, reward 0.848284 / 0.986614 = 0.859793
  row 5 before any window: 0.11 * sigma(3) = -0.11
  row 13 after the window: position |11 - 13| / (4 - 1) = 2/3,
      0.11 * sigma(2/3) = 0.11 * -0.931109 = -0.102422
  threshold 0.75: best in window 0.966989, one FP -0.11: raw 0.856989,
      normalised 100 (0.856989 + 1) / (1 + 1) = 92.8495
  threshold 0.6: also row 13: raw 0.754567, normalised 87.7284
  optimised: threshold 0.95 (row 10 alone): raw 0.859793, normalised 92.9896
"""
import json
import math
import os
import sys

from lstmad_cli import REPO, Checks, run, tempdir

sys.path.insert(0, os.path.join(REPO, "scripts"))
import nab_score  # noqa: E402


def write_results(folder, rows):
    os.makedirs(os.path.join(folder, "tiny"), exist_ok=True)
    with open(os.path.join(folder, "tiny", "det_case.csv"), "w") as f:
        f.write("timestamp,value,anomaly_score,label\n")
        for i, (score, label) in enumerate(rows):
            f.write(f"2020-01-01 00:{i:02d}:00,{i},{score},{label}\n")


def score(folder, threshold=None):
    profile = nab_score.PROFILES["standard"]
    corpus = nab_score.load_corpus(folder, None, profile)
    points = corpus["tiny/case.csv"]
    if threshold is None:
        threshold, _ = nab_score.optimise(points, profile)
    raw, windows = nab_score.score_at(points, threshold, profile)
    return threshold, raw, nab_score.normalised(raw, windows, profile)


def hand_case(checks):
    scores = [0.0] * 20
    scores[1], scores[5], scores[9], scores[10], scores[13] = 1.0, 0.9, 0.8, 0.95, 0.7
    labels = [1 if 8 <= i <= 11 else 0 for i in range(20)]
    sigma = lambda y: 2 / (1 + math.exp(5 * y)) - 1  # noqa: E731
    checks.check("scaled sigmoid as NAB documents it",
                 abs(nab_score.scaled_sigmoid(-1.0) - 0.98661) < 1e-5 and
                 abs(nab_score.scaled_sigmoid(-0.5) - 0.84828) < 1e-5 and
                 nab_score.scaled_sigmoid(3.0) == -1.0 and abs(sigma(-1.0) - 0.986614) < 1e-6)
    with tempdir() as d:
        write_results(d, list(zip(scores, labels)))
        _, raw, norm = score(d, 0.75)
        checks.check("threshold 0.75 matches the hand calculation",
                     abs(raw - 0.856989) < 1e-6 and abs(norm - 92.8495) < 1e-4, f"{raw:.6f} {norm:.4f}")
        _, raw, norm = score(d, 0.6)
        checks.check("threshold 0.6 adds the late false positive",
                     abs(raw - 0.754567) < 1e-6 and abs(norm - 87.7284) < 1e-4, f"{raw:.6f} {norm:.4f}")
        threshold, raw, norm = score(d)
        checks.check("optimised threshold is 0.95", threshold == 0.95 and abs(norm - 92.9896) < 1e-4,
                     f"{threshold} {norm:.4f}")
        _, raw, norm = score(d, 1.1)
        checks.check("no detections is the null score 0", raw == -1.0 and norm == 0.0)


def lstmad_results(checks):
    """A results file lstmad wrote, scored by the script, agrees with lstmad."""
    with tempdir() as d:
        data = os.path.join(d, "synthetic", "wave.csv")
        os.makedirs(os.path.dirname(data))
        with open(data, "w") as f:
            f.write("timestamp,value,label\n")
            for i in range(2000):
                v = math.sin(2 * math.pi * i / 40) + (4.0 if 1400 <= i < 1420 else 0.0)
                f.write(f"{1600000000 + 300 * i},{v:.6f},{1 if 1390 <= i < 1450 else 0}\n")
        proc = run("evaluate-stream", "--data", data, "--json", "--nab-results", os.path.join(d, "res"),
                   "--epochs", 5, "--lookback", 20)
        printed = json.loads(proc.stdout)
        path = os.path.join(d, "res", "synthetic", "lstmad_wave.csv")
        checks.check("NAB results file written as <category>/<detector>_<file>", os.path.exists(path))
        with open(path) as f:
            header = f.readline().strip()
            rows = [line.strip().split(",") for line in f]
        checks.check("NAB results columns", header == "timestamp,value,anomaly_score,label", header)
        checks.check("one results row per data row", len(rows) == 2000, str(len(rows)))
        checks.check("labels copied", sum(int(r[3]) for r in rows) == 60)
        checks.check("scores in [0, 1]", all(0.0 <= float(r[2]) <= 1.0 for r in rows))
        profile = nab_score.PROFILES["standard"]
        points = nab_score.load_corpus(os.path.join(d, "res"), None, profile)["synthetic/wave.csv"]
        raw, windows = nab_score.score_at(points, 0.5, profile)
        checks.check("script and lstmad agree on the raw NAB score",
                     abs(raw - printed["nab"]["raw"]) < 1e-6 and windows == printed["nab"]["windows"],
                     f"script {raw:.6f}, lstmad {printed['nab']['raw']:.6f}")
        checks.check("the injected excursion is detected at its onset",
                     printed["nab"]["detected"] == 1 and printed["nab"]["normalized"] > 50,
                     json.dumps(printed["nab"]))


def real_nab_file(checks):
    """One small real NAB file (speed_7578, 1127 rows) end to end, when the
    shared data sets are beside the repository."""
    nab = os.path.join(REPO, "..", "shared", "datasets", "nab")
    data = os.path.join(nab, "data", "realTraffic", "speed_7578.csv")
    if not os.path.exists(data):
        print("skip: no ../shared/datasets/nab")
        return
    windows = os.path.join(nab, "combined_windows.json")
    with tempdir() as d:
        printed = json.loads(run("evaluate-stream", "--data", data, "--windows", windows, "--json",
                                 "--nab-results", os.path.join(d, "res")).stdout)
        profile = nab_score.PROFILES["standard"]
        corpus = nab_score.load_corpus(os.path.join(d, "res"), windows, profile)
        raw, count = nab_score.score_at(corpus["realTraffic/speed_7578.csv"], 0.5, profile)
        checks.check("NAB file: windows from combined_windows.json match the label column",
                     count == printed["nab"]["windows"] == 4, f"{count} {printed['nab']['windows']}")
        checks.check("NAB file: script and lstmad agree", abs(raw - printed["nab"]["raw"]) < 1e-6,
                     f"script {raw:.6f}, lstmad {printed['nab']['raw']:.6f}")


def main():
    checks = Checks()
    hand_case(checks)
    lstmad_results(checks)
    real_nab_file(checks)
    checks.finish()


if __name__ == "__main__":
    main()
