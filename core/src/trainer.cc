#include "lstmad/core/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>


namespace lstmad::core {
namespace {

// Adam as Keras implements it: the bias correction folded into the step size,
// epsilon added to sqrt(v) (not to the corrected v).
class Adam {
 public:
  Adam(const Weights<float>& like, const TrainOptions& o)
      : m_(like.ZerosLike()), v_(like.ZerosLike()), options_(o) {}

  void Step(const Weights<float>& grads, Weights<float>* weights) {
    ++step_;
    const double b1 = options_.beta1, b2 = options_.beta2;
    const double lr = options_.learning_rate * std::sqrt(1 - std::pow(b2, step_)) /
                      (1 - std::pow(b1, step_));
    const auto lr_f = static_cast<float>(lr), eps = static_cast<float>(options_.epsilon);
    const auto one_minus_b1 = static_cast<float>(1 - b1), one_minus_b2 = static_cast<float>(1 - b2);
    for (size_t i = 0; i < weights->layers.size(); ++i) {
      for (size_t k = 0; k < weights->layers[i].size(); ++k) {
        auto g = grads.layers[i][k].array();
        auto m = m_.layers[i][k].array();
        auto v = v_.layers[i][k].array();
        m += (g - m) * one_minus_b1;
        v += (g.square() - v) * one_minus_b2;
        weights->layers[i][k].array() -= lr_f * m / (v.sqrt() + eps);
      }
    }
  }

 private:
  Weights<float> m_, v_;
  TrainOptions options_;
  int step_ = 0;
};

// Mean squared reconstruction error over `indices`, in batches.
double EvaluateLoss(const Network<float>& net, const WindowSet<float>& windows,
                    const std::vector<int>& indices) {
  constexpr int kBatch = 256;
  Network<float>::Workspace workspace;
  Matrix<float> input, output;
  double sum = 0;
  for (size_t start = 0; start < indices.size(); start += kBatch) {
    const int batch = static_cast<int>(std::min<size_t>(kBatch, indices.size() - start));
    GatherBatch(windows, indices.data() + start, batch, &input);
    net.Forward(input, batch, &workspace, &output);
    sum += (output - input).cwiseAbs2().template cast<double>().sum();
  }
  return sum / (static_cast<double>(indices.size()) * windows.timesteps * windows.features);
}

Status CheckOptions(const TrainOptions& o, const Network<float>& net, const WindowSet<float>& w) {
  if (o.epochs <= 0) return Status::Error("epochs must be positive");
  if (o.batch_size <= 0) return Status::Error("batch size must be positive");
  if (!(o.learning_rate > 0)) return Status::Error("learning rate must be positive");
  if (!(o.validation_split >= 0 && o.validation_split < 1)) {
    return Status::Error("validation split must be in [0, 1)");
  }
  if (o.patience < 0) return Status::Error("patience must be >= 0");
  const Architecture& arch = net.architecture();
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    if (arch.layers[i].kind == LayerKind::kBatchNorm) {
      return Status::Error("layer " + std::to_string(i) + " (" + arch.layers[i].name +
                           "): BatchNormalization is inference-only in lstmad; a network "
                           "holding one cannot be trained");
    }
  }
  if (w.timesteps != net.timesteps() || w.features != net.features()) {
    return Status::Error("windows of shape (" + std::to_string(w.timesteps) + ", " +
                         std::to_string(w.features) + ") for a model of input shape (" +
                         std::to_string(net.timesteps()) + ", " + std::to_string(net.features()) +
                         ")");
  }
  return Status::Ok();
}

}  // namespace

template <typename S>
S LossAndGradients(const Network<S>& net, const Matrix<S>& batch_input, int batch,
                   Weights<S>* grads, typename Network<S>::Trace* trace) {
  typename Network<S>::Trace local;
  if (trace == nullptr) trace = &local;
  Matrix<S> output;
  net.ForwardTraced(batch_input, batch, trace, &output);
  const Matrix<S> diff = output - batch_input;
  const auto n = static_cast<S>(diff.size());
  if (grads->layers.empty()) *grads = net.weights().ZerosLike();
  grads->SetZero();
  net.Backward(*trace, (S(2) / n) * diff, grads);
  return diff.squaredNorm() / n;
}

Result<TrainResult> Train(Network<float>* net, const WindowSet<float>& windows,
                          const TrainOptions& options, Rng* rng,
                          const EpochCallback& on_epoch) {
  LSTMAD_RETURN_IF_ERROR(CheckOptions(options, *net, windows));
  // Keras' validation_split: the last fraction of the samples, before shuffling.
  const auto split_at = static_cast<int>(windows.count * (1.0 - options.validation_split));
  TrainResult result;
  result.training_windows.resize(static_cast<size_t>(split_at));
  std::iota(result.training_windows.begin(), result.training_windows.end(), 0);
  for (int k = split_at; k < windows.count; ++k) result.validation_windows.push_back(k);
  if (result.training_windows.empty()) {
    return Status::Error("no training windows (" + std::to_string(windows.count) +
                         " windows, validation split " + std::to_string(options.validation_split) +
                         ")");
  }
  Adam adam(net->weights(), options);
  Weights<float> grads = net->weights().ZerosLike(), best = net->weights();
  std::vector<int> order = result.training_windows;
  Matrix<float> input;
  Network<float>::Trace trace;  // reused: its buffers keep their size across batches
  double best_monitor = INFINITY;
  int since_best = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    rng->Shuffle(order.data(), order.data() + order.size());
    double loss_sum = 0;
    for (size_t first = 0; first < order.size(); first += static_cast<size_t>(options.batch_size)) {
      const int batch = static_cast<int>(
          std::min(order.size() - first, static_cast<size_t>(options.batch_size)));
      if (options.cancelled && options.cancelled()) {
        return Status::Error("training cancelled in epoch " + std::to_string(epoch));
      }
      GatherBatch(windows, order.data() + first, batch, &input);
      loss_sum += double{LossAndGradients(*net, input, batch, &grads, &trace)} * batch;
      adam.Step(grads, &net->mutable_weights());
    }
    EpochReport report{epoch, options.epochs, loss_sum / static_cast<double>(order.size())};
    if (!result.validation_windows.empty()) {
      report.val_loss = EvaluateLoss(*net, windows, result.validation_windows);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.history.push_back(report);
    if (on_epoch) on_epoch(report);
    if (!std::isfinite(report.loss)) {
      return Status::Error("training diverged at epoch " + std::to_string(epoch) +
                           " (loss is not finite); try a lower learning rate or a scaler");
    }
    const double monitor = report.val_loss >= 0 ? report.val_loss : report.loss;
    if (monitor < best_monitor) {
      best_monitor = monitor;
      result.best_epoch = epoch;
      since_best = 0;
      if (options.patience > 0) best = net->weights();
    } else if (options.patience > 0 && ++since_best >= options.patience) {
      result.stopped_early = true;
      break;
    }
  }
  if (options.patience > 0) net->mutable_weights() = best;
  return result;
}

template float LossAndGradients(const Network<float>&, const Matrix<float>&, int, Weights<float>*,
                                Network<float>::Trace*);
template double LossAndGradients(const Network<double>&, const Matrix<double>&, int,
                                 Weights<double>*, Network<double>::Trace*);

}  // namespace lstmad::core
