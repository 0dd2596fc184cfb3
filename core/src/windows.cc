#include "lstmad/core/windows.h"

namespace lstmad::core {

template <typename S>
WindowSet<S> MakeWindows(const Matrix<S>& series, int timesteps, int stride) {
  WindowSet<S> set;
  set.timesteps = timesteps;
  set.features = static_cast<int>(series.rows());
  const auto samples = static_cast<int>(series.cols());
  if (timesteps <= 0 || stride <= 0 || samples < timesteps) {
    set.data.resize(series.rows(), 0);
    return set;
  }
  set.count = (samples - timesteps) / stride + 1;
  set.data.resize(series.rows(), static_cast<Eigen::Index>(set.count) * timesteps);
  set.last_sample.resize(static_cast<size_t>(set.count));
  for (int k = 0; k < set.count; ++k) {
    const int start = k * stride;
    set.data.middleCols(static_cast<Eigen::Index>(k) * timesteps, timesteps) =
        series.middleCols(start, timesteps);
    set.last_sample[static_cast<size_t>(k)] = start + timesteps - 1;
  }
  return set;
}

template <typename S>
void GatherBatch(const WindowSet<S>& windows, const int* indices, int batch, Matrix<S>* out) {
  const int steps = windows.timesteps;
  out->resize(windows.features, static_cast<Eigen::Index>(steps) * batch);
  for (int b = 0; b < batch; ++b) {
    const Eigen::Index first = static_cast<Eigen::Index>(indices[b]) * steps;
    for (int t = 0; t < steps; ++t) {
      out->col(static_cast<Eigen::Index>(t) * batch + b) = windows.data.col(first + t);
    }
  }
}

template WindowSet<float> MakeWindows(const Matrix<float>&, int, int);
template WindowSet<double> MakeWindows(const Matrix<double>&, int, int);
template void GatherBatch(const WindowSet<float>&, const int*, int, Matrix<float>*);
template void GatherBatch(const WindowSet<double>&, const int*, int, Matrix<double>*);

}  // namespace lstmad::core
