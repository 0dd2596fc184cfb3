#include "lstm_kernel.h"

#include "lstmad/core/activation.h"

namespace lstmad::core {
namespace {

// Activates the four gate blocks of `gates` [4u x B] in place.
template <typename S>
void ActivateGates(const LayerSpec& spec, int u, Matrix<S>* gates) {
  auto& g = *gates;
  ApplyActivation(spec.recurrent_activation, g.topRows(2 * u), g.topRows(2 * u));  // i, f
  ApplyActivation(spec.activation, g.middleRows(2 * u, u), g.middleRows(2 * u, u));
  ApplyActivation(spec.recurrent_activation, g.bottomRows(u), g.bottomRows(u));  // o
}

// d(pre-activation) of the four gates from d(activated gates), in place.
template <typename S>
void GateDerivatives(const LayerSpec& spec, int u, const Eigen::Ref<const Matrix<S>>& pre,
                     const Eigen::Ref<const Matrix<S>>& post, Matrix<S>* d_gates, Matrix<S>* tmp) {
  tmp->resize(pre.rows(), pre.cols());
  ActivationDerivative(spec.recurrent_activation, pre.topRows(2 * u), post.topRows(2 * u),
                       tmp->topRows(2 * u));
  ActivationDerivative(spec.activation, pre.middleRows(2 * u, u), post.middleRows(2 * u, u),
                       tmp->middleRows(2 * u, u));
  ActivationDerivative(spec.recurrent_activation, pre.bottomRows(u), post.bottomRows(u),
                       tmp->bottomRows(u));
  d_gates->array() *= tmp->array();
}

int InputStep(const LayerSpec& spec, int t, int steps) { return spec.go_backwards ? steps - 1 - t : t; }

}  // namespace

template <typename S>
void LstmForward(const LayerSpec& spec, const std::vector<Matrix<S>>& w, const Matrix<S>& input,
                 bool constant_input, int steps, int batch, LstmScratch<S>* s, LstmTrace<S>* trace,
                 Matrix<S>* output) {
  const int u = spec.units;
  const Matrix<S>& kernel = w[0];
  const Matrix<S>& recurrent = w[1];
  const int proj_cols = constant_input ? batch : steps * batch;
  s->projection.resize(4 * u, proj_cols);
  s->projection.noalias() = kernel.transpose() * input.leftCols(proj_cols);
  if (spec.use_bias) s->projection.colwise() += w[2].row(0).transpose();
  s->gates.resize(4 * u, batch);
  s->c.setZero(u, batch);
  s->act_c.resize(u, batch);
  s->h.resize(u, batch);
  output->resize(u, spec.return_sequences ? steps * batch : batch);
  if (trace != nullptr) {
    trace->pre_gates.resize(4 * u, steps * batch);
    trace->gates.resize(4 * u, steps * batch);
    trace->c.resize(u, steps * batch);
    trace->act_c.resize(u, steps * batch);
    trace->h.resize(u, steps * batch);
    trace->constant_input = constant_input;
  }
  for (int t = 0; t < steps; ++t) {
    const int step = InputStep(spec, t, steps);
    if (constant_input) {
      s->gates = s->projection;
    } else {
      s->gates = s->projection.middleCols(step * batch, batch);
    }
    if (t > 0) s->gates.noalias() += recurrent.transpose() * s->h;
    if (trace != nullptr) trace->pre_gates.middleCols(t * batch, batch) = s->gates;
    ActivateGates(spec, u, &s->gates);
    // c = f * c + i * g;  h = o * act(c)
    s->c.array() = s->gates.middleRows(u, u).array() * s->c.array() +
                   s->gates.topRows(u).array() * s->gates.middleRows(2 * u, u).array();
    ApplyActivation(spec.activation, s->c, s->act_c);
    s->h.array() = s->gates.bottomRows(u).array() * s->act_c.array();
    if (spec.return_sequences) output->middleCols(t * batch, batch) = s->h;
    if (trace != nullptr) {
      trace->gates.middleCols(t * batch, batch) = s->gates;
      trace->c.middleCols(t * batch, batch) = s->c;
      trace->act_c.middleCols(t * batch, batch) = s->act_c;
      trace->h.middleCols(t * batch, batch) = s->h;
    }
  }
  if (!spec.return_sequences) *output = s->h;
}

template <typename S>
void LstmBackward(const LayerSpec& spec, const std::vector<Matrix<S>>& w, const Matrix<S>& input,
                  int steps, int batch, const LstmTrace<S>& trace, const Matrix<S>& d_output,
                  std::vector<Matrix<S>>* grads, Matrix<S>* d_input) {
  const int u = spec.units;
  const Matrix<S>& kernel = w[0];
  const Matrix<S>& recurrent = w[1];
  // dL/dz of every step, stored by *input* step so that the kernel gradient
  // is one product with the input in its own order.
  Matrix<S> d_pre(4 * u, steps * batch);
  Matrix<S> dh = Matrix<S>::Zero(u, batch);
  Matrix<S> dc_next = Matrix<S>::Zero(u, batch);
  Matrix<S> dc(u, batch), dz(4 * u, batch), tmp;
  for (int t = steps - 1; t >= 0; --t) {
    if (spec.return_sequences) {
      dh += d_output.middleCols(t * batch, batch);
    } else if (t == steps - 1) {
      dh += d_output;
    }
    const auto gates = trace.gates.middleCols(t * batch, batch);
    const auto i = gates.topRows(u).array();
    const auto f = gates.middleRows(u, u).array();
    const auto g = gates.middleRows(2 * u, u).array();
    const auto o = gates.bottomRows(u).array();
    // dc = dc_next + dh * o * act'(c)
    ActivationDerivative(spec.activation, trace.c.middleCols(t * batch, batch),
                         trace.act_c.middleCols(t * batch, batch), dc);
    dc.array() = dc_next.array() + dh.array() * o * dc.array();
    dz.topRows(u).array() = dc.array() * g;
    if (t > 0) {
      dz.middleRows(u, u).array() = dc.array() * trace.c.middleCols((t - 1) * batch, batch).array();
    } else {
      dz.middleRows(u, u).setZero();
    }
    dz.middleRows(2 * u, u).array() = dc.array() * i;
    dz.bottomRows(u).array() = dh.array() * trace.act_c.middleCols(t * batch, batch).array();
    dc_next.array() = dc.array() * f;
    GateDerivatives<S>(spec, u, trace.pre_gates.middleCols(t * batch, batch), gates, &dz, &tmp);
    d_pre.middleCols(InputStep(spec, t, steps) * batch, batch) = dz;
    if (t > 0) {
      (*grads)[1].noalias() += trace.h.middleCols((t - 1) * batch, batch) * dz.transpose();
      dh.noalias() = recurrent * dz;
    }
  }
  if (spec.use_bias) (*grads)[2].row(0) += d_pre.rowwise().sum().transpose();
  if (trace.constant_input) {
    Matrix<S> d_sum = Matrix<S>::Zero(4 * u, batch);
    for (int t = 0; t < steps; ++t) d_sum += d_pre.middleCols(t * batch, batch);
    (*grads)[0].noalias() += input.leftCols(batch) * d_sum.transpose();
    d_input->noalias() = kernel * d_sum;
  } else {
    (*grads)[0].noalias() += input * d_pre.transpose();
    d_input->noalias() = kernel * d_pre;
  }
}

#define LSTMAD_INSTANTIATE(S)                                                                     \
  template void LstmForward<S>(const LayerSpec&, const std::vector<Matrix<S>>&, const Matrix<S>&, \
                               bool, int, int, LstmScratch<S>*, LstmTrace<S>*, Matrix<S>*);       \
  template void LstmBackward<S>(const LayerSpec&, const std::vector<Matrix<S>>&,                  \
                                const Matrix<S>&, int, int, const LstmTrace<S>&,                  \
                                const Matrix<S>&, std::vector<Matrix<S>>*, Matrix<S>*);
LSTMAD_INSTANTIATE(float)
LSTMAD_INSTANTIATE(double)
#undef LSTMAD_INSTANTIATE

}  // namespace lstmad::core
