// Internal: the LSTM forward and backward kernels over a batch (Keras
// semantics, gate order i, f, c, o). Used by Network; not a public header.
//
//   z_t = x_t K + h_{t-1} R + b              (K [in x 4u], R [u x 4u])
//   i = rec(z_i)  f = rec(z_f)  g = act(z_c)  o = rec(z_o)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * act(c_t)
//
// Columns are windows: x_t is [in x B], so the products are K^T x_t.
#pragma once

#include <vector>

#include "lstmad/core/architecture.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

template <typename S>
struct LstmScratch {
  Matrix<S> projection;  // K^T x + b for all steps, or once for a constant input
  Matrix<S> gates;       // [4u x B]
  Matrix<S> c;           // [u x B]
  Matrix<S> act_c;       // [u x B]
  Matrix<S> h;           // [u x B]
};

// Values of every processed timestep t, stored at columns t*B..t*B+B-1.
template <typename S>
struct LstmTrace {
  Matrix<S> pre_gates;  // z before activation [4u x T*B]
  Matrix<S> gates;      // i, f, g, o after activation [4u x T*B]
  Matrix<S> c;          // [u x T*B]
  Matrix<S> act_c;      // [u x T*B]
  Matrix<S> h;          // [u x T*B]
  bool constant_input = false;
};

// `input` is [in x T*B], or [in x B] when `constant_input` (a repeated vector).
// `output` becomes [u x T*B] with return_sequences, else [u x B].
template <typename S>
void LstmForward(const LayerSpec& spec, const std::vector<Matrix<S>>& w, const Matrix<S>& input,
                 bool constant_input, int steps, int batch, LstmScratch<S>* scratch,
                 LstmTrace<S>* trace, Matrix<S>* output);

// Accumulates parameter gradients into `grads` (same shapes as `w`) and
// writes dL/d(input) to `d_input` (shaped like the forward input).
template <typename S>
void LstmBackward(const LayerSpec& spec, const std::vector<Matrix<S>>& w, const Matrix<S>& input,
                  int steps, int batch, const LstmTrace<S>& trace, const Matrix<S>& d_output,
                  std::vector<Matrix<S>>* grads, Matrix<S>* d_input);

}  // namespace lstmad::core
