// core_bench: Google Benchmark of the core engine, single-threaded.
//
//   forward/<model>/batch:<B>   Network<float>::Forward on B windows
//   train_epoch/<model>/...     one Train() epoch: 10,000 windows, batch 64,
//                               Adam, no validation split
//   sgemm/2048                  an Eigen float GEMM 2048^3: the machine's
//                               single-core peak in the same run
//   detector/observe            the daemon's per-stream detector (its default
//                               settings), per window once calibrated: what
//                               it adds to scoring a window
//   detector/calibrate:500      its self-calibration on the 500th window: a
//                               one-off cost per stream
//
// Models: the seed autoencoder (T=3, F=2) and a longer-window one (T=30, F=8),
// both with the seed's units (LSTM 128, 64 | RepeatVector | LSTM 64, 128 |
// TimeDistributed Dense F), so the two differ only in window shape; each with
// relu (the seed's choice) and tanh (what PyTorch's nn.LSTM computes).
//
// Counters: items_per_second is windows/s; GFLOP/s counts 2 x the model's
// nominal multiply-adds per window (ModelMacsPerWindow), the same figure
// bench/torch_peer.py uses, so both sides are measured against the same work.
// The training figure counts 3 x the forward's (forward + two products per
// weight in backward), the usual estimate. bench/run.sh compares with PyTorch.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lstmad/core/anomaly_score.h"

#include "lstmad/core/architecture.h"
#include "lstmad/core/denormals.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/network.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/windows.h"

