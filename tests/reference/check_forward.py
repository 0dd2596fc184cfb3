#!/usr/bin/python3
"""Checks lstmad's forward pass against independent references.

Run with Debian's /usr/bin/python3 (it has numpy and torch):

    /usr/bin/python3 check_forward.py --binary build/.../ref_forward

For every case below, random float32 weights (NumPy, fixed seed, uniform in
[-0.5, 0.5]) and random inputs are written to a text file, `ref_forward` runs
Network<float>::Forward on it, and its output is compared with:

  * PyTorch, for models whose LSTMs use activation tanh and recurrent
    activation sigmoid (the only ones nn.LSTM computes). Keras' kernel
    [in x 4u] becomes weight_ih = kernel.T, the recurrent kernel weight_hh =
    recurrent.T, bias_ih = bias and bias_hh = 0 (PyTorch adds two bias
    vectors; Keras has one). PyTorch's gate order i, f, g, o is Keras' i, f,
    c, o. go_backwards feeds the sequence reversed along time and keeps the
    outputs in processing order, as Keras returns them. RepeatVector is an
    expand, TimeDistributed(Dense) an nn.Linear over the last axis.
  * A plain NumPy implementation written straight from Keras' equations, for
    every model (the only reference for relu and the other activations):
        z = x_t K + h R + b;  i = rec(z_i)  f = rec(z_f)  c~ = act(z_c)  o = rec(z_o)
        c = f * c + i * c~;   h = o * act(c)
        hard_sigmoid = clip(0.2 x + 0.5, 0, 1)   (Keras 2)
        hard_sigmoid_k3 = clip(x / 6 + 0.5, 0, 1) (Keras 3)

Both references compute in float64 from the exact float32 values, so the
difference is lstmad's float32 error alone. Where both apply they must agree
with each other to 1e-9 (a check of the references themselves). The same file
is also run through Network<double> (`ref_forward --double`), which must agree
with NumPy to 1e-9 relative to the output's magnitude: a wrong formula shows
there even when its effect is small next to float32 rounding.

relu LSTMs are unbounded: the T=30 relu autoencoder with weights in
[-0.5, 0.5] reaches outputs of 1e4..1e6 on some windows, where float32
rounding amplified by the growth exceeds any absolute tolerance (Network<double>
still agrees to 1e-9 relative). That case uses weights in [-0.3, 0.3], which
keep its outputs below 1 like the other cases.

Exits non-zero with a message naming the case when any max abs difference
reaches 1e-5 (float) or the double check fails. The file format ref_forward reads and writes is described at
the top of ref_forward.cc.
"""

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

TOLERANCE = 1e-5            # ours (float32) vs a float64 reference, absolute
DOUBLE_TOLERANCE = 1e-9     # ours (double) vs NumPy, relative to max(1, max |ref|)
REFERENCE_AGREEMENT = 1e-9  # NumPy vs PyTorch, both float64
BATCHES = (1, 7, 64)


# --- models -----------------------------------------------------------------

@dataclasses.dataclass
class Layer:
    kind: str                      # lstm | repeat_vector | dense
    units: int = 0
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    return_sequences: bool = False
    go_backwards: bool = False
    use_bias: bool = True
    repeat: int = 0


@dataclasses.dataclass
class Case:
    name: str
    timesteps: int
    features: int
    layers: list
    seed: int
    weight_scale: float = 0.5  # weights uniform in [-scale, scale]


def lstm(units, act="tanh", rec="sigmoid", seq=False, back=False, bias=True):
    return Layer("lstm", units, act, rec, seq, back, bias)


def dense(units, act="linear", bias=True):
    return Layer("dense", units, act, use_bias=bias)


def autoencoder(timesteps, features, encoder, decoder, act, bias=True):
    layers = [lstm(u, act, seq=k + 1 < len(encoder), bias=bias) for k, u in enumerate(encoder)]
    layers.append(Layer("repeat_vector", repeat=timesteps))
    layers += [lstm(u, act, seq=True, bias=bias) for u in decoder]
    layers.append(dense(features, bias=bias))
    return layers


