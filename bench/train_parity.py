#!/usr/bin/python3
"""Training parity with PyTorch: does lstmad's trainer reach the same loss?

The training benchmark (core_bench train_epoch vs torch_peer.py) times one
epoch; this checks the other half of the issue's goal, "the same final loss
within noise". Both train the benchmark's model (T=30, F=8, LSTM 128-64 /
64-128, relu, batch 64, Adam lr 1e-3, eps 1e-7, shuffled every epoch, no
validation split, no scaling) on one series written to a CSV file, from
Keras' initialisation (glorot_uniform kernels, orthogonal recurrent kernels,
zero biases with the forget gate's at 1), for --epochs epochs and --seeds
seeds each. The compared figure is the MSE of the final model over every
window (lstmad: the mean of `lstmad score`'s per-window error column;
PyTorch: the same computation in eval mode). Different seeds give different
initial weights and batch orders; "within noise" means the two means differ
by less than twice the standard error of their difference.

    bench/train_parity.py [--build build/release] [--epochs 3] [--seeds 3] [--out F.json]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import ENCODER, DECODER, TRAIN_BATCH, TRAIN_WINDOWS, Autoencoder  # noqa: E402

TIMESTEPS, FEATURES = 30, 8
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def series():
    """The series of torch_peer.py's training windows, as rows [samples, F]."""
    samples = TRAIN_WINDOWS + TIMESTEPS - 1
    rng = np.random.default_rng(43)
    s = np.arange(samples)[:, None]
    f = np.arange(FEATURES)[None, :]
    return (np.sin(0.05 * s * (f + 1) + f) + 0.1 * rng.standard_normal((samples, FEATURES))).astype(np.float32)


def keras_init(model, seed):
    """Keras' LSTM and Dense initialisers on torch_peer's relu Autoencoder."""
    g = torch.Generator().manual_seed(seed)

    def glorot(shape):
        limit = math.sqrt(6.0 / (shape[0] + shape[1]))
        return (torch.rand(shape, generator=g) * 2 - 1) * limit

    def orthogonal(rows, cols):
        a = torch.randn(max(rows, cols), min(rows, cols), generator=g)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        return q if rows >= cols else q.T

    with torch.no_grad():
        for layer in list(model.encoder) + list(model.decoder):
            inputs, four_units = layer.w_ih.shape
            units = four_units // 4
            layer.w_ih.copy_(glorot((inputs, four_units)))
            layer.w_hh.copy_(orthogonal(units, four_units))
            layer.bias.zero_()
            layer.bias[units:2 * units] = 1.0  # unit_forget_bias
        model.dense.weight.copy_(glorot((model.dense.in_features, model.dense.out_features)).T)
        model.dense.bias.zero_()


def torch_final_mse(data, epochs, seed):
    torch.manual_seed(seed)
    model = Autoencoder(TIMESTEPS, FEATURES, "relu")
    keras_init(model, seed)
    windows = torch.from_numpy(np.ascontiguousarray(
        np.lib.stride_tricks.sliding_window_view(data, TIMESTEPS, axis=0).transpose(0, 2, 1)))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.MSELoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(windows.shape[0])
        for first in range(0, windows.shape[0], TRAIN_BATCH):
            batch = windows[order[first:first + TRAIN_BATCH]]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(batch), batch).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        errors = [((model(windows[i:i + 512]) - windows[i:i + 512]) ** 2).mean(dim=(1, 2))
                  for i in range(0, windows.shape[0], 512)]
    return float(torch.cat(errors).mean())


def lstmad_final_mse(lstmad, csv, workdir, epochs, seed):
    model = os.path.join(workdir, f"parity-{seed}.lstmad")
    subprocess.run([lstmad, "train", "--data", csv, "--lookback", str(TIMESTEPS),
                    "--encoder", ",".join(map(str, ENCODER)), "--decoder", ",".join(map(str, DECODER)),
                    "--activation", "relu", "--epochs", str(epochs), "--batch-size", str(TRAIN_BATCH),
                    "--validation-split", "0", "--scaler", "none", "--seed", str(seed), "--out", model],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([lstmad, "score", "--model", model, "--data", csv, "--threshold-mode", "fixed"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    column = out[0].split(",").index("error")
    errors = [float(row.split(",")[column]) for row in out[1:] if row]
    if len(errors) != TRAIN_WINDOWS:
        raise RuntimeError(f"lstmad score gave {len(errors)} windows, expected {TRAIN_WINDOWS}")
    return sum(errors) / len(errors)


def summary(values):
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", help="write the figures here as JSON")
    args = p.parse_args()
    if not 1 <= args.epochs <= 100 or not 2 <= args.seeds <= 20:
        p.error("--epochs must be in [1, 100], --seeds in [2, 20]")
    lstmad = os.path.join(args.build, "tools", "lstmad")
    if not os.access(lstmad, os.X_OK):
        sys.exit(f"train_parity.py: {lstmad} is missing; build the lstmad target")
    torch.set_num_threads(1)
    data = series()
    ours, theirs = [], []
    with tempfile.TemporaryDirectory(prefix="lstmad-parity-") as workdir:
        csv = os.path.join(workdir, "series.csv")
        header = ",".join(f"f{i}" for i in range(FEATURES))
        np.savetxt(csv, data, delimiter=",", header=header, comments="", fmt="%.9g")
        for seed in range(1, args.seeds + 1):
            start = time.perf_counter()
            ours.append(lstmad_final_mse(lstmad, csv, workdir, args.epochs, seed))
            mid = time.perf_counter()
            theirs.append(torch_final_mse(data, args.epochs, seed))
            print(f"seed {seed}: lstmad {ours[-1]:.6f} ({mid - start:.1f} s), "
                  f"PyTorch {theirs[-1]:.6f} ({time.perf_counter() - mid:.1f} s)", file=sys.stderr)
    (m1, s1), (m2, s2) = summary(ours), summary(theirs)
    stderr = math.sqrt(s1 ** 2 / len(ours) + s2 ** 2 / len(theirs))
    within = abs(m1 - m2) <= 2 * stderr
    print(f"\ntraining parity (T=30 F=8 relu, batch {TRAIN_BATCH}, {args.epochs} epochs, "
          f"{args.seeds} seeds; MSE of the final model over all {TRAIN_WINDOWS} windows)")
    print(f"  lstmad   {m1:.6f} +- {s1:.6f}   {' '.join(f'{v:.6f}' for v in ours)}")
    print(f"  PyTorch  {m2:.6f} +- {s2:.6f}   {' '.join(f'{v:.6f}' for v in theirs)}")
    print(f"  ratio {m1 / m2:.3f}; difference {m1 - m2:+.6f}, 2 x its standard error {2 * stderr:.6f}: "
          f"{'same final loss within noise' if within else 'DIFFERENT beyond noise'}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"epochs": args.epochs, "lstmad": ours, "pytorch": theirs, "within_noise": within}, f,
                      indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
