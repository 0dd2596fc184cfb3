"""Small Keras model files written the way Keras writes them, for the importer's tests.

No TensorFlow here: the files are built with h5py and zipfile in the exact layout of
the real files under ../shared/keras-models (compare with `h5dump -A` or h5py):

legacy `.h5` (Keras 2.x `model.save("m.h5")`, also Keras 3 `legacy_h5_format`):
  root attrs   backend, keras_version (str: variable-length UTF-8),
               model_config (bytes: variable-length ASCII JSON)
  /model_weights attrs  layer_names (h5py 3: variable-length ASCII; Keras <= 2.3 with
               h5py 2: fixed-length NULLPAD, exactly as long as the longest name; split
               into layer_names0, layer_names1, ... past 64 KiB), backend, keras_version
  /model_weights/<layer> attr weight_names (same string kinds; an empty float64 array
               for layers without weights) and the datasets at <layer>/<weight name>
  weight names by version: `lstm/kernel:0` (2.2.4-tf), `lstm_1/lstm_cell_1/kernel:0`
               (2.4-2.12), `lstm_1/lstm_cell/kernel:0` (2.13-2.15), Keras 3 without `:0` and
               prefixed by the model name (`sequential/lstm_1/lstm_cell/kernel`)
`.keras` zip (stored, not deflated): metadata.json and config.json (writestr, dated
  1980), model.weights.h5 with layers/<snake_case class><_k>/vars/<i> (LSTM: .../cell/vars,
  TimeDistributed: .../layer/vars), empty `vars` groups for the rest, optimizer/vars,
  vars; tf.keras 2.15 on Windows joined group names with backslashes.

`build_all(outdir)` writes every case and returns them (see CASES at the bottom).
"""

import copy
import io
import json
import os
import re
import zipfile

import h5py
import numpy as np

# --- layer descriptions ------------------------------------------------------


def lstm(name, units, act="tanh", rec="sigmoid", seq=False, back=False, bias=True, **extra):
    return dict(cls="LSTM", name=name, units=units, activation=act, recurrent_activation=rec,
                return_sequences=seq, go_backwards=back, use_bias=bias, extra=extra)


def dense(name, units, act="linear", bias=True, td=False, **extra):
    return dict(cls="TimeDistributed" if td else "Dense", name=name, units=units, activation=act,
                use_bias=bias, extra=extra)


def repeat(name, n):
    return dict(cls="RepeatVector", name=name, n=n, extra={})


def dropout(name, rate=0.2):
    return dict(cls="Dropout", name=name, rate=rate, extra={})


def batchnorm(name, axis=-1, epsilon=1e-3, **extra):
    return dict(cls="BatchNormalization", name=name, axis=axis, epsilon=epsilon, extra=extra)


def other(cls, name, **config):
    """Any other layer, with its config as given (for refusals)."""
    return dict(cls=cls, name=name, raw=config, extra={})


def initializer(cls, style, **config):
    out = {"class_name": cls, "config": config}
    if style == "k3":
        out = {"module": "keras.initializers", "class_name": cls, "config": config,
               "registered_name": None}
    return out


def dtype(style):
    if style == "k3":
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                "registered_name": None}
    return "float32"


