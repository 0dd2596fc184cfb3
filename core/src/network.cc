#include "lstmad/core/network.h"

#include <cmath>
#include <string>

#include "lstm_kernel.h"

namespace lstmad::core {
namespace {

std::string LayerLabel(const Architecture& arch, size_t i) {
  return "layer " + std::to_string(i) + " (" + arch.layers[i].name + ")";
}

// Dense on every column: y = K^T x + b.
template <typename S>
void DenseForward(const LayerSpec& spec, const std::vector<Matrix<S>>& w, const Matrix<S>& input,
                  Matrix<S>* output) {
  output->resize(spec.units, input.cols());
  output->noalias() = w[0].transpose() * input;
  if (spec.use_bias) output->colwise() += w[1].row(0).transpose();
  ApplyActivation(spec.activation, *output, *output);
}

// BatchNormalization at inference, feature by feature (no temporaries, so the
// forward pass stays allocation-free):
//   y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta
template <typename S>
void BatchNormForward(const LayerSpec& spec, const std::vector<Matrix<S>>& w,
                      const Matrix<S>& input, Matrix<S>* output) {
  output->resize(input.rows(), input.cols());
  for (Eigen::Index r = 0; r < input.rows(); ++r) {
    const S scale = w[0](0, r) / std::sqrt(w[3](0, r) + static_cast<S>(spec.epsilon));
    output->row(r).array() = (input.row(r).array() - w[2](0, r)) * scale + w[1](0, r);
  }
}

// The tensor between two layers. A RepeatVector's output stays a compact
// [width x B] matrix when the next layer is an LSTM, which then projects it
// once; otherwise it is materialised.
template <typename S>
struct Flow {
  const Matrix<S>* value = nullptr;
  int steps = 0;
  bool constant = false;
};

template <typename S>
void Repeat(const Matrix<S>& vec, int steps, Matrix<S>* out) {
  const Eigen::Index batch = vec.cols();
  out->resize(vec.rows(), steps * batch);
  for (int t = 0; t < steps; ++t) out->middleCols(t * batch, batch) = vec;
}

bool NextIsLstm(const Architecture& arch, size_t i) {
  return i + 1 < arch.layers.size() && arch.layers[i + 1].kind == LayerKind::kLstm;
}

}  // namespace

template <typename S>
struct Network<S>::Workspace::Buffers {
  // Per layer, so that no buffer changes size between layers (which would
  // reallocate on every call).
  std::vector<Matrix<S>> outputs;
  std::vector<LstmScratch<S>> lstm;
};

template <typename S>
Network<S>::Workspace::Workspace() : buffers_(std::make_unique<Buffers>()) {}
template <typename S>
Network<S>::Workspace::~Workspace() = default;
template <typename S>
Network<S>::Workspace::Workspace(Workspace&&) noexcept = default;
template <typename S>
typename Network<S>::Workspace& Network<S>::Workspace::operator=(Workspace&&) noexcept = default;

template <typename S>
Network<S>::Trace::Trace() = default;
template <typename S>
Network<S>::Trace::~Trace() = default;

template <typename S>
Network<S>::Network(Architecture arch, Weights<S> weights)
    : arch_(std::move(arch)), weights_(std::move(weights)), shapes_(LayerOutputShapes(arch_)) {
  output_ = shapes_.back();
}

template <typename S>
Result<Network<S>> Network<S>::Create(Architecture arch, Weights<S> weights) {
  LSTMAD_RETURN_IF_ERROR(ValidateArchitecture(arch, false));
  if (weights.layers.size() != arch.layers.size()) {
    return Status::Error("weights for " + std::to_string(weights.layers.size()) +
                         " layers, architecture has " + std::to_string(arch.layers.size()));
  }
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const std::vector<TensorShape> shapes = LayerTensorShapes(arch, i);
    const auto& tensors = weights.layers[i];
    if (tensors.size() != shapes.size()) {
      return Status::Error(LayerLabel(arch, i) + ": expected " + std::to_string(shapes.size()) +
                           " weight tensors, got " + std::to_string(tensors.size()));
    }
    for (size_t k = 0; k < shapes.size(); ++k) {
      const TensorShape& want = shapes[k];
      if (tensors[k].rows() != want.rows || tensors[k].cols() != want.cols) {
        return Status::Error(LayerLabel(arch, i) + ": " + want.name + " has shape [" +
                             std::to_string(tensors[k].rows()) + ", " +
                             std::to_string(tensors[k].cols()) + "], expected [" +
                             std::to_string(want.rows) + ", " + std::to_string(want.cols) + "]");
      }
      if (!tensors[k].allFinite()) {
        return Status::Error(LayerLabel(arch, i) + ": " + want.name + " has non-finite values");
      }
    }
    if (arch.layers[i].kind == LayerKind::kBatchNorm &&
        !((tensors[3].array() + static_cast<S>(arch.layers[i].epsilon)) > S(0)).all()) {
      return Status::Error(LayerLabel(arch, i) + ": moving_variance + epsilon must be > 0");
    }
  }
  return Network(std::move(arch), std::move(weights));
}