def cases():
    seed = iter(range(1000, 2000))
    out = []

    def add(name, t, f, layers, scale=0.5):
        out.append(Case(name, t, f, layers, next(seed), scale))

    for act in ("relu", "tanh"):
        add(f"seed_ae_t3f2_{act}", 3, 2, autoencoder(3, 2, [128, 64], [64, 128], act))
        add(f"ae_t30f8_{act}", 30, 8, autoencoder(30, 8, [32, 16], [16, 32], act),
            0.3 if act == "relu" else 0.5)  # see the docstring: relu explodes at 0.5
        for seq in (True, False):
            for back in (False, True):
                add(f"lstm_{act}_seq{int(seq)}_back{int(back)}", 5, 3, [lstm(8, act, seq=seq, back=back)])
    add("lstm_tanh_rec_hard_sigmoid", 6, 3, [lstm(10, "tanh", "hard_sigmoid", seq=True)])
    add("lstm_relu_rec_hard_sigmoid_last", 6, 3, [lstm(10, "relu", "hard_sigmoid")])
    add("lstm_tanh_rec_hard_sigmoid_k3", 6, 3, [lstm(10, "tanh", "hard_sigmoid_k3", seq=True)])
    add("lstm_linear_act_sigmoid_back", 6, 3, [lstm(10, "linear", "sigmoid", seq=True, back=True)])
    add("lstm_sigmoid_act", 6, 3, [lstm(10, "sigmoid", "sigmoid", seq=True)])
    add("ae_t4f3_tanh_no_bias", 4, 3, autoencoder(4, 3, [16, 8], [8, 16], "tanh", bias=False))
    add("ae_t4f3_relu_no_bias", 4, 3, autoencoder(4, 3, [16, 8], [8, 16], "relu", bias=False))
    # Dense on a vector, a materialised RepeatVector (not followed by an
    # LSTM), a Dense between LSTMs and a backwards LSTM mid-stack.
    add("mixed_tanh_dense_paths", 6, 4, [
        lstm(12, seq=True, back=True), dense(5, "relu"), lstm(7),
        dense(6, "tanh"), Layer("repeat_vector", repeat=5), dense(4, "sigmoid")])
    add("mixed_relu_hard_sigmoid", 6, 4, [
        lstm(12, "relu", seq=True), dense(5, "tanh", bias=False),
        lstm(7, "relu", "hard_sigmoid", back=True), Layer("repeat_vector", repeat=6),
        lstm(9, "relu", seq=True), dense(4)])
    return out


def tensor_shapes(case):
    """(rows, cols) of every tensor of every layer, in Keras' order."""
    shapes, width = [], case.features
    for layer in case.layers:
        if layer.kind == "lstm":
            s = [(width, 4 * layer.units), (layer.units, 4 * layer.units)]
            if layer.use_bias:
                s.append((1, 4 * layer.units))
            width = layer.units
        elif layer.kind == "dense":
            s = [(width, layer.units)] + ([(1, layer.units)] if layer.use_bias else [])
            width = layer.units
        else:
            s = []
        shapes.append(s)
    return shapes


def random_weights(case):
    rng = np.random.default_rng(case.seed)
    scale = case.weight_scale
    return [[rng.uniform(-scale, scale, size=s).astype(np.float32) for s in layer]
            for layer in tensor_shapes(case)]


def random_input(case, batch):
    rng = np.random.default_rng(case.seed * 1000 + batch)
    return rng.standard_normal((batch, case.timesteps, case.features)).astype(np.float32)


# --- NumPy reference ----------------------------------------------------------

def sigmoid(z):
    with np.errstate(over="ignore"):  # exp(-z) = inf gives the right 0
        return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": sigmoid,
    "linear": lambda z: z,
    "hard_sigmoid": lambda z: np.clip(0.2 * z + 0.5, 0.0, 1.0),
    "hard_sigmoid_k3": lambda z: np.clip(z / 6.0 + 0.5, 0.0, 1.0),
}