def layer_config(d, style):
    """The {"class_name", "config"} entry Keras writes for a layer."""
    base = {"name": d["name"], "trainable": True, "dtype": dtype(style)}
    cls = d["cls"]
    if cls == "LSTM":
        c = dict(base, return_sequences=d["return_sequences"], return_state=False,
                 go_backwards=d["go_backwards"], stateful=False, unroll=False)
        if style == "k2":
            c["time_major"] = False
        else:
            c["zero_output_for_mask"] = False
        c.update(units=d["units"], activation=d["activation"],
                 recurrent_activation=d["recurrent_activation"], use_bias=d["use_bias"],
                 kernel_initializer=initializer("GlorotUniform", style, seed=None),
                 recurrent_initializer=initializer(
                     "Orthogonal" if style == "k2" else "OrthogonalInitializer", style, gain=1.0,
                     seed=None),
                 bias_initializer=initializer("Zeros", style), unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0)
        if style == "k2":
            c["implementation"] = 2
        else:
            c["seed"] = None
    elif cls in ("Dense", "TimeDistributed"):
        inner = dict(base, units=d["units"], activation=d["activation"], use_bias=d["use_bias"],
                     kernel_initializer=initializer("GlorotUniform", style, seed=None),
                     bias_initializer=initializer("Zeros", style), kernel_regularizer=None,
                     bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                     bias_constraint=None)
        if cls == "TimeDistributed":
            inner["name"] = "dense" if d["name"] == "time_distributed" else "dense_" + d["name"]
            inner.update(d["extra"].get("inner", {}))
            entry = {"class_name": "Dense", "config": inner}
            if style == "k3":
                entry = dict(module="keras.layers", registered_name=None, **entry)
            c = dict(base, layer=entry)
        else:
            c = inner
    elif cls == "RepeatVector":
        c = dict(base, n=d["n"])
    elif cls == "Dropout":
        c = dict(base, rate=d["rate"], noise_shape=None, seed=None)
    elif cls == "BatchNormalization":
        c = dict(base, axis=d["axis"], momentum=0.99, epsilon=d["epsilon"], center=True,
                 scale=True, beta_initializer=initializer("Zeros", style),
                 gamma_initializer=initializer("Ones", style),
                 moving_mean_initializer=initializer("Zeros", style),
                 moving_variance_initializer=initializer("Ones", style), beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None)
    else:
        c = dict(base, **d["raw"])
    c.update({k: v for k, v in d["extra"].items() if k not in ("drop", "inner", "call_kwargs")})
    for key in d["extra"].get("drop", ()):
        c.pop(key, None)
    entry = {"class_name": cls, "config": c}
    if style == "k3":
        entry = {"module": "keras.layers", "class_name": cls, "config": c, "registered_name": None}
    return entry


def tensors(d, width, rng):
    """[(base name, array)] of a layer fed `width` features, and its output width."""
    cls = d["cls"]
    scale = 0.4
    if cls == "LSTM":
        u = d["units"]
        out = [("kernel", rng.uniform(-scale, scale, (width, 4 * u))),
               ("recurrent_kernel", rng.uniform(-scale, scale, (u, 4 * u)))]
        if d["use_bias"]:
            out.append(("bias", rng.uniform(-scale, scale, (4 * u,))))
        return out, u
    if cls in ("Dense", "TimeDistributed"):
        u = d["units"]
        out = [("kernel", rng.uniform(-scale, scale, (width, u)))]
        if d["use_bias"]:
            out.append(("bias", rng.uniform(-scale, scale, (u,))))
        return out, u
    if cls == "BatchNormalization":
        return [("gamma", rng.uniform(0.5, 1.5, width)), ("beta", rng.uniform(-0.5, 0.5, width)),
                ("moving_mean", rng.uniform(-0.5, 0.5, width)),
                ("moving_variance", rng.uniform(0.2, 2.0, width))], width
    return [], width


# --- model configs -----------------------------------------------------------


class Model:
    """A model: its layers (in the model's layer list order), their weights, its config."""

    def __init__(self, layers, config, weights, sequential):
        self.layers, self.config, self.weights, self.sequential = layers, config, weights, sequential


def sequential(descs, shape, style, seed, form="input_layer", name="sequential"):
    rng = np.random.default_rng(seed)
    entries, weights, width = [], {}, shape[-1]
    if form == "input_layer":
        key = "batch_input_shape" if style == "k2" else "batch_shape"
        inp = {"class_name": "InputLayer",
               "config": {key: [None] + list(shape), "dtype": "float32", "sparse": False,
                          "name": descs[0]["name"] + "_input" if style == "k2" else "input_layer"}}
        if style == "k2":
            inp["config"]["ragged"] = False
        else:
            inp = dict(module="keras.layers", registered_name=None, **inp)
        entries.append(inp)
    for k, d in enumerate(descs):
        entry = layer_config(d, style)
        if k == 0 and form in ("bare_list", "first_layer"):
            entry["config"]["batch_input_shape"] = [None] + list(shape)
        entries.append(entry)
        weights[d["name"]], width = tensors(d, width, rng)
    if form == "bare_list":  # Keras 2.0
        config = {"class_name": "Sequential", "config": entries}
    else:
        config = {"class_name": "Sequential", "config": {"name": name, "layers": entries}}
    if style == "k3":
        config = {"module": "keras", "class_name": "Sequential",
                  "config": dict(config["config"], trainable=True, dtype=dtype(style)),
                  "registered_name": None}
    return Model(descs, config, weights, True)


