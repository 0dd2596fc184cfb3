// Fuzzes the Keras importer (keras/import.h) on a file's bytes: legacy HDF5
// (read from memory as an HDF5 file image), the .keras zip and anything else.
// The bytes go through ImportKerasModelFromBytes, the entry point
// ImportKerasModel reads files into, with no scratch file.
//
// The importer needs the feature names (one per input feature) and, for a
// model with an open input length, the window length; the harness learns both
// from the importer's own refusal ("the model takes N features", "open
// (None)") and imports again, so that mutated files get past those checks.
//
// Properties: LooksLikeKerasFile depends on the first 8 bytes only, and every
// accepted file looks like one (the daemon routes model files by it); a
// rejection is a Status whose message starts with the source name and says
// more; an accepted model is what the importer promises (the given features,
// identity scaler, threshold 0, spec "none", the source in its metadata),
// passes Model::Validate (the daemon's check), builds a network, and, when
// small enough to run quickly, scores a window into an output of the input's
// shape that is finite whenever interval arithmetic over its weights bounds
// every layer's values well inside float range.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "lstmad/core/architecture.h"
#include "lstmad/core/model.h"
#include "lstmad/core/network.h"
#include "lstmad/keras/import.h"

namespace {

namespace core = lstmad::core;
namespace keras = lstmad::keras;

constexpr char kSource[] = "fuzz.keras";
// Multiply-adds a forward pass may cost before it is skipped (well under a
// millisecond), and the most features the harness retries with.
constexpr int64_t kMaxForwardCost = int64_t{1} << 20;
constexpr int kMaxRetryFeatures = 4096;
// The window length given to models whose input length is open.
constexpr int kOpenTimesteps = 5;
// Bounds on |value| below which float arithmetic cannot overflow; every
// intermediate of a forward pass is a sum of such terms.
constexpr double kSafeBound = 1e30;

std::vector<std::string> FeatureNames(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("f" + std::to_string(i));
  return names;
}

// N from "... the model takes N features, but ...", or 0.
int RequiredFeatures(const std::string& message) {
  static constexpr std::string_view kWhat = "the model takes ";
  const size_t at = message.find(kWhat);
  if (at == std::string::npos) return 0;
  const char* begin = message.data() + at + kWhat.size();
  int n = 0;
  const auto [end, ec] = std::from_chars(begin, message.data() + message.size(), n);
  if (ec != std::errc() || std::string_view(end, 10) != " features," || n < 1) return 0;
  return std::min(n, kMaxRetryFeatures + 1);
}

double MaxAbs(const core::Matrix<float>& m) {
  return m.size() == 0 ? 0.0 : static_cast<double>(m.cwiseAbs().maxCoeff());
}

bool Bounded(core::Activation a) {
  return a == core::Activation::kTanh || a == core::Activation::kSigmoid ||
         a == core::Activation::kHardSigmoid || a == core::Activation::kHardSigmoidK3;
}

// An upper bound of |value| over every layer's pre-activations and outputs
// for inputs in [-1, 1], or infinity when the layer kinds do not allow one
// (an LSTM with an unbounded activation can grow geometrically in time).
double ForwardBound(const core::Model& model) {
  const core::Architecture& arch = model.architecture;
  double bound = 1, worst = 1;
  int width = arch.features;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const core::LayerSpec& layer = arch.layers[i];
    const std::vector<core::Matrix<float>>& w = model.weights.layers[i];
    const std::vector<core::TensorShape> shapes = core::LayerTensorShapes(arch, i);
    auto max_of = [&](std::string_view name) {
      for (size_t k = 0; k < shapes.size(); ++k)
        if (shapes[k].name == name) return MaxAbs(w[k]);
      return 0.0;
    };
    switch (layer.kind) {
      case core::LayerKind::kLstm: {
        if (!Bounded(layer.activation) || !Bounded(layer.recurrent_activation)) return INFINITY;
        // z = W x + U h + b, with |h| <= 1; the gates and h stay within [-1, 1].
        worst = std::max(worst, width * max_of("kernel") * bound + layer.units * max_of("recurrent_kernel") +
                                    max_of("bias"));
        bound = 1;
        width = layer.units;
        break;
      }
      case core::LayerKind::kRepeatVector:
        break;
      case core::LayerKind::kDense: {
        const double z = width * max_of("kernel") * bound + max_of("bias");
        worst = std::max(worst, z);
        bound = Bounded(layer.activation) ? 1 : z;
        width = layer.units;
        break;
      }
      case core::LayerKind::kBatchNorm: {
        // y = gamma (x - mean) / sqrt(var + eps) + beta, feature by feature.
        const auto& gamma = w[0], & beta = w[1], & mean = w[2], & var = w[3];
        double y = 0;
        for (Eigen::Index r = 0; r < gamma.size(); ++r) {
          const double scale = std::abs(gamma(r)) / std::sqrt(static_cast<double>(var(r)) + layer.epsilon);
          y = std::max(y, scale * (bound + std::abs(mean(r))) + std::abs(beta(r)));
        }
        bound = y;
        break;
      }
    }
    worst = std::max(worst, bound);
  }
  return worst;
}

