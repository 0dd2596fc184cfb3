// Internal: turning one Keras layer config into the lstmad layer that
// computes the same numbers at inference, or an error naming the layer and
// the option lstmad cannot honour.
//
// Every key of a layer's config is accounted for: honoured (units,
// activations, use_bias, return_sequences, go_backwards, epsilon...),
// ignored because it cannot change inference (initialisers, regularisers,
// constraints, dropout rates, unroll, implementation, unit_forget_bias), or
// refused by name (stateful, time_major, return_state, masking, CuDNN...).
// An unknown key is refused too: it might change the numbers.
#pragma once

#include <optional>
#include <string>

#include "lstmad/core/architecture.h"
#include "lstmad/core/status.h"
#include "model_config.h"

namespace lstmad::keras {

// The Keras version that wrote the file; it decides what `hard_sigmoid`
// means and the old default recurrent activation.
struct KerasVersion {
  std::string text;  // as recorded; empty when the file records none
  int major = -1;
  int minor = -1;
  bool known() const { return major >= 0; }
  static KerasVersion Parse(const std::string& text);  // "2.15.0", "2.2.4-tf", "3.5.0"
};

// `input` is the shape entering the layer (steps 0: a vector). Returns
// nullopt for a layer that is the identity at inference (Dropout...).
core::Result<std::optional<core::LayerSpec>> ConvertLayer(const KerasLayer& layer,
                                                          const core::LayerShape& input,
                                                          const KerasVersion& version);

}  // namespace lstmad::keras
