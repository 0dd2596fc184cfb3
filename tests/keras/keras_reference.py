"""An independent NumPy forward pass for Keras model files, written straight from
Keras' documented semantics, for checking lstmad's importer.

It reads a legacy `.h5` (h5py: `model_config`, `model_weights/<layer>/<weight_names>`)
or a `.keras` zip (zipfile + h5py on `model.weights.h5`: `layers/<class>_<k>/.../vars/<i>`)
and computes in float64 from the stored float32 values:

    LSTM (gates i, f, c, o):   z = x_t K + h R + b
                               i = rec(z_i)  f = rec(z_f)  c~ = act(z_c)  o = rec(z_o)
                               c = f * c + i * c~;  h = o * act(c)
        go_backwards: the input sequence reversed along time; outputs in processing order
    RepeatVector(n):           (B, U) -> (B, n, U)
    Dense / TimeDistributed:   y = act(x K + b) on the last axis
    BatchNormalization:        y = gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta
    Dropout & co, InputLayer:  identity
    hard_sigmoid:              clip(0.2 x + 0.5, 0, 1) in Keras 1-2, clip(x / 6 + 0.5, 0, 1) in Keras 3

It supports only what the fixtures use and shares no code with lstmad.
"""

import io
import json
import re
import zipfile

import h5py
import numpy as np

IDENTITY = {"Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout"}


def snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def activation(name, keras_major):
    if name in (None, "linear"):
        return lambda x: x
    if name == "tanh":
        return np.tanh
    if name == "relu":
        return lambda x: np.maximum(x, 0)
    if name == "sigmoid":
        return lambda x: 1 / (1 + np.exp(-x))
    if name == "hard_sigmoid":
        if keras_major >= 3:
            return lambda x: np.clip(x / 6 + 0.5, 0, 1)
        return lambda x: np.clip(0.2 * x + 0.5, 0, 1)
    raise ValueError(name)


def decode(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def string_list(attrs, name):
    """Keras' load_attributes_from_hdf5_group: `name`, or `name0`, `name1`, ... when split."""
    if name in attrs:
        return [decode(n) for n in attrs[name]]
    out, k = [], 0
    while "%s%d" % (name, k) in attrs:
        out += [decode(n) for n in attrs["%s%d" % (name, k)]]
        k += 1
    return out


def chain(config, output=None):
    """(input shape, [layer entries from input to output])."""
    cfg = config["config"]
    if config["class_name"] == "Sequential":
        layers = cfg if isinstance(cfg, list) else cfg["layers"]
        body = [l for l in layers if l["class_name"] != "InputLayer"]
        shape = None
        for l in layers:
            c = l["config"]
            shape = shape or c.get("batch_input_shape") or c.get("batch_shape")
        return shape, body
    by_name = {l.get("name", l["config"]["name"]): l for l in cfg["layers"]}
    outs = cfg["output_layers"]
    outs = [outs] if isinstance(outs[0], str) else outs
    current = output or outs[0][0]
    path = []
    while by_name[current]["class_name"] != "InputLayer":
        layer = by_name[current]
        path.append(layer)
        node = layer["inbound_nodes"][0]
        if isinstance(node, dict):
            current = node["args"][0]["config"]["keras_history"][0]
        else:
            current = node[0][0]
    shape = by_name[current]["config"].get("batch_input_shape") or by_name[current]["config"]["batch_shape"]
    return shape, path[::-1]


class KerasFile:
    def __init__(self, path, output=None):
        if zipfile.is_zipfile(path):
            z = zipfile.ZipFile(path)
            self.config = json.loads(z.read("config.json"))
            meta = json.loads(z.read("metadata.json")) if "metadata.json" in z.namelist() else {}
            self.version = meta.get("keras_version", "0")
            self.h5 = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
            self.legacy = False
        else:
            self.h5 = h5py.File(path, "r")
            attrs = self.h5.attrs
            self.config = json.loads(decode(attrs["model_config"]))
            self.version = decode(attrs.get("keras_version", "0"))
            self.legacy = True
        self.major = int(self.version.split(".")[0])
        self.shape, self.layers = chain(self.config, output)
        cfg = self.config["config"]
        all_layers = cfg if isinstance(cfg, list) else cfg["layers"]
        # .keras: per-class ordinal over the model's whole layer list.
        counts, self.zip_path = {}, {}
        for l in all_layers:
            s = snake(l["class_name"])
            k = counts.get(s, 0)
            counts[s] = k + 1
            self.zip_path[id(l)] = "layers/" + s + ("_%d" % k if k else "")

    def _dataset(self, path):
        if path in self.h5:
            return self.h5[path]
        # tf.keras 2.15 on Windows: backslashes inside group names.
        parts = path.split("/")
        for cut in range(len(parts) - 1, 0, -1):
            head, tail = "\\".join(parts[:cut]), "/".join(parts[cut:])
            if head in self.h5 and tail in self.h5[head]:
                return self.h5[head][tail]
        raise KeyError(path)

    def weights(self, layer):
        name = layer.get("name", layer["config"]["name"])
        if self.legacy:
            group = self.h5["model_weights"][name]
            names = string_list(group.attrs, "weight_names")
            return [np.asarray(group[n], dtype=np.float64) for n in names]
        base = self.zip_path[id(layer)]
        sub = {"LSTM": "/cell/vars", "TimeDistributed": "/layer/vars"}.get(layer["class_name"], "/vars")
        out, i = [], 0
        while True:
            try:
                out.append(np.asarray(self._dataset("%s%s/%d" % (base, sub, i)), dtype=np.float64))
            except KeyError:
                return out
            i += 1

    def parameter_counts(self):
        return [sum(int(np.prod(w.shape)) for w in self.weights(l)) for l in self.layers]

    def forward(self, x):
        """x: (B, T, F) float64 -> the model's output."""
        for layer in self.layers:
            cls, c = layer["class_name"], layer["config"]
            if cls in IDENTITY:
                continue
            w = self.weights(layer)
            if cls == "LSTM":
                x = lstm(x, w, c, self.major)
            elif cls == "RepeatVector":
                x = np.repeat(x[:, None, :], c["n"], axis=1)
            elif cls in ("Dense", "TimeDistributed"):
                d = c["layer"]["config"] if cls == "TimeDistributed" else c
                y = x @ w[0] + (w[1] if d.get("use_bias", True) else 0)
                x = activation(d.get("activation", "linear"), self.major)(y)
            elif cls == "BatchNormalization":
                gamma, beta, mean, var = w
                x = gamma * (x - mean) / np.sqrt(var + c.get("epsilon", 1e-3)) + beta
            else:
                raise ValueError(cls)
        return x


def lstm(x, w, c, major):
    kernel, recurrent = w[0], w[1]
    bias = w[2] if c.get("use_bias", True) else np.zeros(kernel.shape[1])
    u = recurrent.shape[0]
    act = activation(c.get("activation", "tanh"), major)
    rec = activation(c.get("recurrent_activation", "sigmoid"), major)
    steps = range(x.shape[1])[::-1] if c.get("go_backwards") else range(x.shape[1])
    h = np.zeros((x.shape[0], u))
    cell = np.zeros((x.shape[0], u))
    outputs = []
    for t in steps:
        z = x[:, t, :] @ kernel + h @ recurrent + bias
        i, f, g, o = rec(z[:, :u]), rec(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), rec(z[:, 3 * u:])
        cell = f * cell + i * g
        h = o * act(cell)
        outputs.append(h)
    return np.stack(outputs, axis=1) if c.get("return_sequences") else h
