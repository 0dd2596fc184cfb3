#include "lstmad/core/reconstruction.h"

namespace lstmad::core {

template <typename S>
void ReconstructionErrors(const Matrix<S>& input, const Matrix<S>& output, int timesteps, int batch,
                          const ErrorOptions& options, Vector<S>* per_window,
                          Matrix<S>* per_feature) {
  const auto features = input.rows();
  const int first_step = options.last_step_only ? timesteps - 1 : 0;
  const int steps = timesteps - first_step;
  // Sum of squared differences per feature and window, over the steps scored.
  Matrix<S> sums = Matrix<S>::Zero(features, batch);
  for (int t = first_step; t < timesteps; ++t) {
    const Eigen::Index col = static_cast<Eigen::Index>(t) * batch;
    sums += (input.middleCols(col, batch) - output.middleCols(col, batch)).cwiseAbs2();
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

}  // namespace lstmad::core