def functional(nodes, shape, inputs, outputs, style, seed, class_name="Functional"):
    """nodes: [(desc, [inbound layer names])]; the first input layer is called `inputs`."""
    rng = np.random.default_rng(seed)
    key = "batch_input_shape" if style == "k2" else "batch_shape"
    inp = {"class_name": "InputLayer",
           "config": {key: [None] + list(shape), "dtype": "float32", "sparse": False,
                      "name": inputs},
           "name": inputs, "inbound_nodes": []}
    entries, weights, widths = [inp], {}, {inputs: shape[-1]}
    for d, inbound in nodes:
        entry = layer_config(d, style)
        entry["name"] = d["name"]
        if style == "k2":
            entry["inbound_nodes"] = [[[src, 0, 0, {}] for src in inbound]]
        else:
            kwargs = {"training": False, "mask": None} if d["cls"] == "LSTM" else {}
            kwargs.update(d["extra"].get("call_kwargs", {}))
            entry["inbound_nodes"] = [{
                "args": [{"class_name": "__keras_tensor__",
                          "config": {"shape": [None, None, None], "dtype": "float32",
                                     "keras_history": [src, 0, 0]}} for src in inbound],
                "kwargs": kwargs}]
        entries.append(entry)
        weights[d["name"]], widths[d["name"]] = tensors(d, widths[inbound[0]], rng)
    config = {"class_name": class_name,
              "config": {"name": "model", "trainable": True, "layers": entries,
                         "input_layers": [[inputs, 0, 0]],
                         "output_layers": [[o, 0, 0] for o in outputs]}}
    if style == "k3":
        config = dict(module="keras", registered_name=None, **config)
        if len(outputs) == 1:  # Keras 3 flattens a single output
            config["config"]["output_layers"] = [outputs[0], 0, 0]
    descs = [{"cls": "InputLayer", "name": inputs}] + [d for d, _ in nodes]
    return Model(descs, config, weights, False)


# --- writers -----------------------------------------------------------------


def weight_name(layer, tensor, naming, model_name, cell_index):
    d = layer
    cell = ""
    if d["cls"] == "LSTM" and naming != "2.2":
        cell = "lstm_cell/" if naming in ("2.15", "3") else (
            "lstm_cell_%d/" % cell_index if cell_index else "lstm_cell/")
    if naming == "3":
        return "%s/%s/%s%s" % (model_name, d["name"], cell, tensor)
    return "%s/%s%s:0" % (d["name"], cell, tensor)


def set_strings(attrs, name, values, strings, chunks=1):
    if not values:
        attrs[name] = np.asarray([])  # what Keras writes for no weights
        return
    encoded = [v.encode("utf8") for v in values]
    if chunks > 1:
        fixed = np.asarray(encoded)
        for k, part in enumerate(np.array_split(fixed, chunks)):
            attrs["%s%d" % (name, k)] = part
    elif strings == "fixed":
        attrs[name] = np.asarray(encoded)  # 'S<longest>', NULLPAD
    else:
        attrs[name] = encoded  # h5py 3: variable-length ASCII


def write_legacy(path, model, version, naming="2.15", strings="vlen", chunks=1, mutate=None):
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = version
        f.attrs["model_config"] = json.dumps(model.config).encode("utf8")
        g = f.create_group("model_weights")
        names = [d["name"] for d in model.layers]
        set_strings(g.attrs, "layer_names", names, strings, chunks)
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = version.encode()
        lstm_count = 0
        for d in model.layers:
            lg = g.create_group(d["name"])
            ws = model.weights.get(d["name"], [])
            cell_index = lstm_count
            if d["cls"] == "LSTM":
                lstm_count += 1
            wnames = [weight_name(d, t, naming, "sequential", cell_index) for t, _ in ws]
            set_strings(lg.attrs, "weight_names", wnames, strings, chunks)
            for n, (_, arr) in zip(wnames, ws):
                lg.create_dataset(n, data=arr.astype(np.float32))
        if naming in ("2.15", "3"):
            g.create_group("top_level_model_weights").attrs["weight_names"] = np.asarray([])
        if mutate:
            mutate(f)


