// Network<S>: a validated sequential model (architecture + weights) and its
// batched forward pass.
//
// A Network is immutable after Create() except through mutable_weights(),
// which the trainer uses. Forward() is const and thread-safe as long as each
// thread passes its own Workspace; it allocates only when a Workspace first
// sees a larger batch, never in steady state.
//
// Batch layout (see architecture.h): input [features x T*B], time-major
// blocks, column t*B + b = timestep t of window b. Each LSTM layer does one
// GEMM for the input projection of all timesteps, then one GEMM per timestep
// for the recurrent term, over the whole batch. An LSTM that follows a
// RepeatVector projects the repeated vector once instead of T times.
#pragma once

#include <memory>

#include "lstmad/core/architecture.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

template <typename S>
struct LstmTrace;  // per-timestep values kept for backpropagation (internal)
template <typename S>
struct LstmScratch;  // per-layer scratch buffers (internal)

template <typename S>
class Network {
 public:
  // Per-caller scratch buffers; reuse one across calls to avoid allocation.
  class Workspace {
   public:
    Workspace();
    ~Workspace();
    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;

   private:
    friend class Network;
    struct Buffers;
    std::unique_ptr<Buffers> buffers_;
  };

  // Validates the architecture and that every tensor has the expected shape
  // and finite values; errors name the layer and tensor.
  static Result<Network> Create(Architecture arch, Weights<S> weights);

  const Architecture& architecture() const { return arch_; }
  const Weights<S>& weights() const { return weights_; }
  Weights<S>& mutable_weights() { return weights_; }

  int timesteps() const { return arch_.timesteps; }
  int features() const { return arch_.features; }
  int output_steps() const { return output_.steps; }
  int output_width() const { return output_.width; }

  // Runs `batch` windows. `input` is [features x T*batch]; `output` is
  // resized to [output_width x max(output_steps,1)*batch].
  void Forward(const Matrix<S>& input, int batch, Workspace* workspace, Matrix<S>* output) const;

  // Forward pass that records what Backward needs; training only. Reusing one
  // Trace across batches of the same size avoids reallocating its buffers.
  struct Trace;
  void ForwardTraced(const Matrix<S>& input, int batch, Trace* trace, Matrix<S>* output) const;

  // Given dL/d(output), accumulates dL/d(weights) into `grads` (same shapes
  // as weights()). `trace` must come from ForwardTraced on the same batch.
  void Backward(const Trace& trace, const Matrix<S>& d_output, Weights<S>* grads) const;

 private:
  Network(Architecture arch, Weights<S> weights);

  Architecture arch_;
  Weights<S> weights_;
  std::vector<LayerShape> shapes_;
  LayerShape output_;
};

// What ForwardTraced records: the input of every layer and, for LSTMs, the
// gate activations and cell states of every timestep.
template <typename S>
struct Network<S>::Trace {
  int batch = 0;
  std::vector<Matrix<S>> inputs;  // input of each layer (RepeatVector output kept compact)
  std::vector<std::unique_ptr<LstmTrace<S>>> lstm;  // per layer; null for non-LSTM
  std::vector<std::unique_ptr<LstmScratch<S>>> scratch;  // per layer; null for non-LSTM
  Trace();
  ~Trace();
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace lstmad::core
