#!/usr/bin/python3
"""Checks `lstmad import-keras` against an independent NumPy forward pass.

Run with Debian's /usr/bin/python3 (it has numpy and h5py):

    /usr/bin/python3 check_keras_import.py --lstmad build/.../lstmad \
        --models ../shared/keras-models

1. Real files (../shared/keras-models, see its README): each is imported, `lstmad
   summary` must list the per-layer parameter counts Keras counts (the sizes of the
   layer's weight datasets, read with h5py) and the README's totals, and `lstmad
   reconstruct` on random windows must match keras_reference.py (NumPy, float64, from
   the file's own float32 weights) to 1e-5.
2. Synthetic files (make_fixtures.py, written the way Keras writes them): the same
   checks for every supported layout and option; every refusal must exit 2 with a
   message naming the file and the layer and option.
3. hard_sigmoid: the same weights read as Keras 2 and as Keras 3 give different
   numbers, each matching its reference.
4. --calibrate: the scaler and threshold equal a NumPy computation of the same thing.

Exits non-zero naming the first case that fails.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import keras_reference  # noqa: E402
import make_fixtures  # noqa: E402

TOLERANCE = 1e-5
EXTRA_ROWS = 12  # windows per check: EXTRA_ROWS + 1

# The README's table: file, --output, total parameters of the imported chain.
REAL = [
    ("fariha-masters-thesis/lstm_autoencoder.h5", None, 198273),
    ("fariha-masters-thesis/lstm_encoder.keras", None, 198273),
    ("fariha-masters-thesis/lstm_encoder_new.keras", None, 198273),
    ("fariha-masters-thesis/lstm_autoencoder.keras", None, 279987),
    ("danielbarbosa-bearing/lstm_autoencoder.h5", None, 3599),
    # Two outputs (201,802 weights in all): the reconstruction branch only.
    ("biobb-ml/ref_output_model_autoencoder.h5", "time_distributed", 121301),
    ("biobb-ml/input_model_decoder.h5", "time_distributed", 121301),
]


class Failure(Exception):
    pass


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def summary_counts(lstmad, model):
    """Per-layer parameter counts and the total from `lstmad summary`."""
    r = run([lstmad, "summary", model])
    if r.returncode != 0:
        raise Failure("summary failed: " + r.stderr)
    rows = re.findall(r"^ \S+ \(\w+\)\s+\([^)]*\)\s+(\d+)$", r.stdout, re.M)
    total = int(re.search(r"^Total params: ([\d,]+)", r.stdout, re.M).group(1).replace(",", ""))
    return [int(n) for n in rows], total


def write_csv(path, data):
    names = ["f%d" % i for i in range(data.shape[1])]
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in data:
            f.write(",".join("%.9g" % v for v in row) + "\n")
    return names


def check_numbers(lstmad, path, output, extra_args, tmp, rng, label, low=-1.0):
    """Imports `path`, compares counts and reconstructions with the reference; returns max diff.

    Inputs are uniform in [low, 1]. The real files' relu LSTMs were trained on data scaled
    into [0, 1]; fed [-1, 1] they grow to outputs of ~200 where float32 and float64 part
    by far more than rounding (chaotic growth, sigmoid overflow), so they get [0, 1].
    """
    ref = keras_reference.KerasFile(path, output)
    steps = ref.shape[1]
    if steps is None:
        steps = int(extra_args[extra_args.index("--timesteps") + 1])
    features = ref.shape[2]
    # float32 inputs written exactly, so both sides see the same numbers.
    data = rng.uniform(low, 1, (steps + EXTRA_ROWS, features)).astype(np.float32)
    csv = os.path.join(tmp, "data.csv")
    names = write_csv(csv, data)
    model = os.path.join(tmp, "model.lsm")
    r = run([lstmad, "import-keras", path, "--features", ",".join(names), "--out", model,
             "--threshold", "1"] + extra_args)
    if r.returncode != 0:
        raise Failure("%s: import failed: %s" % (label, r.stderr.strip()))
    counts, total = summary_counts(lstmad, model)
    want = [c for c, layer in zip(ref.parameter_counts(), ref.layers)
            if layer["class_name"] not in keras_reference.IDENTITY]
    if counts != want or total != sum(want):
        raise Failure("%s: summary counts %s (total %d), the file holds %s" %
                      (label, counts, total, want))
    r = run([lstmad, "reconstruct", "--model", model, "--data", csv])
    if r.returncode != 0:
        raise Failure("%s: reconstruct failed: %s" % (label, r.stderr.strip()))
    rows = np.loadtxt(r.stdout.splitlines()[1:], delimiter=",", ndmin=2)
    windows = len(data) - steps + 1
    ours = rows[:, 3::2].reshape(windows, steps, features)
    x = np.stack([data[k:k + steps] for k in range(windows)]).astype(np.float64)
    expected = ref.forward(x)
    diff = float(np.abs(ours - expected).max())
    if not diff < TOLERANCE:
        raise Failure("%s: max abs difference %.3g >= %g" % (label, diff, TOLERANCE))
    return diff, total, ours


def check_refusal(lstmad, case, tmp):
    names = case["args"][case["args"].index("--features") + 1] if "--features" in case["args"] \
        else "a,b"
    args = [a for a in case["args"]]
    if "--features" not in args:
        args += ["--features", names]
    r = run([lstmad, "import-keras", case["path"], "--out", os.path.join(tmp, "x.lsm")] + args)
    message = r.stderr.strip()
    if r.returncode != 2:
        raise Failure("%s: exit %d, expected 2 (%s)" % (case["name"], r.returncode, message))
    # Features are checked after the architecture: a refusal may come first either way.
    for word in [case["path"]] + case["expect"]:
        if word not in message:
            raise Failure("%s: the message does not mention %r: %s" % (case["name"], word, message))
    return message


def check_calibration(lstmad, path, tmp, rng):
    """--calibrate --scaler standard: threshold = NumPy's p99.5 of the scaled windows' MSE."""
    ref = keras_reference.KerasFile(path)
    steps, features = ref.shape[1], ref.shape[2]
    data = rng.normal(3.0, 2.0, (steps + 40, features)).astype(np.float32)
    csv = os.path.join(tmp, "normal.csv")
    names = write_csv(csv, data)
    model = os.path.join(tmp, "calibrated.lsm")
    r = run([lstmad, "import-keras", path, "--features", ",".join(names), "--calibrate", csv,
             "--scaler", "standard", "--threshold", "p99.5", "--out", model])
    if r.returncode != 0:
        raise Failure("calibration: import failed: " + r.stderr)
    r = run([lstmad, "score", "--model", model, "--data", csv])
    if r.returncode != 0:
        raise Failure("calibration: score failed: " + r.stderr)
    rows = np.loadtxt(r.stdout.splitlines()[1:], delimiter=",", ndmin=2)
    x = data.astype(np.float64)
    scaled = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32).astype(np.float64)
    windows = np.stack([scaled[k:k + steps] for k in range(len(x) - steps + 1)])
    errors = ((ref.forward(windows) - windows) ** 2).mean(axis=(1, 2))
    want = np.percentile(errors, 99.5)
    got = rows[0, 2]
    if not abs(got - want) <= 1e-5 * max(1.0, abs(want)):
        raise Failure("calibration: threshold %.9g, NumPy says %.9g" % (got, want))
    if not np.allclose(rows[:, 1], errors, atol=1e-5):
        raise Failure("calibration: window errors differ from NumPy's")
    return got, want


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lstmad", required=True)
    parser.add_argument("--models", required=True, help="the shared keras-models folder")
    args = parser.parse_args()
    rng = np.random.default_rng(2024)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        def attempt(label, fn):
            nonlocal failures
            try:
                result = fn()
                print("ok   %-40s %s" % (label, result))
            except Failure as e:
                failures += 1
                print("FAIL %s" % e)

        for rel, output, total in REAL:
            path = os.path.join(args.models, rel)

            def real(path=path, output=output, total=total, rel=rel):
                extra = ["--output", output] if output else []
                diff, got, _ = check_numbers(args.lstmad, path, output, extra, tmp, rng, rel,
                                             low=0.0)
                if got != total:
                    raise Failure("%s: %d parameters, the README says %d" % (rel, got, total))
                return "params %d, max abs diff %.2e" % (got, diff)
            attempt(rel, real)

        fixtures = os.path.join(tmp, "fixtures")
        os.makedirs(fixtures)
        outputs = {}
        for case in make_fixtures.build_all(fixtures):
            if case["expect"] == "ok":
                def good(case=case):
                    diff, total, ours = check_numbers(args.lstmad, case["path"], case["output"],
                                                      case["args"], tmp, np.random.default_rng(7),
                                                      case["name"])
                    outputs[case["name"]] = ours
                    return "params %d, max abs diff %.2e" % (total, diff)
                attempt(case["name"], good)
            else:
                attempt(case["name"], lambda case=case: check_refusal(args.lstmad, case, tmp))

        def hard_sigmoid_versions():
            k2, k3 = outputs.get("k215_options.h5"), outputs.get("k35_options.keras")
            if k2 is None or k3 is None:
                raise Failure("hard_sigmoid: a case above failed")
            # Each already matched its own reference to 1e-5; a gap well above twice that
            # shows the two definitions were told apart (about 1e-3 here).
            gap = float(np.abs(k2 - k3).max())
            if gap < 10 * TOLERANCE:
                raise Failure("hard_sigmoid: Keras 2 and 3 files give the same numbers")
            return "Keras 2 vs 3 outputs differ by up to %.3g" % gap
        attempt("hard_sigmoid_depends_on_version", hard_sigmoid_versions)
        attempt("calibrate_standard_p99.5", lambda: "threshold %.6g (NumPy %.6g)" % check_calibration(
            args.lstmad, os.path.join(fixtures, "k215_seq.h5"), tmp, rng))
    if failures:
        print("%d check(s) failed" % failures)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
