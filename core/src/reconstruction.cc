#include "lstmad/core/reconstruction.h"

#include <algorithm>

namespace lstmad::core {

template <typename S>
void ReconstructionErrors(const Matrix<S>& input, const Matrix<S>& output, int timesteps, int batch,
                          const ErrorOptions& options, Vector<S>* per_window,
                          Matrix<S>* per_feature) {
  const Eigen::Index features = options.scored_features > 0
                                    ? std::min<Eigen::Index>(options.scored_features, input.rows())
                                    : input.rows();
  const int first_step = options.last_step_only ? timesteps - 1 : 0;
  const int steps = timesteps - first_step;
  // Sum of squared differences per feature and window, over the steps scored.
  Matrix<S> sums = Matrix<S>::Zero(features, batch);
  for (int t = first_step; t < timesteps; ++t) {
    const Eigen::Index col = static_cast<Eigen::Index>(t) * batch;
    sums += (input.block(0, col, features, batch) - output.block(0, col, features, batch)).cwiseAbs2();
  }
  sums /= S(steps);
  per_window->resize(batch);
  *per_window = sums.colwise().mean().transpose();
  if (per_feature != nullptr) *per_feature = std::move(sums);
}

template void ReconstructionErrors(const Matrix<float>&, const Matrix<float>&, int, int,
                                   const ErrorOptions&, Vector<float>*, Matrix<float>*);
template void ReconstructionErrors(const Matrix<double>&, const Matrix<double>&, int, int,
                                   const ErrorOptions&, Vector<double>*, Matrix<double>*);

std::vector<double> WindowErrors(const Network<float>& net, const WindowSet<float>& windows,
                                 const std::vector<int>& indices, const ErrorOptions& options) {
  constexpr size_t kBatch = 256;
  Network<float>::Workspace workspace;
  Matrix<float> input, output;
  Vector<float> errors;
  std::vector<double> all;
  all.reserve(indices.size());
  for (size_t first = 0; first < indices.size(); first += kBatch) {
    const int batch = static_cast<int>(std::min(kBatch, indices.size() - first));
    GatherBatch(windows, indices.data() + first, batch, &input);
    net.Forward(input, batch, &workspace, &output);
    ReconstructionErrors(input, output, windows.timesteps, batch, options, &errors,
                         static_cast<Matrix<float>*>(nullptr));
    for (int b = 0; b < batch; ++b) all.push_back(errors[b]);
  }
  return all;
}

}  // namespace lstmad::core