namespace lstmad::bench {
namespace {

using core::Matrix;

constexpr int kTrainWindows = 10'000;
constexpr int kTrainBatch = 64;
constexpr int kGemmSize = 2048;
constexpr uint64_t kSeed = 42;

struct ModelCase {
  std::string name;
  int timesteps;
  int features;
  core::Activation activation;
};

core::Architecture Autoencoder(const ModelCase& model) {
  core::AutoencoderSpec spec;
  spec.timesteps = model.timesteps;
  spec.features = model.features;
  spec.encoder_units = {128, 64};
  spec.decoder_units = {64, 128};
  spec.activation = model.activation;
  core::Result<core::Architecture> arch = core::BuildAutoencoder(spec);
  if (!arch.ok()) {
    std::fprintf(stderr, "core_bench: %s: %s\n", model.name.c_str(), arch.status().message().c_str());
    std::exit(1);
  }
  return *arch;
}

core::Network<float> MakeNetwork(const core::Architecture& arch) {
  core::Result<core::Network<float>> net =
      core::Network<float>::Create(arch, core::InitializeWeights<float>(arch, kSeed));
  if (!net.ok()) {
    std::fprintf(stderr, "core_bench: %s\n", net.status().message().c_str());
    std::exit(1);
  }
  return std::move(net).value();
}

// Multiply-adds of one window through the model as written (Keras' and
// PyTorch's count): per LSTM step (in + u) x 4u, per Dense step in x units.
// Element-wise work is left out. Our engine projects a repeated vector once
// and skips the first step's recurrent product (h = 0), so it does less.
int64_t ModelMacsPerWindow(const core::Architecture& arch) {
  const std::vector<core::LayerShape> shapes = core::LayerOutputShapes(arch);
  int64_t macs = 0;
  core::LayerShape in{arch.timesteps, arch.features};
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const core::LayerSpec& layer = arch.layers[i];
    const int64_t steps = std::max(in.steps, 1), u = layer.units;
    switch (layer.kind) {
      case core::LayerKind::kLstm: macs += steps * (in.width + u) * 4 * u; break;
      case core::LayerKind::kDense: macs += steps * in.width * u; break;
      case core::LayerKind::kRepeatVector:
      case core::LayerKind::kBatchNorm: break;
    }
    in = shapes[i];
  }
  return macs;
}

Matrix<float> RandomNormal(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  core::Rng rng(seed);
  Matrix<float> m(rows, cols);
  for (Eigen::Index k = 0; k < m.size(); ++k) m.data()[k] = static_cast<float>(rng.Normal());
  return m;
}

void SetRates(benchmark::State& state, int64_t windows, double flops_per_window) {
  const auto done = static_cast<int64_t>(state.iterations()) * windows;
  state.SetItemsProcessed(done);
  state.counters["GFLOP"] =
      benchmark::Counter(static_cast<double>(done) * flops_per_window * 1e-9, benchmark::Counter::kIsRate);
}

// The batched forward pass over `batch` windows of random normal values,
// times `scale` plus `offset` (1 and 0: the range of the scaled training data).
void TimeForward(benchmark::State& state, const ModelCase& model, int batch, float scale, float offset) {
  const core::Architecture arch = Autoencoder(model);
  const core::Network<float> net = MakeNetwork(arch);
  const Matrix<float> input =
      (RandomNormal(arch.features, Eigen::Index{arch.timesteps} * batch, kSeed).array() * scale + offset)
          .matrix();
  core::Network<float>::Workspace workspace;
  Matrix<float> output;
  net.Forward(input, batch, &workspace, &output);  // sizes the workspace
  for (auto _ : state) {
    net.Forward(input, batch, &workspace, &output);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  SetRates(state, batch, 2.0 * static_cast<double>(ModelMacsPerWindow(arch)));
}

void BM_Forward(benchmark::State& state, const ModelCase& model, int batch) {
  TimeForward(state, model, batch, 1, 0);
}

// Windows far beyond the training range (scaled values around 20, as when a
// sensor leaves everything the model saw): the gates saturate and their
// products fall into denormals. `flush` runs it as the lstmad binary does,
// with core::FlushDenormals; without, as this benchmark's other rows do.
void BM_ForwardBeyondRange(benchmark::State& state, const ModelCase& model, bool flush) {
  std::optional<core::FlushDenormals> flushed;
  if (flush) flushed.emplace();
  TimeForward(state, model, 256, 5, 20);
}

// A smooth 8-channel series with noise, long enough for kTrainWindows windows.
core::WindowSet<float> TrainingWindows(const core::Architecture& arch) {
  const int samples = kTrainWindows + arch.timesteps - 1;
  Matrix<float> series = RandomNormal(arch.features, samples, kSeed + 1) * 0.1f;
  for (int s = 0; s < samples; ++s) {
    for (int f = 0; f < arch.features; ++f) {
      series(f, s) += static_cast<float>(std::sin(0.05 * s * (f + 1) + f));
    }
  }
  return core::MakeWindows(series, arch.timesteps);
}

void BM_TrainEpoch(benchmark::State& state, const ModelCase& model) {
  const core::Architecture arch = Autoencoder(model);
  core::Network<float> net = MakeNetwork(arch);
  const core::Weights<float> initial = net.weights();
  const core::WindowSet<float> windows = TrainingWindows(arch);
  core::TrainOptions options;
  options.epochs = 1;
  options.batch_size = kTrainBatch;
  options.validation_split = 0;
  for (auto _ : state) {
    state.PauseTiming();
    net.mutable_weights() = initial;
    core::Rng rng(kSeed);
    state.ResumeTiming();
    core::Result<core::TrainResult> result = core::Train(&net, windows, options, &rng);
    if (!result.ok()) {
      state.SkipWithError(result.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(result->history.back().loss);
  }
  SetRates(state, windows.count, 3 * 2.0 * static_cast<double>(ModelMacsPerWindow(arch)));
}

void BM_Sgemm(benchmark::State& state) {
  const Matrix<float> a = RandomNormal(kGemmSize, kGemmSize, kSeed);
  const Matrix<float> b = RandomNormal(kGemmSize, kGemmSize, kSeed + 1);
  Matrix<float> c(kGemmSize, kGemmSize);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2.0 * std::pow(double{kGemmSize}, 3) * 1e-9,
      benchmark::Counter::kIsRate);
}

// Reconstruction errors of a periodic stream, as the load generator makes
// them: a shifted sine with a little deterministic noise.
std::vector<double> DetectorErrors(int n) {
  std::vector<double> e(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    e[static_cast<size_t>(i)] = 0.01 + 0.005 * std::sin(2 * M_PI * i / 64.0) + 0.001 * std::sin(i * 12.9898);
  }
  return e;
}

core::DetectorOptions DaemonDetectorDefaults() {
  // config::DetectorSettings::Defaults(), restated: bench links core only.
  core::DetectorOptions o;
  o.threshold = core::ThresholdMode::kLikelihood;
  o.spot.risk = 1e-4;
  o.spot.initial_level = 0.98;
  o.spot.max_peaks = 200;
  o.calibration_windows = 500;
  return o;
}

// One window's verdict with the daemon's defaults (the likelihood, novel
// values), given the newest values of 8 features, as the daemon gives them.
void BM_DetectorObserve(benchmark::State& state) {
  const std::vector<double> errors = DetectorErrors(4096);
  std::vector<double> values(8 * errors.size());
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<double>(i) * 0.37);
  auto newest = [&](size_t i) { return std::span<const double>(values.data() + 8 * i, 8); };
  core::StreamDetector detector(DaemonDetectorDefaults(), 0.05, 3);
  for (size_t i = 0; i < 1000; ++i) detector.Observe(errors[i], core::Override::kNone, newest(i));  // calibrated
  size_t i = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(detector.Observe(errors[i], core::Override::kNone, newest(i)).score);
    i = i + 1 == errors.size() ? 1000 : i + 1;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DetectorCalibrate(benchmark::State& state) {
  const std::vector<double> errors = DetectorErrors(500);
  for (auto _ : state) {
    state.PauseTiming();
    core::StreamDetector detector(DaemonDetectorDefaults(), 0.05, 3);
    for (int i = 0; i < 499; ++i) detector.Observe(errors[static_cast<size_t>(i)]);
    state.ResumeTiming();
    benchmark::DoNotOptimize(detector.Observe(errors[499]).score);  // the 500th: calibrates
  }
}

void RegisterAll() {
  const std::vector<ModelCase> models = {
      {"t3f2_relu", 3, 2, core::Activation::kRelu},
      {"t3f2_tanh", 3, 2, core::Activation::kTanh},
      {"t30f8_relu", 30, 8, core::Activation::kRelu},
      {"t30f8_tanh", 30, 8, core::Activation::kTanh},
  };
  for (const ModelCase& model : models) {
    for (int batch : {1, 32, 256}) {
      benchmark::RegisterBenchmark(("forward/" + model.name + "/batch:" + std::to_string(batch)).c_str(),
                                   BM_Forward, model, batch)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (const ModelCase& model : models) {
    for (bool flush : {false, true}) {
      benchmark::RegisterBenchmark(
          ("forward_beyond_range/" + model.name + "/batch:256/flush:" + std::to_string(flush ? 1 : 0))
              .c_str(),
          BM_ForwardBeyondRange, model, flush)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  // Both cores: two threads, each with its own network copy and workspace,
  // scoring batches of 256; items/s is their sum (issue 6: >= 1.8x one thread).
  for (const ModelCase& model : models) {
    if (model.activation != core::Activation::kRelu) continue;
    benchmark::RegisterBenchmark(("forward_2threads/" + model.name + "/batch:256").c_str(), BM_Forward, model, 256)
        ->Threads(2)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const ModelCase& model : models) {
    if (model.timesteps != 30) continue;
    benchmark::RegisterBenchmark(("train_epoch/" + model.name + "/batch:64").c_str(), BM_TrainEpoch, model)
        ->UseRealTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("sgemm/2048", BM_Sgemm)->UseRealTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("detector/observe", BM_DetectorObserve)->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("detector/calibrate:500", BM_DetectorCalibrate)->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace lstmad::bench

int main(int argc, char** argv) {
  Eigen::setNbThreads(1);
  lstmad::bench::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
