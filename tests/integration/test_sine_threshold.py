"""Acceptance 5: a tanh autoencoder learns a two-feature sine/cosine series and
its stored threshold separates a window with an injected spike from normal ones.

10,000 samples, period 50, T=30, encoder 32,16, decoder 16,32, batch 32, at
most 20 epochs: the validation MSE (scaled units) must go below 1e-3.

The threshold is mean+4std of the validation errors rather than the default
p99.5: the series is exactly periodic, so its windows' errors take ~50
values, and a percentile lands on the largest of them, which the same phase
of the test series then ties (a percentile threshold flags 0.5% of normal
windows by construction).
"""
import math
import os
import re

from lstmad_cli import Checks, read_csv, run, tempdir

PERIOD = 50
LOOKBACK = 30


def write_series(path, n, spike_at=None):
    with open(path, "w") as f:
        f.write("timestamp,s,c\n")
        for i in range(n):
            s = math.sin(2 * math.pi * i / PERIOD)
            c = math.cos(2 * math.pi * i / PERIOD)
            if i == spike_at:
                s += 3.0
            f.write(f"{1700000000 + 60 * i},{s:.9f},{c:.9f}\n")


def main():
    checks = Checks()
    with tempdir() as workdir:
        train_csv = os.path.join(workdir, "train.csv")
        write_series(train_csv, 10000)
        model = os.path.join(workdir, "sine.lstmad")
        proc = run("train", "--data", train_csv, "--lookback", LOOKBACK, "--encoder", "32,16",
                   "--decoder", "16,32", "--activation", "tanh", "--epochs", 20, "--batch-size", 32,
                   "--patience", 5, "--seed", 1, "--threshold", "mean+4std", "--out", model)
        val_losses = [float(v) for v in re.findall(r"val_loss ([0-9.e+-]+)", proc.stderr)]
        print(proc.stderr)
        checks.check("trained at most 20 epochs", 0 < len(val_losses) <= 20, str(len(val_losses)))
        best = min(val_losses)
        checks.check("validation MSE below 1e-3 (scaled units)", best < 1e-3, f"best {best:.3g}")
        epochs_needed = next(i + 1 for i, v in enumerate(val_losses) if v < 1e-3)
        print(f"val_loss < 1e-3 first at epoch {epochs_needed}")

        test_csv = os.path.join(workdir, "test.csv")
        spike_at = 500
        write_series(test_csv, 1000, spike_at=spike_at)
        # The model's fixed threshold is what this test is about.
        header, rows = read_csv(run("score", "--model", model, "--data", test_csv,
                                    "--threshold-mode", "fixed").stdout)
        checks.check("score header", header == ["timestamp", "error", "threshold", "anomaly",
                                                "s_error", "c_error", "anomaly_score", "alert"], str(header))
        # Row k is the window ending at sample k + T - 1; it holds the spike
        # when k <= spike_at <= k + T - 1.
        spiked = [r for k, r in enumerate(rows) if k <= spike_at <= k + LOOKBACK - 1]
        normal = [r for k, r in enumerate(rows) if not k <= spike_at <= k + LOOKBACK - 1]
        threshold = float(rows[0][2])
        checks.check("every window with the spike is above the threshold",
                     all(r[3] == "1" and float(r[1]) > threshold for r in spiked),
                     f"min spiked error {min(float(r[1]) for r in spiked):.4g} vs {threshold:.4g}")
        checks.check("every normal window is below the threshold",
                     all(r[3] == "0" for r in normal),
                     f"max normal error {max(float(r[1]) for r in normal):.4g}")
        checks.check("the spike is attributed to feature s",
                     all(float(r[4]) > float(r[5]) for r in spiked))
        checks.check("timestamps copied from the input",
                     rows[0][0] == str(1700000000 + 60 * (LOOKBACK - 1)), rows[0][0])
    checks.finish()


if __name__ == "__main__":
    main()
