"""Acceptance 1: the tutorial's seed example reproduced through the CLI.

Train the tutorial's model (LSTM 128, 64 / RepeatVector / LSTM 64, 128 /
TimeDistributed Dense, relu, 300 epochs, batch 5, no scaling, no validation)
for seeds 1..5 and check the reconstruction in original units against the
bounds of a Keras-faithful reference; check the summary's parameter counts
against Keras' model.summary() for that model.
"""
import os
import statistics

from lstmad_cli import REPO, Checks, read_csv, run, tempdir

SEED_CSV = os.path.join(REPO, "examples", "seed", "timeseries.csv")
KERAS_PARAMS = [67072, 49408, 0, 33024, 98816, 258]


def train_and_reconstruct(workdir, seed):
    model = os.path.join(workdir, f"seed{seed}.lstmad")
    run("train", "--data", SEED_CSV, "--lookback", 3, "--encoder", "128,64", "--decoder", "64,128",
        "--activation", "relu", "--epochs", 300, "--patience", 0, "--batch-size", 5, "--scaler", "none",
        "--validation-split", 0, "--seed", seed, "--out", model)
    header, rows = read_csv(run("reconstruct", "--model", model, "--data", SEED_CSV).stdout)
    assert header == ["window", "step", "x", "x_hat", "x3", "x3_hat"], header
    errors = [abs(float(r[i]) - float(r[i + 1])) for r in rows for i in (2, 4)]
    return model, rows, errors


def main():
    checks = Checks()
    maxima = []
    with tempdir() as workdir:
        for seed in range(1, 6):
            model, rows, errors = train_and_reconstruct(workdir, seed)
            mean_err, max_err = sum(errors) / len(errors), max(errors)
            maxima.append(max_err)
            checks.check(f"seed {seed}: 7 windows of 3 steps", len(rows) == 21, f"{len(rows)} rows")
            checks.check(f"seed {seed}: mean abs error <= 0.015", mean_err <= 0.015, f"{mean_err:.5f}")
            checks.check(f"seed {seed}: max abs error <= 0.06", max_err <= 0.06, f"{max_err:.5f}")
        median = statistics.median(maxima)
        checks.check("median over seeds of the max error <= 0.04", median <= 0.04, f"{median:.5f}")

        summary = run("summary", model).stdout
        print(summary)
        table = [line for line in summary.splitlines() if line.startswith(" ") and "(" in line]
        counts = [int(line.split()[-1]) for line in table[1:]]
        checks.check("summary per-layer params match Keras", counts == KERAS_PARAMS, str(counts))
        checks.check("summary total params", "Total params: 248,578" in summary)
        checks.check("summary trainable params", "Trainable params: 248,578" in summary)
        checks.check("summary layer types",
                     [line.split()[1] for line in table[1:]] ==
                     ["(LSTM)", "(LSTM)", "(RepeatVector)", "(LSTM)", "(LSTM)", "(TimeDistributed)"])
        checks.check("summary output shapes",
                     all(s in summary for s in ["(None, 3, 128)", "(None, 64)", "(None, 3, 64)",
                                                "(None, 3, 2)"]))
    checks.finish()


if __name__ == "__main__":
    main()
