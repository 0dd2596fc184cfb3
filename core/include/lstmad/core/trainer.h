// Training: backpropagation through time, MSE loss, Adam with Keras'
// defaults, shuffled mini-batches, a validation split and early stopping.
// Deterministic for a given seed. Single-threaded; one Trainer per model.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "lstmad/core/initializers.h"
#include "lstmad/core/network.h"
#include "lstmad/core/status.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {

struct TrainOptions {
  int epochs = 100;
  int batch_size = 32;
  double learning_rate = 0.001;  // Keras Adam defaults
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
  // Fraction of windows held out for validation: the last ones, unshuffled,
  // as Keras' validation_split takes them.
  double validation_split = 0.1;
  // Stop after this many epochs without a better val_loss (loss when there is
  // no validation set); 0 disables early stopping. With early stopping the
  // best epoch's weights are restored at the end (Keras'
  // restore_best_weights=True); without it the last epoch's weights stay.
  int patience = 0;
  // Polled before every mini-batch (so a long epoch can be interrupted); when
  // it returns true, Train stops and returns an error saying "cancelled", and
  // the network's weights are those of the last completed step.
  std::function<bool()> cancelled;
};

struct EpochReport {
  int epoch = 0;             // 1-based
  int epochs = 0;            // planned
  double loss = 0;           // mean training loss over the epoch's batches, weighted by size
  double val_loss = -1;      // -1 when there is no validation set
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochReport> history;
  int best_epoch = 0;
  bool stopped_early = false;
  std::vector<int> validation_windows;  // indices into the window set held out
  std::vector<int> training_windows;
};

using EpochCallback = std::function<void(const EpochReport&)>;

// MSE over all elements of the batch, and its gradient (accumulated into
// `grads`, which is zeroed first). Exposed for gradient checks.
// `trace`, when given, is reused across calls (training passes one per run).
template <typename S>
S LossAndGradients(const Network<S>& net, const Matrix<S>& batch_input, int batch,
                   Weights<S>* grads, typename Network<S>::Trace* trace = nullptr);

// Trains `net` in place on `windows` (inputs are also the targets). Shuffling
// draws from `rng`: pass the generator that initialised the weights to make
// the whole run a function of one seed.
Result<TrainResult> Train(Network<float>* net, const WindowSet<float>& windows,
                          const TrainOptions& options, Rng* rng,
                          const EpochCallback& on_epoch = {});

}  // namespace lstmad::core
