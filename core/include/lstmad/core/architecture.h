// The architecture of a sequential model: an ordered list of layers with
// Keras semantics. A value type; no thread affinity.
//
// Tensors flow through the model in one of two shapes per batch of B windows:
//  - a sequence of `steps` timesteps: a matrix [width x steps*B], column
//    t*B + b holding timestep t of window b (time-major blocks);
//  - a vector: a matrix [width x B] (after an LSTM without return_sequences).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lstmad/core/activation.h"
#include "lstmad/core/status.h"

namespace lstmad::core {

enum class LayerKind {
  kLstm,          // LSTM(units, activation, recurrent_activation, return_sequences)
  kRepeatVector,  // RepeatVector(n): vector -> sequence of n steps
  kDense,         // Dense(units); applied per timestep on a sequence (TimeDistributed)
  // BatchNormalization at inference, per feature of the last axis:
  //   y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta
  // Inference only: imported from Keras; Train() refuses a network holding one.
  kBatchNorm,
};

struct LayerSpec {
  LayerKind kind = LayerKind::kLstm;
  std::string name;            // e.g. "lstm", "lstm_1", "time_distributed"
  int units = 0;               // LSTM units, Dense outputs
  int repeat = 0;              // RepeatVector n
  Activation activation = Activation::kTanh;
  Activation recurrent_activation = Activation::kSigmoid;  // LSTM only
  bool return_sequences = false;                            // LSTM only
  bool go_backwards = false;                                // LSTM only
  bool use_bias = true;
  bool time_distributed = false;  // Dense: written as TimeDistributed(Dense) (naming only)
  double epsilon = 1e-3;          // BatchNormalization only
};

struct Architecture {
  int timesteps = 0;  // input sequence length T
  int features = 0;   // input width F
  std::vector<LayerSpec> layers;
};

// The shape of one layer's output for one window (Keras' "output shape"
// without the batch dimension): steps == 0 means a vector.
struct LayerShape {
  int steps = 0;
  int width = 0;
};

// Checks that the layers chain (an LSTM needs a sequence, RepeatVector a
// vector, units > 0, ...) and that the output has the input's shape when
// `require_autoencoder` is set. Errors name the layer.
Status ValidateArchitecture(const Architecture& arch, bool require_autoencoder);

// Output shape of every layer, in order. Assumes a valid architecture.
std::vector<LayerShape> LayerOutputShapes(const Architecture& arch);

// Number of parameters of layer `index` as Keras' summary counts them
// (BatchNormalization's moving statistics included).
int64_t LayerParamCount(const Architecture& arch, size_t index);
int64_t TotalParamCount(const Architecture& arch);
// The part of TotalParamCount that Keras does not train (moving statistics).
int64_t NonTrainableParamCount(const Architecture& arch);

// The parameter tensors of a layer, in Keras' order and layout (row-major
// [rows x cols]; bias tensors are [1 x n]):
//   LSTM:  kernel [in x 4u], recurrent_kernel [u x 4u], bias [1 x 4u] (gates i, f, c, o)
//   Dense: kernel [in x units], bias [1 x units]
//   BatchNormalization: gamma, beta, moving_mean, moving_variance, each [1 x in]
struct TensorShape {
  std::string name;  // "kernel", "recurrent_kernel", "bias", "gamma", ...
  int rows = 0;
  int cols = 0;
};
std::vector<TensorShape> LayerTensorShapes(const Architecture& arch, size_t index);

// The autoencoder the project is built around (the tutorial's model):
// LSTM encoders (all but the last return sequences), RepeatVector(T), LSTM
// decoders returning sequences, TimeDistributed(Dense(F)).
struct AutoencoderSpec {
  int timesteps = 0;
  int features = 0;
  std::vector<int> encoder_units = {128, 64};
  std::vector<int> decoder_units = {64, 128};
  Activation activation = Activation::kRelu;
  Activation recurrent_activation = Activation::kSigmoid;
};
Result<Architecture> BuildAutoencoder(const AutoencoderSpec& spec);

}  // namespace lstmad::core