def write_keras(path, model, version, windows=False, metadata=True, members=None, mutate=None):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h:
        counts = {}
        for d in model.layers:
            if model.sequential and d["cls"] == "InputLayer":
                continue
            s = snake(d["cls"])
            k = counts.get(s, 0)
            counts[s] = k + 1
            base = ["layers", s + ("_%d" % k if k else "")]
            sub = {"LSTM": ["cell"], "TimeDistributed": ["layer"]}.get(d["cls"], [])
            for parts in ([base] + ([base + sub] if sub else [])):
                group = h.create_group(("\\" if windows else "/").join(parts))
                group.create_group("vars")
            vars_group = h[("\\" if windows else "/").join(base + sub)]["vars"]
            for i, (_, arr) in enumerate(model.weights.get(d["name"], [])):
                vars_group.create_dataset(str(i), data=arr.astype(np.float32))
        h.create_group("optimizer").create_group("vars")
        h.create_group("vars")
        if mutate:
            mutate(h)
    files = members if members is not None else ["metadata.json", "config.json", "model.weights.h5"]
    # As Keras: the JSON members through ZipFile.open (dated 1980), the weights copied from
    # a file (dated when saved); all stored, not deflated.
    with zipfile.ZipFile(path, "w") as z:
        if "metadata.json" in files and metadata:
            with z.open("metadata.json", "w") as f:
                f.write(json.dumps({"keras_version": version,
                                    "date_saved": "2024-08-20@11:02:13"}).encode())
        if "config.json" in files:
            with z.open("config.json", "w") as f:
                f.write(json.dumps(model.config).encode())
        if "model.weights.h5" in files:
            z.writestr(zipfile.ZipInfo("model.weights.h5", (2024, 8, 20, 11, 2, 12)),
                       buf.getvalue())


