// Importing an LSTM autoencoder trained in Keras (`model.save(...)`) as an
// lstmad Model, without TensorFlow. See docs/keras-import.md.
//
// Both formats Keras writes are read: legacy HDF5 (`.h5`: the JSON
// `model_config` attribute and the `model_weights` group) and the Keras 3 /
// tf.keras 2.13+ `.keras` zip (config.json, metadata.json,
// model.weights.h5). The format is told by the bytes, not the file name.
//
// The architecture comes from the file's own model config: a Sequential or
// functional chain of LSTM, RepeatVector, Dense, TimeDistributed(Dense) and
// BatchNormalization, with InputLayer and Dropout skipped. Every layer option
// that changes the numbers is honoured or refused by name; weights are read
// through `weight_names` (legacy) or the per-class ordinal paths (`.keras`).
// Every error names the file and, where there is one, the layer.
//
// The imported Model has an identity scaler and threshold 0 (spec "none"):
// calibrate it (calibration.h) before scoring. Input is untrusted; a bad
// file gives an error, never a crash.
//
// Thread-safety: callable from any thread; calls are serialised on one
// process-wide mutex, because Debian's HDF5 library is not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/model.h"
#include "lstmad/core/status.h"

namespace lstmad::keras {

struct ImportOptions {
  // Functional models with several outputs: the name of the output layer
  // whose value is the reconstruction (the chain from the input to it is
  // imported, the other branches ignored). Empty: the model must have one.
  std::string output;
  // The window length when the model's input leaves it open (None). 0: the
  // file must fix it; otherwise it must be 0 or agree with the file.
  int timesteps = 0;
};

// Refuses files larger than this before reading them.
inline constexpr uint64_t kMaxKerasFileBytes = uint64_t{2} << 30;

// `features` names the model's input features, in order; there must be as
// many as the model's input width.
core::Result<core::Model> ImportKerasModel(const std::string& path,
                                           const std::vector<std::string>& features,
                                           const ImportOptions& options = {});

// The same on a file's bytes; `source` names it in errors (for fuzzing and
// for callers that already hold the bytes).
core::Result<core::Model> ImportKerasModelFromBytes(std::string_view bytes,
                                                    const std::string& source,
                                                    const std::vector<std::string>& features,
                                                    const ImportOptions& options = {});

// Whether `head` (the first bytes of a file, 8 are enough) starts like a
// Keras model file: an HDF5 signature at offset 0 or a zip archive. An lstmad
// model file does not.
bool LooksLikeKerasFile(std::string_view head);

}  // namespace lstmad::keras
