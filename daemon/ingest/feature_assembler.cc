#include "ingest/feature_assembler.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace lstmad::daemon {
namespace {

int64_t ToNs(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1e9)); }

}  // namespace

FeatureAssembler::FeatureAssembler(int features, const config::AssemblySettings& settings)
    : features_(features), scratch_(static_cast<size_t>(features)) {
  set_settings(settings);
}

void FeatureAssembler::set_settings(const config::AssemblySettings& settings) {
  settings_ = settings;
  tolerance_ns_ = ToNs(settings.tolerance_s);
  wait_ns_ = ToNs(settings.wait_s);
}

bool FeatureAssembler::Idle(const StreamState& state) {
  return state.pending.empty() && std::all_of(state.carried.begin(), state.carried.end(), [](int c) { return c == 0; });
}

void FeatureAssembler::Add(const PartialSample& sample, int64_t now_ns, AssemblySink* sink) {
  const auto f_count = static_cast<size_t>(features_);
  auto it = streams_.find(sample.stream);
  if (it == streams_.end()) {
    if (sample.pieces.size() == f_count) {
      // A whole vector for a stream with nothing pending: straight through.
      for (const FeaturePiece& piece : sample.pieces) scratch_[static_cast<size_t>(piece.feature)] = piece.value;
      sink->Emit(sample.stream, sample.time_ns, scratch_, 0);
      return;
    }
    it = streams_.emplace(sample.stream, StreamState{{}, std::vector<int>(f_count, 0)}).first;
  }
  StreamState& state = it->second;
  // The pending vector closest in time within the tolerance, if any.
  size_t match = state.pending.size();
  int64_t best = 0;
  for (size_t i = 0; i < state.pending.size(); ++i) {
    const int64_t distance = std::llabs(state.pending[i].time_ns - sample.time_ns);
    if (distance <= tolerance_ns_ && (match == state.pending.size() || distance < best)) {
      match = i;
      best = distance;
    }
  }
  if (match == state.pending.size()) {
    if (state.pending.size() >= static_cast<size_t>(settings_.max_pending)) {
      ResolveThrough(sample.stream, &state, 0, sink);  // the oldest makes room
    }
    const auto at = std::find_if(state.pending.begin(), state.pending.end(),
                                 [&](const Pending& p) { return p.time_ns > sample.time_ns; });
    match = static_cast<size_t>(at - state.pending.begin());
    state.pending.insert(at, Pending{sample.time_ns, now_ns + wait_ns_, std::vector<float>(f_count, 0.0f),
                                     std::vector<uint8_t>(f_count, 0), 0});
    ++pending_vectors_;
  }
  Pending& vector = state.pending[match];
  for (const FeaturePiece& piece : sample.pieces) {
    const auto f = static_cast<size_t>(piece.feature);
    if (vector.have[f] == 0) ++vector.count;
    vector.have[f] = 1;
    vector.values[f] = piece.value;
  }
  if (vector.count == features_) {
    // Older vectors go first (carried or dropped), so vectors leave in time order.
    if (match > 0) ResolveThrough(sample.stream, &state, match - 1, sink);
    const Pending done = std::move(state.pending.front());
    state.pending.erase(state.pending.begin());
    --pending_vectors_;
    Complete(sample.stream, &state, done, sink);
  }
  ExpireStream(sample.stream, &state, now_ns, sink);
  if (Idle(state)) streams_.erase(it);
}

void FeatureAssembler::Expire(int64_t now_ns, AssemblySink* sink) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    ExpireStream(it->first, &it->second, now_ns, sink);
    it = Idle(it->second) ? streams_.erase(it) : std::next(it);
  }
}

void FeatureAssembler::ExpireStream(uint32_t stream, StreamState* state, int64_t now_ns, AssemblySink* sink) {
  // Deadlines follow arrival, not time: an older vector may wait longer than
  // a newer one whose wait ran out; it is resolved with it.
  size_t last = state->pending.size();
  for (size_t i = 0; i < state->pending.size(); ++i) {
    if (state->pending[i].deadline_ns <= now_ns) last = i;
  }
  if (last != state->pending.size()) ResolveThrough(stream, state, last, sink);
}

void FeatureAssembler::ResolveThrough(uint32_t stream, StreamState* state, size_t upto, AssemblySink* sink) {
  for (size_t i = 0; i <= upto; ++i) Resolve(stream, state, &state->pending[i], sink);
  state->pending.erase(state->pending.begin(), state->pending.begin() + static_cast<ptrdiff_t>(upto + 1));
  pending_vectors_ -= upto + 1;
}

void FeatureAssembler::Resolve(uint32_t stream, StreamState* state, Pending* vector, AssemblySink* sink) {
  const float* last = sink->Last(stream);
  for (size_t f = 0; f < vector->have.size(); ++f) {
    if (vector->have[f] != 0) continue;
    if (last == nullptr || state->carried[f] >= settings_.carry_forward) {
      // The counters stay: nothing was emitted, so no value was carried.
      return sink->Dropped(stream, vector->time_ns, static_cast<int>(f));
    }
  }
  int carried = 0;
  for (size_t f = 0; f < vector->have.size(); ++f) {
    if (vector->have[f] != 0) {
      scratch_[f] = vector->values[f];
      state->carried[f] = 0;
    } else {
      scratch_[f] = last[f];
      ++state->carried[f];
      ++carried;
    }
  }
  sink->Emit(stream, vector->time_ns, scratch_, carried);
}

void FeatureAssembler::Complete(uint32_t stream, StreamState* state, const Pending& vector, AssemblySink* sink) {
  std::fill(state->carried.begin(), state->carried.end(), 0);
  sink->Emit(stream, vector.time_ns, vector.values, 0);
}

void FeatureAssembler::Renumber(const std::function<uint32_t(uint32_t)>& renumber) {
  std::unordered_map<uint32_t, StreamState> renumbered;
  for (auto& [old_id, state] : streams_) {
    const uint32_t id = renumber(old_id);
    if (id == UINT32_MAX) {
      pending_vectors_ -= state.pending.size();
      continue;
    }
    renumbered.emplace(id, std::move(state));
  }
  streams_ = std::move(renumbered);
}

}  // namespace lstmad::daemon
