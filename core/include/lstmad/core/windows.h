// Sliding windows over a series, and the batch layout the network expects.
//
// Unlike the tutorial's `temporalize` (which skips the first lookback - 1
// samples and yields N - T - 1 windows: 5 for 9 samples and T = 3), MakeWindows
// yields every complete window: N - T + 1 with stride 1 (7 for 9 and T = 3),
// window k ending at sample k*stride + T - 1.
#pragma once

#include <vector>

#include "lstmad/core/tensor.h"

namespace lstmad::core {

// A set of equally shaped windows, window-major: window n occupies columns
// n*T .. n*T+T-1 of `data` [features x count*T].
template <typename S>
struct WindowSet {
  int timesteps = 0;
  int features = 0;
  int count = 0;
  Matrix<S> data;
  // Index into the source series of each window's last sample.
  std::vector<int> last_sample;
};

// `series` is [features x samples]. Fewer than T samples give an empty set.
template <typename S>
WindowSet<S> MakeWindows(const Matrix<S>& series, int timesteps, int stride = 1);

// Copies windows `indices[0..batch)` into `out` in the network's layout
// [features x T*batch] (column t*batch + b = step t of the b-th window).
template <typename S>
void GatherBatch(const WindowSet<S>& windows, const int* indices, int batch, Matrix<S>* out);

// The inverse of GatherBatch for one window: column t of the window `b`.
template <typename S>
inline auto BatchStep(const Matrix<S>& batch_matrix, int batch, int b, int t) {
  return batch_matrix.col(static_cast<Eigen::Index>(t) * batch + b);
}

}  // namespace lstmad::core