def numpy_lstm(layer, w, x):
    act, rec = ACTIVATIONS[layer.activation], ACTIVATIONS[layer.recurrent_activation]
    kernel, recurrent = w[0].astype(np.float64), w[1].astype(np.float64)
    bias = w[2][0].astype(np.float64) if layer.use_bias else 0.0
    u, (batch, steps, _) = layer.units, x.shape
    h, c = np.zeros((batch, u)), np.zeros((batch, u))
    outputs = []
    for t in (reversed(range(steps)) if layer.go_backwards else range(steps)):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f = rec(z[:, :u]), rec(z[:, u:2 * u])
        c_tilde, o = act(z[:, 2 * u:3 * u]), rec(z[:, 3 * u:])
        c = f * c + i * c_tilde
        h = o * act(c)
        outputs.append(h)
    return np.stack(outputs, axis=1) if layer.return_sequences else h


def numpy_forward(case, weights, x):
    y = x.astype(np.float64)
    for layer, w in zip(case.layers, weights):
        if layer.kind == "lstm":
            y = numpy_lstm(layer, w, y)
        elif layer.kind == "repeat_vector":
            y = np.repeat(y[:, None, :], layer.repeat, axis=1)
        else:
            y = y @ w[0].astype(np.float64)
            if layer.use_bias:
                y = y + w[1][0].astype(np.float64)
            y = ACTIVATIONS[layer.activation](y)
    return y


# --- PyTorch reference --------------------------------------------------------

TORCH_DENSE_ACTIVATIONS = {
    "linear": lambda z: z, "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
}


def torch_applies(case):
    for layer in case.layers:
        if layer.kind == "lstm" and (layer.activation, layer.recurrent_activation) != ("tanh", "sigmoid"):
            return False
        if layer.kind == "dense" and layer.activation not in TORCH_DENSE_ACTIVATIONS:
            return False
    return True


def torch_lstm(layer, w, x):
    module = torch.nn.LSTM(x.shape[2], layer.units, bias=layer.use_bias, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(w[0].T.astype(np.float64)))
        module.weight_hh_l0.copy_(torch.from_numpy(w[1].T.astype(np.float64)))
        if layer.use_bias:
            module.bias_ih_l0.copy_(torch.from_numpy(w[2][0].astype(np.float64)))
            module.bias_hh_l0.zero_()
    if layer.go_backwards:
        x = torch.flip(x, dims=[1])  # outputs stay in processing order, as in Keras
    out, (h_n, _) = module(x)
    return out if layer.return_sequences else h_n[0]


def torch_forward(case, weights, x):
    y = torch.from_numpy(x.astype(np.float64))
    with torch.no_grad():
        for layer, w in zip(case.layers, weights):
            if layer.kind == "lstm":
                y = torch_lstm(layer, w, y)
            elif layer.kind == "repeat_vector":
                y = y.unsqueeze(1).expand(-1, layer.repeat, -1)
            else:
                linear = torch.nn.Linear(w[0].shape[0], layer.units, bias=layer.use_bias).double()
                linear.weight.copy_(torch.from_numpy(w[0].T.astype(np.float64)))
                if layer.use_bias:
                    linear.bias.copy_(torch.from_numpy(w[1][0].astype(np.float64)))
                y = TORCH_DENSE_ACTIVATIONS[layer.activation](linear(y))
    return y.numpy()


# --- ref_forward's text files -------------------------------------------------

def format_values(array):
    return "\n".join(" ".join("%.9g" % v for v in row) for row in np.atleast_2d(array))


def write_case(path, case, weights, x):
    lines = ["lstmad-ref-forward 1", f"timesteps {case.timesteps}", f"features {case.features}",
             f"layers {len(case.layers)}"]
    for layer in case.layers:
        if layer.kind == "lstm":
            lines.append(f"lstm units={layer.units} activation={layer.activation} "
                         f"recurrent_activation={layer.recurrent_activation} "
                         f"return_sequences={int(layer.return_sequences)} "
                         f"go_backwards={int(layer.go_backwards)} use_bias={int(layer.use_bias)}")
        elif layer.kind == "repeat_vector":
            lines.append(f"repeat_vector repeat={layer.repeat}")
        else:
            lines.append(f"dense units={layer.units} activation={layer.activation} "
                         f"use_bias={int(layer.use_bias)}")
    for i, tensors in enumerate(weights):
        for k, t in enumerate(tensors):
            lines += [f"tensor {i} {k} {t.shape[0]} {t.shape[1]}", format_values(t)]
    lines += [f"input {x.shape[0]}", format_values(x.reshape(-1, case.features))]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def read_output(path):
    with open(path) as f:
        header = f.readline().split()
        if len(header) != 4 or header[0] != "output":
            raise ValueError(f"{path}: bad header {header}")
        batch, steps, width = (int(v) for v in header[1:])
        values = np.array(f.read().split(), dtype=np.float64)
    shape = (batch, steps, width) if steps > 0 else (batch, width)
    return values.reshape(shape)


