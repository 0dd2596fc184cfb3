#!/usr/bin/python3
"""The PyTorch peer of bench/core_bench: the same models, batches and training
epoch, single-threaded, printed as JSON (one object, "benchmarks" a list).

Run with Debian's /usr/bin/python3 (python3-torch). Debian's torch calls the
system BLAS (libblas.so.3); it is only fast with libopenblas0-pthread
installed, as scripts/install-deps.sh does. torch.set_num_threads(1) and
OPENBLAS_NUM_THREADS=1 keep it on one core like core_bench.

Models (as in core_bench.cc): LSTM 128, 64 | RepeatVector(T) | LSTM 64, 128 |
TimeDistributed Dense(F), for T=3, F=2 and T=30, F=8.
  * tanh: torch.nn.LSTM, PyTorch's own fused LSTM kernel.
  * relu: nn.LSTM only has tanh, so each relu LSTM layer is a TorchScript
    function: one GEMM projecting the inputs of all timesteps, then per
    timestep one fused addmm for the four gates (i, f, c, o) and the
    element-wise update. That is also the structure of our engine, except that
    ours projects the repeated vector after RepeatVector once where this
    projects all T copies.
Forward runs under torch.no_grad(). The training epoch is 10,000 windows of
T=30, F=8, shuffled, batch 64, MSE, Adam(lr=1e-3, eps=1e-7), as Train() does.

Names and counters match core_bench's: windows_per_second, and gflops counting
2 x the model's nominal multiply-adds per window (3 x that for training).
"""

import argparse
import json
import math
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ENCODER, DECODER = (128, 64), (64, 128)
MODELS = {"t3f2": (3, 2), "t30f8": (30, 8)}
BATCHES = (1, 32, 256)
TRAIN_WINDOWS, TRAIN_BATCH = 10_000, 64
GEMM_SIZE = 2048


@torch.jit.script
def relu_lstm_layer(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor,
                    return_sequences: bool) -> torch.Tensor:
    # x [B, T, in]; w_ih [in, 4u], w_hh [u, 4u], bias [4u] in Keras' layout;
    # gates i, f (sigmoid), c (relu), o (sigmoid).
    batch, steps = x.size(0), x.size(1)
    units = w_hh.size(0)
    projection = torch.matmul(x, w_ih) + bias
    h = torch.zeros(batch, units, dtype=x.dtype)
    c = torch.zeros(batch, units, dtype=x.dtype)
    outputs = []
    for t in range(steps):
        z = torch.addmm(projection[:, t], h, w_hh)
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.relu(g)
        h = torch.sigmoid(o) * torch.relu(c)
        if return_sequences:
            outputs.append(h)
    if return_sequences:
        return torch.stack(outputs, 1)
    return h


class ReluLstm(torch.nn.Module):
    def __init__(self, inputs, units, return_sequences):
        super().__init__()
        scale = 1.0 / math.sqrt(units)
        self.w_ih = torch.nn.Parameter(torch.empty(inputs, 4 * units).uniform_(-scale, scale))
        self.w_hh = torch.nn.Parameter(torch.empty(units, 4 * units).uniform_(-scale, scale))
        self.bias = torch.nn.Parameter(torch.zeros(4 * units))
        self.return_sequences = return_sequences

    def forward(self, x):
        return relu_lstm_layer(x, self.w_ih, self.w_hh, self.bias, self.return_sequences)


class TanhLstm(torch.nn.Module):
    def __init__(self, inputs, units, return_sequences):
        super().__init__()
        self.lstm = torch.nn.LSTM(inputs, units, batch_first=True)
        self.return_sequences = return_sequences

    def forward(self, x):
        out, (h_n, _) = self.lstm(x)
        return out if self.return_sequences else h_n[0]


class Autoencoder(torch.nn.Module):
    def __init__(self, timesteps, features, activation):
        super().__init__()
        layer = ReluLstm if activation == "relu" else TanhLstm
        self.timesteps = timesteps
        widths = (features,) + ENCODER
        self.encoder = torch.nn.ModuleList(
            layer(widths[k], u, k + 1 < len(ENCODER)) for k, u in enumerate(ENCODER))
        widths = (ENCODER[-1],) + DECODER
        self.decoder = torch.nn.ModuleList(layer(widths[k], u, True) for k, u in enumerate(DECODER))
        self.dense = torch.nn.Linear(DECODER[-1], features)

    def forward(self, x):
        for lstm in self.encoder:
            x = lstm(x)
        x = x.unsqueeze(1).expand(-1, self.timesteps, -1)  # RepeatVector
        for lstm in self.decoder:
            x = lstm(x)
        return self.dense(x)  # nn.Linear applies over the last axis: TimeDistributed