void CheckForward(const core::Model& model) {
  auto network = model.MakeNetwork();
  LSTMAD_FUZZ_CHECK(network.ok(), "an accepted model does not build: " + network.status().message());
  const core::Architecture& arch = model.architecture;
  int steps = arch.timesteps;
  for (const core::LayerSpec& layer : arch.layers) steps = std::max(steps, layer.repeat);
  if (core::TotalParamCount(arch) * steps > kMaxForwardCost) return;
  const core::Matrix<float> input = core::Matrix<float>::Constant(arch.features, arch.timesteps, 0.5f);
  core::Network<float>::Workspace workspace;
  core::Matrix<float> output;
  network->Forward(input, /*batch=*/1, &workspace, &output);
  LSTMAD_FUZZ_CHECK(output.rows() == arch.features && output.cols() == arch.timesteps,
                    "output shape differs from the input's");
  if (ForwardBound(model) < kSafeBound) {
    LSTMAD_FUZZ_CHECK(output.allFinite(), "a non-finite output from weights that bound every value");
  }
}

void CheckAccepted(const core::Model& model, const std::vector<std::string>& features, std::string_view bytes) {
  LSTMAD_FUZZ_CHECK(keras::LooksLikeKerasFile(bytes), "accepted bytes that LooksLikeKerasFile refuses");
  const core::Status valid = model.Validate();
  LSTMAD_FUZZ_CHECK(valid.ok(), "an accepted model is invalid: " + valid.message());
  LSTMAD_FUZZ_CHECK(model.feature_names == features, "the feature names differ from those given");
  LSTMAD_FUZZ_CHECK(model.architecture.timesteps >= 1, "an accepted model has no window length");
  LSTMAD_FUZZ_CHECK(model.threshold == 0 && model.threshold_spec == "none", "the threshold is not \"none\"");
  const core::Scaler& scaler = model.scaler;
  LSTMAD_FUZZ_CHECK(scaler.kind == core::ScalerKind::kNone &&
                        std::all_of(scaler.offset.begin(), scaler.offset.end(), [](double v) { return v == 0; }) &&
                        std::all_of(scaler.scale.begin(), scaler.scale.end(), [](double v) { return v == 1; }),
                    "the scaler is not the identity");
  const auto file = model.metadata.find("keras_file");
  LSTMAD_FUZZ_CHECK(file != model.metadata.end() && file->second == kSource, "metadata keras_file is not the source");
  CheckForward(model);
}

void CheckRejected(const core::Status& status) {
  const std::string& message = status.message();
  LSTMAD_FUZZ_CHECK(message.starts_with(std::string(kSource) + ": ") && message.size() > sizeof(kSource) + 2,
                    message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool looks = keras::LooksLikeKerasFile(bytes);
  LSTMAD_FUZZ_CHECK(looks == keras::LooksLikeKerasFile(bytes.substr(0, 8)),
                    "LooksLikeKerasFile reads past the first 8 bytes");

  std::vector<std::string> features = FeatureNames(1);
  keras::ImportOptions options;
  auto model = keras::ImportKerasModelFromBytes(bytes, kSource, features, options);
  // At most one retry per missing piece: the window length, then the features.
  for (int retry = 0; retry < 2 && !model.ok(); ++retry) {
    CheckRejected(model.status());
    const std::string& message = model.status().message();
    const int n = RequiredFeatures(message);
    if (options.timesteps == 0 && message.find("input length is open (None)") != std::string::npos) {
      options.timesteps = kOpenTimesteps;
    } else if (n > 0 && n <= kMaxRetryFeatures && n != static_cast<int>(features.size())) {
      features = FeatureNames(n);
    } else {
      break;
    }
    model = keras::ImportKerasModelFromBytes(bytes, kSource, features, options);
  }
  if (model.ok()) {
    CheckAccepted(*model, features, bytes);
  } else {
    CheckRejected(model.status());
  }
  return 0;
}
