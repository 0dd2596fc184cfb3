"""Writes the seed corpus of the `keras` fuzz target (fuzz/corpus/keras/).

The files come from the importer's own fixtures (tests/keras/make_fixtures.py,
Keras files written with h5py and zipfile the way Keras writes them), with
fewer units than the tests use so that each seed stays around 10 KB: small
inputs make more executions per second, and the mutations reach the same
parsers. Most are written with HDF5's newer object formats (libver="latest",
compact groups, which also keeps them small); `seq_v0.h5` keeps the layout
Keras itself writes. Rerun after changing the fixtures:

    /usr/bin/python3 fuzz/make_keras_seeds.py fuzz/corpus/keras
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "keras"))
import h5py  # noqa: E402
import make_fixtures as fx  # noqa: E402

_File = h5py.File


class _LatestFile(_File):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("libver", "latest")
        super().__init__(*args, **kwargs)


def small_autoencoder(t=3, f=2, units=2):
    return fx.autoencoder(t=t, f=f, units=units)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    # Keras' own (version 0) HDF5 layout for one seed.
    fx.write_legacy(os.path.join(outdir, "seq_v0.h5"),
                    fx.sequential(small_autoencoder(), (3, 2), "k2", seed=1), "2.15.0")
    fx.h5py.File = _LatestFile
    try:
        fx.write_legacy(os.path.join(outdir, "seq.h5"),
                        fx.sequential(small_autoencoder(), (3, 2), "k2", seed=1), "2.15.0")
        fx.write_keras(os.path.join(outdir, "seq_k3.keras"),
                       fx.sequential(small_autoencoder(), (3, 2), "k3", seed=1), "3.5.0")
        fx.write_keras(os.path.join(outdir, "seq_k215_windows.keras"),
                       fx.sequential(small_autoencoder(), (3, 2), "k2", seed=1), "2.15.0", windows=True)
        fx.write_legacy(os.path.join(outdir, "open_timesteps.h5"),
                        fx.sequential(small_autoencoder(), (None, 2), "k2", seed=4), "2.15.0")
        fx.write_legacy(os.path.join(outdir, "bare_list_fixed_strings.h5"),
                        fx.sequential([fx.lstm("lstm_1", 2, rec="hard_sigmoid"), fx.repeat("repeat_vector_1", 3),
                                       fx.lstm("lstm_2", 2, rec="hard_sigmoid", seq=True),
                                       fx.dense("time_distributed_1", 2, td=True)], (3, 2), "k2", seed=3,
                                      form="bare_list"), "2.0.8", naming="2.2", strings="fixed")
        options = [fx.lstm("lstm", 3, act="relu", rec="hard_sigmoid", back=True, bias=False, implementation=1,
                           unit_forget_bias=False, unroll=True, dropout=0.3),
                   fx.repeat("repeat_vector", 3),
                   fx.lstm("lstm_1", 2, act="sigmoid", rec="hard_sigmoid", seq=True),
                   fx.dense("time_distributed", 2, act="sigmoid", bias=False, td=True)]
        fx.write_legacy(os.path.join(outdir, "options.h5"), fx.sequential(options, (3, 2), "k2", seed=5), "2.15.0")
        fx.write_keras(os.path.join(outdir, "options_k3.keras"), fx.sequential(options, (3, 2), "k3", seed=5),
                       "3.5.0")
        fx.write_legacy(os.path.join(outdir, "functional_bn.h5"),
                        fx.functional([(fx.lstm("lstm", 2, seq=True), ["input_1"]),
                                       (fx.batchnorm("batch_normalization", axis=[2]), ["lstm"]),
                                       (fx.lstm("lstm_1", 2, act="relu"), ["batch_normalization"]),
                                       (fx.repeat("repeat_vector", 3), ["lstm_1"]),
                                       (fx.dropout("dropout"), ["repeat_vector"]),
                                       (fx.dense("time_distributed", 2, td=True), ["dropout"])],
                                      (3, 2), "input_1", ["time_distributed"], "k2", seed=7),
                        "2.12.0", naming="2.12")
        # Refusals the importer's tests make, taken as they are.
        with tempfile.TemporaryDirectory() as tmp:
            fx.build_all(tmp)
            for name in ["nan_weight.h5", "truncated.h5", "bad_json.h5", "zip_without_weights.keras",
                         "gru.h5", "not_hdf5.h5"]:
                shutil.copy(os.path.join(tmp, name), os.path.join(outdir, "refused_" + name))
    finally:
        fx.h5py.File = _File


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "keras"))