template <typename S>
void Network<S>::Forward(const Matrix<S>& input, int batch, Workspace* workspace,
                         Matrix<S>* output) const {
  auto& buffers = *workspace->buffers_;
  buffers.outputs.resize(arch_.layers.size());
  buffers.lstm.resize(arch_.layers.size());
  Flow<S> flow{&input, arch_.timesteps, false};
  for (size_t i = 0; i < arch_.layers.size(); ++i) {
    const LayerSpec& layer = arch_.layers[i];
    Matrix<S>* out = i + 1 == arch_.layers.size() ? output : &buffers.outputs[i];
    switch (layer.kind) {
      case LayerKind::kLstm:
        LstmForward(layer, weights_.layers[i], *flow.value, flow.constant, flow.steps, batch,
                    &buffers.lstm[i], static_cast<LstmTrace<S>*>(nullptr), out);
        flow = {out, layer.return_sequences ? flow.steps : 0, false};
        break;
      case LayerKind::kRepeatVector:
        if (NextIsLstm(arch_, i)) {
          flow = {flow.value, layer.repeat, true};
          continue;
        }
        Repeat(*flow.value, layer.repeat, out);
        flow = {out, layer.repeat, false};
        break;
      case LayerKind::kDense:
        DenseForward(layer, weights_.layers[i], *flow.value, out);
        flow = {out, flow.steps, false};
        break;
      case LayerKind::kBatchNorm:
        // Never sees a compact repeated vector: that is kept only when an LSTM
        // follows the RepeatVector directly.
        BatchNormForward(layer, weights_.layers[i], *flow.value, out);
        flow = {out, flow.steps, false};
        break;
    }
  }
}

template <typename S>
void Network<S>::ForwardTraced(const Matrix<S>& input, int batch, Trace* trace,
                               Matrix<S>* output) const {
  trace->batch = batch;
  trace->inputs.resize(arch_.layers.size());
  trace->lstm.resize(arch_.layers.size());
  trace->scratch.resize(arch_.layers.size());
  Matrix<S> current = input;
  bool constant = false;
  int steps = arch_.timesteps;
  for (size_t i = 0; i < arch_.layers.size(); ++i) {
    const LayerSpec& layer = arch_.layers[i];
    trace->inputs[i] = current;
    switch (layer.kind) {
      case LayerKind::kLstm:
        if (!trace->lstm[i]) {
          trace->lstm[i] = std::make_unique<LstmTrace<S>>();
          trace->scratch[i] = std::make_unique<LstmScratch<S>>();
        }
        LstmForward(layer, weights_.layers[i], trace->inputs[i], constant, steps, batch,
                    trace->scratch[i].get(), trace->lstm[i].get(), &current);
        steps = layer.return_sequences ? steps : 0;
        constant = false;
        break;
      case LayerKind::kRepeatVector:
        steps = layer.repeat;
        constant = NextIsLstm(arch_, i);
        if (!constant) Repeat(trace->inputs[i], layer.repeat, &current);
        break;
      case LayerKind::kDense:
        DenseForward(layer, weights_.layers[i], trace->inputs[i], &current);
        break;
      case LayerKind::kBatchNorm:
        BatchNormForward(layer, weights_.layers[i], trace->inputs[i], &current);
        break;
    }
  }
  *output = std::move(current);
}

template <typename S>
void Network<S>::Backward(const Trace& trace, const Matrix<S>& d_output, Weights<S>* grads) const {
  const int batch = trace.batch;
  Matrix<S> d_current = d_output;
  Matrix<S> d_input;
  for (size_t n = arch_.layers.size(); n-- > 0;) {
    const LayerSpec& layer = arch_.layers[n];
    const Matrix<S>& input = trace.inputs[n];
    auto& g = grads->layers[n];
    switch (layer.kind) {
      case LayerKind::kLstm: {
        const int steps = n == 0 ? arch_.timesteps
                                 : (shapes_[n - 1].steps);
        LstmBackward(layer, weights_.layers[n], input, steps, batch, *trace.lstm[n], d_current,
                     &g, &d_input);
        break;
      }
      case LayerKind::kRepeatVector:
        if (d_current.cols() == batch) {
          d_input = d_current;  // the LSTM after us already summed over steps
        } else {
          d_input = Matrix<S>::Zero(d_current.rows(), batch);
          for (int t = 0; t < layer.repeat; ++t) d_input += d_current.middleCols(t * batch, batch);
        }
        break;
      case LayerKind::kDense: {
        // y = a(K^T x + b): the pre-activation is recomputed, cheap next to the LSTMs.
        Matrix<S> pre = weights_.layers[n][0].transpose() * input;
        if (layer.use_bias) pre.colwise() += weights_.layers[n][1].row(0).transpose();
        Matrix<S> post(pre.rows(), pre.cols()), deriv(pre.rows(), pre.cols());
        ApplyActivation(layer.activation, pre, post);
        ActivationDerivative(layer.activation, pre, post, deriv);
        const Matrix<S> d_pre = d_current.cwiseProduct(deriv);
        g[0].noalias() += input * d_pre.transpose();
        if (layer.use_bias) g[1].row(0) += d_pre.rowwise().sum().transpose();
        d_input.noalias() = weights_.layers[n][0] * d_pre;
        break;
      }
      case LayerKind::kBatchNorm: {
        // Frozen statistics and no parameter gradients: only dL/dx flows back.
        const auto& w = weights_.layers[n];
        d_input = d_current;
        for (Eigen::Index r = 0; r < d_input.rows(); ++r) {
          d_input.row(r) *= w[0](0, r) / std::sqrt(w[3](0, r) + static_cast<S>(layer.epsilon));
        }
        break;
      }
    }
    if (n > 0) d_current.swap(d_input);
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace lstmad::core