def run_ours(binary, workdir, case, weights, x):
    """Returns ref_forward's output in float and in double."""
    stem = os.path.join(workdir, f"{case.name}_b{x.shape[0]}")
    write_case(stem + ".in", case, weights, x)
    outputs = []
    for flags, suffix in (([], ".out"), (["--double"], ".double.out")):
        proc = subprocess.run([binary] + flags + [stem + ".in", stem + suffix],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{case.name}: ref_forward {' '.join(flags)} failed "
                               f"({proc.returncode}): {proc.stderr.strip()}")
        outputs.append(read_output(stem + suffix))
    return outputs


# --- main ---------------------------------------------------------------------

def max_diff(a, b, what):
    if a.shape != b.shape:
        raise ValueError(f"{what}: shape {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b)))


def check_case(binary, workdir, case, batch):
    """Returns (max |ref|, diff vs numpy, diff vs torch or None, double diff, failures)."""
    weights, x = random_weights(case), random_input(case, batch)
    ours, ours_double = run_ours(binary, workdir, case, weights, x)
    reference = numpy_forward(case, weights, x)
    magnitude = float(np.max(np.abs(reference)))
    failures = []
    d_numpy = max_diff(ours, reference, case.name)
    if not d_numpy < TOLERANCE:
        failures.append(f"{case.name} batch {batch}: max |ours - numpy| = {d_numpy:.3g} >= {TOLERANCE:g}")
    d_double = max_diff(ours_double, reference, case.name)
    if not d_double < DOUBLE_TOLERANCE * max(1.0, magnitude):
        failures.append(f"{case.name} batch {batch}: double: max |ours - numpy| = {d_double:.3g} >= "
                        f"{DOUBLE_TOLERANCE:g} x max(1, {magnitude:.3g})")
    d_torch = None
    if torch_applies(case):
        peer = torch_forward(case, weights, x)
        d_torch = max_diff(ours, peer, case.name)
        if not d_torch < TOLERANCE:
            failures.append(f"{case.name} batch {batch}: max |ours - torch| = {d_torch:.3g} >= {TOLERANCE:g}")
        agreement = max_diff(reference, peer, case.name)
        if not agreement < REFERENCE_AGREEMENT:
            failures.append(f"{case.name} batch {batch}: the references disagree "
                            f"(numpy vs torch {agreement:.3g}): the test itself is wrong")
    return magnitude, d_numpy, d_torch, d_double, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True, help="path to the ref_forward executable")
    parser.add_argument("--keep", metavar="DIR", help="write the case files here and keep them")
    args = parser.parse_args()
    torch.set_num_threads(1)

    failures = []
    with tempfile.TemporaryDirectory(prefix="lstmad-ref-") as tmp:
        workdir = args.keep or tmp
        os.makedirs(workdir, exist_ok=True)
        print("max abs differences; float: Network<float>, double: Network<double>")
        print(f"{'case':36} {'batch':>5} {'max|ref|':>9} {'float-numpy':>11} {'float-torch':>11} "
              f"{'double-numpy':>12}")
        for case in cases():
            for batch in BATCHES:
                magnitude, d_numpy, d_torch, d_double, fails = check_case(args.binary, workdir, case, batch)
                torch_col = "-" if d_torch is None else f"{d_torch:.2e}"
                flag = "  FAIL" if fails else ""
                print(f"{case.name:36} {batch:5d} {magnitude:9.3g} {d_numpy:11.2e} {torch_col:>11} "
                      f"{d_double:12.2e}{flag}", flush=True)
                failures += fails
    if failures:
        print(f"\nFAILED: {len(failures)} comparison(s) over tolerance {TOLERANCE:g}:", file=sys.stderr)
        for f in failures:
            print("  " + f, file=sys.stderr)
        return 1
    print(f"\nall max abs differences below {TOLERANCE:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