def snake(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# --- the cases ---------------------------------------------------------------


def autoencoder(t=5, f=2, units=8):
    return [lstm("lstm", units), repeat("repeat_vector", t), lstm("lstm_1", units, seq=True),
            dense("time_distributed", f, td=True)]


def options_model(t=6, f=3):
    """Every numeric LSTM/Dense option away from its default."""
    return [lstm("lstm", 10, act="relu", rec="hard_sigmoid", back=True, bias=False,
                 implementation=1, unit_forget_bias=False, unroll=True, dropout=0.3),
            repeat("repeat_vector", t),
            lstm("lstm_1", 7, act="sigmoid", rec="hard_sigmoid", seq=True),
            dense("time_distributed", f, act="sigmoid", bias=False, td=True)]


def multi_output_nodes(k3_mask=None):
    first = lstm("lstm", 8, seq=True)
    if k3_mask is not None:
        first["extra"]["call_kwargs"] = {"mask": k3_mask}
    return [(first, ["input_layer"]), (dropout("dropout"), ["lstm"]),
            (batchnorm("batch_normalization"), ["dropout"]),
            (lstm("lstm_1", 4, act="relu"), ["batch_normalization"]),
            (repeat("repeat_vector", 6), ["lstm_1"]),
            (lstm("lstm_2", 8, seq=True, back=True), ["repeat_vector"]),
            (dense("dense", 3), ["lstm_2"]), (dense("dense_1", 2), ["lstm_1"])]


def bn_nodes():
    return [(lstm("lstm", 8, act="relu", seq=True), ["input_1"]),
            (batchnorm("batch_normalization", axis=[2]), ["lstm"]),
            (lstm("lstm_1", 4, act="relu"), ["batch_normalization"]),
            (batchnorm("batch_normalization_1", axis=[1]), ["lstm_1"]),
            (repeat("repeat_vector", 5), ["batch_normalization_1"]),
            (batchnorm("batch_normalization_2", epsilon=0.01), ["repeat_vector"]),
            (lstm("lstm_2", 8, seq=True), ["batch_normalization_2"]),
            (dropout("dropout"), ["lstm_2"]),
            (dense("time_distributed", 3, td=True), ["dropout"])]


def with_extra(descs, index, **extra):
    descs = copy.deepcopy(descs)
    descs[index]["extra"].update(extra)
    return descs


def mutate_dataset(layer, tensor, fn):
    """Returns a legacy-file mutator that rewrites one weight dataset with fn(array)."""
    def mutate(f):
        group = f["model_weights"][layer]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        name = [n for n in names if re.search(r"(^|/)%s(:0)?$" % tensor, n)][0]
        data = fn(np.asarray(group[name]))
        del group[name]
        if data is not None:
            group.create_dataset(name, data=data)
    return mutate


def set_weight_names(layer, fn):
    def mutate(f):
        group = f["model_weights"][layer]
        names = [n.encode() if isinstance(n, str) else n for n in group.attrs["weight_names"]]
        group.attrs["weight_names"] = fn(names)
    return mutate


def build_all(outdir):
    """Writes every case into `outdir`; returns [dict(name, path, args, expect, output)]."""
    cases = []

    def add(name, writer, model, *writer_args, args=(), expect="ok", output=None, **kw):
        path = os.path.join(outdir, name)
        writer(path, model, *writer_args, **kw)
        cases.append(dict(name=name, path=path, args=list(args), expect=expect, output=output))

    ae = sequential(autoencoder(), (5, 2), "k2", seed=1)
    add("k215_seq.h5", write_legacy, ae, "2.15.0")
    add("k215_seq.keras", write_keras, ae, "2.15.0")
    add("k215_windows.keras", write_keras, ae, "2.15.0", windows=True)
    add("k35_seq.keras", write_keras, sequential(autoencoder(), (5, 2), "k3", seed=1), "3.5.0")
    add("k215_chunked.h5", write_legacy, ae, "2.15.0", chunks=3)
    add("k23_first_layer_shape.h5", write_legacy,
        sequential(autoencoder(), (5, 2), "k2", seed=2, form="first_layer"), "2.3.1",
        naming="2.12")
    add("k20_bare_list.h5", write_legacy,
        sequential([lstm("lstm_1", 6, rec="hard_sigmoid"), repeat("repeat_vector_1", 4),
                    lstm("lstm_2", 6, rec="hard_sigmoid", seq=True),
                    dense("time_distributed_1", 2, td=True)], (4, 2), "k2", seed=3,
                   form="bare_list"), "2.0.8", naming="2.2", strings="fixed")
    add("k215_open_timesteps.h5", write_legacy,
        sequential(autoencoder(), (None, 2), "k2", seed=4), "2.15.0", args=["--timesteps", "5"])
    # The same options and weights read as Keras 2 and as Keras 3: hard_sigmoid differs.
    add("k215_options.h5", write_legacy, sequential(options_model(), (6, 3), "k2", seed=5),
        "2.15.0")
    add("k35_options.keras", write_keras, sequential(options_model(), (6, 3), "k3", seed=5),
        "3.5.0")
    add("k31_options_legacy.h5", write_legacy, sequential(options_model(), (6, 3), "k3", seed=5),
        "3.1.1", naming="3")
    add("k224_functional_fixed.h5", write_legacy,
        functional([(lstm("lstm", 6, rec="hard_sigmoid"), ["input_1"]),
                    (repeat("repeat_vector", 4), ["lstm"]),
                    (lstm("lstm_1", 6, act="relu", seq=True), ["repeat_vector"]),
                    (dense("time_distributed", 2, td=True), ["lstm_1"])],
                   (4, 2), "input_1", ["time_distributed"], "k2", seed=6, class_name="Model"),
        "2.2.4-tf", naming="2.2", strings="fixed")
    bn = functional(bn_nodes(), (5, 3), "input_1", ["time_distributed"], "k2", seed=7)
    add("k212_functional_bn.h5", write_legacy, bn, "2.12.0", naming="2.12")
    multi = functional(multi_output_nodes(), (6, 3), "input_layer", ["dense", "dense_1"], "k3",
                       seed=8)
    add("k35_multi_output.keras", write_keras, multi, "3.5.0", args=["--output", "dense"],
        output="dense")

    # --- refusals: each names the file, and the layer and option where there is one
    def refuse(name, model, keywords, writer=write_legacy, version="2.15.0", **kw):
        add(name, writer, model, version, expect=keywords, **kw)

    def seq(descs, style="k2", shape=(5, 2)):
        return sequential(descs, shape, style, seed=9)

    refuse("stateful.h5", seq(with_extra(autoencoder(), 0, stateful=True)), ['"lstm"', "stateful"])
    refuse("time_major.h5", seq(with_extra(autoencoder(), 2, time_major=True)),
           ['"lstm_1"', "time_major"])
    refuse("return_state.h5", seq(with_extra(autoencoder(), 0, return_state=True)),
           ['"lstm"', "return_state"])
    refuse("masking.h5", seq([other("Masking", "masking", mask_value=0.0)] + autoencoder()),
           ['"masking"', "masking is not supported"])
    refuse("mask_kwargs.keras", functional(
        multi_output_nodes(k3_mask={"class_name": "__keras_tensor__", "config": {}}), (6, 3),
        "input_layer", ["dense"], "k3", seed=8), ['"lstm"', "mask"], writer=write_keras,
        version="3.5.0")
    refuse("gru.h5", seq([other("GRU", "gru", units=8)] + autoencoder()[1:]), ['"gru"', "GRU"])
    refuse("bidirectional.h5", seq([other("Bidirectional", "bidirectional", layer={})] +
                                   autoencoder()[1:]), ["Bidirectional"])
    refuse("cudnn_class.h5", seq([other("CuDNNLSTM", "cu_dnnlstm", units=8)] + autoencoder()[1:]),
           ['"cu_dnnlstm"', "CuDNNLSTM"])
    refuse("cudnn_bias.h5", seq(autoencoder()), ['"lstm"', "CuDNNLSTM layout"],
           mutate=mutate_dataset("lstm", "bias", lambda b: np.concatenate([b, b])))
    refuse("activation_elu.h5", seq(autoencoder()[:3] + [dense("time_distributed", 2, act="elu",
                                                               td=True)]),
           ['"time_distributed"', "activation", "'elu'"])
    conv = seq(autoencoder())
    conv.config["config"]["layers"][-1]["config"]["layer"]["class_name"] = "Conv1D"
    refuse("td_conv.h5", conv, ['"time_distributed"', "Conv1D"])
    refuse("bn_center.h5", seq(autoencoder()[:3] + [batchnorm("batch_normalization", center=False),
                                                    dense("time_distributed", 2, td=True)]),
           ['"batch_normalization"', "center"])
    refuse("bn_axis.h5", seq(autoencoder()[:3] + [batchnorm("batch_normalization", axis=1),
                                                  dense("time_distributed", 2, td=True)]),
           ['"batch_normalization"', "axis"])
    refuse("unknown_option.h5", seq(with_extra(autoencoder(), 2, attention_window=3)),
           ['"lstm_1"', "attention_window"])
    refuse("dtype_int8.keras", seq(with_extra(autoencoder(), 0, dtype={
        "module": "keras", "class_name": "QuantizedDTypePolicy",
        "config": {"name": "int8_from_float32"}}), style="k3"),
        ['"lstm"', "dtype", "int8_from_float32"], writer=write_keras, version="3.5.0")
    refuse("nan_weight.h5", seq(autoencoder()), ['"lstm_1"', "recurrent_kernel", "NaN"],
           mutate=mutate_dataset("lstm_1", "recurrent_kernel",
                                 lambda a: np.where(np.arange(a.size).reshape(a.shape) == 3,
                                                    np.nan, a)))
    refuse("missing_dataset.h5", seq(autoencoder()), ['"lstm_1"', "kernel", "missing"],
           mutate=mutate_dataset("lstm_1", "kernel", lambda a: None))
    refuse("shape_mismatch.h5", seq(autoencoder()), ['"lstm"', "recurrent_kernel", "shape"],
           mutate=mutate_dataset("lstm", "recurrent_kernel", lambda a: a[:-1]))
    refuse("weight_names_count.h5", seq(autoencoder()), ['"lstm"', "weight_names lists 2"],
           mutate=set_weight_names("lstm", lambda n: n[:2]))
    refuse("swapped_weight_names.h5", seq(autoencoder()), ['"lstm"', "weight_names[0]"],
           mutate=set_weight_names("lstm", lambda n: [n[1], n[0], n[2]]))
    refuse("lstm_on_vector.h5", seq([lstm("lstm_a", 8), lstm("lstm_b", 8)] + autoencoder()[1:]),
           ["lstm_b", "sequence input"])
    refuse("features_count.h5", seq(autoencoder()), ["2 features", "1 feature name"],
           args=["--features", "a"])
    refuse("nested_model.h5", seq([other("Sequential", "inner", layers=[])] + autoencoder()),
           ['"inner"', "nested model"])
    refuse("hard_sigmoid_no_version.keras", sequential(options_model(), (6, 3), "k3", seed=5),
           ['"lstm"', "hard_sigmoid", "version"], writer=write_keras, version="3.5.0",
           metadata=False)
    refuse("two_outputs.keras", multi, ["two outputs", '"dense"', '"dense_1"', "--output"],
           writer=write_keras, version="3.5.0")
    refuse("not_autoencoder.keras", multi, ["not an autoencoder"], writer=write_keras,
           version="3.5.0", args=["--output", "dense_1"])
    merge = functional([(lstm("lstm", 4, seq=True), ["input_1"]),
                        (lstm("lstm_1", 4, seq=True), ["input_1"]),
                        (other("Add", "add"), ["lstm", "lstm_1"]),
                        (dense("time_distributed", 2, td=True), ["add"])],
                       (5, 2), "input_1", ["time_distributed"], "k2", seed=10)
    refuse("merge.h5", merge, ['"add"', "2 inputs"])
    shared = functional([(lstm("lstm", 2, seq=True), ["input_1"]),
                         (dense("time_distributed", 2, td=True), ["lstm"])],
                        (5, 2), "input_1", ["time_distributed"], "k2", seed=11)
    shared.config["config"]["layers"][1]["inbound_nodes"] *= 2
    refuse("shared.h5", shared, ['"lstm"', "called 2 times"])
    refuse("zip_without_config.keras", seq(autoencoder()), ["config.json"], writer=write_keras,
           members=["metadata.json", "model.weights.h5"])
    refuse("zip_without_weights.keras", seq(autoencoder()), ["model.weights.h5"],
           writer=write_keras, members=["metadata.json", "config.json"])
    refuse("keras_extra_var.keras", seq(autoencoder(), style="k3"),
           ['"lstm_1"', "4 variables"], writer=write_keras, version="3.5.0",
           mutate=lambda h: h["layers/lstm_1/cell/vars"].create_dataset("3", data=np.zeros(3)))

    def raw(name, data, keywords, args=()):
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(data)
        cases.append(dict(name=name, path=path, args=list(args), expect=keywords, output=None))

    raw("not_hdf5.h5", b"timestamp,x\n1,2\n", ["not a Keras model file"])
    good = open(os.path.join(outdir, "k215_seq.h5"), "rb").read()
    raw("truncated.h5", good[:len(good) // 2], ["HDF5"])
    zipped = bytearray(open(os.path.join(outdir, "k215_seq.keras"), "rb").read())
    zipped[len(zipped) // 2] ^= 0xFF  # inside model.weights.h5: a CRC error
    raw("damaged.keras", bytes(zipped), ["model.weights.h5"])
    for name, config, keywords in [
            ("bad_json.h5", b'{"class_name": "Sequential", "config": {', ["JSON error", "line 1"]),
            ("deep_json.h5", b"[" * 5000 + b"]" * 5000, ["nested deeper"]),
            ("subclassed.h5", json.dumps({"class_name": "MyModel", "config": {}}).encode(),
             ['"MyModel"', "subclassed"])]:
        path = os.path.join(outdir, name)
        write_legacy(path, ae, "2.15.0")
        with h5py.File(path, "a") as f:
            f.attrs["model_config"] = config
        cases.append(dict(name=name, path=path, args=[], expect=keywords, output=None))
    path = os.path.join(outdir, "weights_only.h5")
    write_legacy(path, ae, "2.15.0")
    with h5py.File(path, "a") as f:
        del f.attrs["model_config"]
    cases.append(dict(name="weights_only.h5", path=path, args=[], expect=["model_config"],
                      output=None))
    return cases


if __name__ == "__main__":
    import sys
    os.makedirs(sys.argv[1], exist_ok=True)
    for case in build_all(sys.argv[1]):
        print(case["name"], case["expect"] if case["expect"] != "ok" else "")