def macs_per_window(timesteps, features):
    """The model's nominal multiply-adds per window (core_bench's ModelMacsPerWindow)."""
    macs, width = 0, features
    for u in ENCODER + DECODER:
        macs += timesteps * (width + u) * 4 * u
        width = u
    return macs + timesteps * width * features


def time_call(fn, min_time):
    """Seconds per call: repeat until min_time has passed, after a warm-up."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def bench_forward(model_name, activation, batch, min_time):
    timesteps, features = MODELS[model_name]
    torch.manual_seed(42)
    model = Autoencoder(timesteps, features, activation).eval()
    x = torch.randn(batch, timesteps, features)
    with torch.no_grad():
        seconds = time_call(lambda: model(x), min_time)
    return {
        "name": f"forward/{model_name}_{activation}/batch:{batch}",
        "seconds_per_iteration": seconds,
        "windows_per_second": batch / seconds,
        "gflops": 2 * macs_per_window(timesteps, features) * batch / seconds * 1e-9,
    }


def training_windows(timesteps, features):
    """The series of core_bench's TrainingWindows in spirit: sinusoids plus noise."""
    samples = TRAIN_WINDOWS + timesteps - 1
    rng = np.random.default_rng(43)
    s = np.arange(samples)[:, None]
    f = np.arange(features)[None, :]
    series = np.sin(0.05 * s * (f + 1) + f) + 0.1 * rng.standard_normal((samples, features))
    windows = np.lib.stride_tricks.sliding_window_view(series, timesteps, axis=0)  # [N, F, T]
    return torch.from_numpy(np.ascontiguousarray(windows.transpose(0, 2, 1))).float()


def bench_train_epoch(activation):
    timesteps, features = MODELS["t30f8"]
    torch.manual_seed(42)
    model = Autoencoder(timesteps, features, activation).train()
    windows = training_windows(timesteps, features)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.MSELoss()

    def epoch():
        order = torch.randperm(windows.shape[0])
        for first in range(0, windows.shape[0], TRAIN_BATCH):
            batch = windows[order[first:first + TRAIN_BATCH]]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()

    # A short warm-up so that TorchScript's profiling runs are not timed.
    for first in range(0, 4 * TRAIN_BATCH, TRAIN_BATCH):
        batch = windows[first:first + TRAIN_BATCH]
        loss_fn(model(batch), batch).backward()
    optimizer.zero_grad(set_to_none=True)
    start = time.perf_counter()
    epoch()
    seconds = time.perf_counter() - start
    return {
        "name": f"train_epoch/t30f8_{activation}/batch:{TRAIN_BATCH}",
        "seconds_per_iteration": seconds,
        "windows_per_second": windows.shape[0] / seconds,
        "gflops": 3 * 2 * macs_per_window(timesteps, features) * windows.shape[0] / seconds * 1e-9,
    }


def bench_sgemm(min_time):
    torch.manual_seed(42)
    a, b = torch.randn(GEMM_SIZE, GEMM_SIZE), torch.randn(GEMM_SIZE, GEMM_SIZE)
    c = torch.empty(GEMM_SIZE, GEMM_SIZE)
    seconds = time_call(lambda: torch.mm(a, b, out=c), min_time)
    return {"name": f"sgemm/{GEMM_SIZE}", "seconds_per_iteration": seconds,
            "gflops": 2 * GEMM_SIZE ** 3 / seconds * 1e-9}


def main():
    parser = argparse.ArgumentParser(description="PyTorch peer of core_bench; prints JSON.")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds per forward benchmark")
    parser.add_argument("--no-train", action="store_true", help="skip the training epochs")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)

    results = []
    for model_name in MODELS:
        for activation in ("relu", "tanh"):
            for batch in BATCHES:
                results.append(bench_forward(model_name, activation, batch, args.min_time))
    if not args.no_train:
        for activation in ("relu", "tanh"):
            results.append(bench_train_epoch(activation))
    results.append(bench_sgemm(args.min_time))
    report = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
              "benchmarks": results}
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
