#include "ingest/ingestor.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "lstmad/core/model_file.h"

namespace lstmad::daemon {
namespace {

// A sample's time in seconds since the epoch, whole seconds converted apart
// from the fraction so that times with whole seconds are exact: `lstmad
// score` gets the same seconds from a CSV timestamp.
double Seconds(int64_t time_ns) {
  constexpr int64_t kNsPerS = 1'000'000'000;
  const int64_t whole = time_ns / kNsPerS, rest = time_ns % kNsPerS;
  return static_cast<double>(whole) + static_cast<double>(rest) * 1e-9;
}

// Fills the time inputs after each step's values in `window` [T*I] (the
// room CopyWindow left), from the step's sample time: the same values
// `lstmad score` computes from the CSV (core::TimeFeatures::Compute).
void AddTimeInputs(const StreamTable& table, uint32_t id, const ModelRuntime& model, float* window) {
  const int inputs = model.inputs(), features = model.features();
  const auto time_inputs = static_cast<size_t>(inputs - features);
  for (int t = 0; t < model.lookback(); ++t) {
    float* step = window + static_cast<ptrdiff_t>(t) * inputs;
    model.model.time_features.Compute(Seconds(table.step_time_ns(id, t)),
                                      std::span<float>(step + features, time_inputs));
  }
}

// Server time, for samples without a timestamp.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Ingestor::Ingestor(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                   Scorer* scorer, Metrics* metrics)
    : settings_(settings), models_(std::move(models)), scorer_(scorer), metrics_(metrics) {}

void Ingestor::Reject(RejectReason reason, std::string_view line, const std::string& peer,
                      std::string_view detail, std::string_view measurement) {
  ++rejected_;
  RecordRefusal(metrics_, &reject_log_limiter_, Refusal{reason, std::string(detail), std::string(measurement)}, line, peer);
}

void Ingestor::LineTooLong(const std::string& peer) {
  Reject(RejectReason::kLineTooLong, {}, peer,
         "line longer than limits.max_line_bytes=" + std::to_string(settings_.limits.max_line_bytes) +
             "; closing the connection");
}


int Ingestor::ShardOf(uint64_t hash) const {
  // The table's index uses the hash's low bits; the shard takes high ones.
  return static_cast<int>((hash >> 32) % static_cast<uint64_t>(scorer_->shards()));
}

Ingestor::ModelStreams& Ingestor::StreamsOf(const ModelRuntime& model) {
  ModelStreams& streams = streams_[model.name()];
  if (!streams.table) {
    streams.table = std::make_shared<StreamTable>(model.lookback(), model.features());
    streams.states = std::make_shared<StreamStates>();
  }
  if (model.settings.assembly.enabled && !streams.assembler) {
    streams.assembler = std::make_unique<FeatureAssembler>(model.features(), model.settings.assembly);
  }
  return streams;
}

StreamScoringState* Ingestor::ScoredOf(ModelStreams* streams, uint32_t id, const ModelRuntime& model) {
  if (StreamScoringState* scored = streams->states->Find(id); scored != nullptr && scored->metrics.anomalous != nullptr) {
    return scored;
  }
  // First window (or restored alert state): the stream gets its series now,
  // before any worker sees it.
  StreamScoringState* scored = streams->states->GetOrCreate(id, streams->table->key(id));
  const config::ExportSettings& exports = model.settings.exports;
  scored->metrics = metrics_->ForStream(
      model.name(), scored->key, model.settings.detector.anomaly_score,
      StreamExport{&model.model.feature_names, exports.observed, exports.expected, exports.band,
                   exports.error_share});
  scored->metrics.anomalous->Set(scored->alert.firing() ? 1 : 0);
  return scored;
}

void Ingestor::HandleLine(std::string_view line, const std::string& peer, Stalled* stalled) {
  const LineVerdict verdict = ClassifyLine(line, *models_, &parsed_, &parse_error_);
  if (verdict.refused) {
    return Reject(verdict.refused->reason, line, peer, verdict.refused->detail, verdict.refused->measurement);
  }
  if (verdict.model == nullptr) return;  // blank or comment
  int64_t time_ns = parsed_.timestamp ? 0 : NowNs();
  if (std::optional<Refusal> refused = TimestampNs(parsed_, settings_.ingest.precision, &time_ns)) {
    ++rejected_;
    RecordRefusal(metrics_, &reject_log_limiter_, *refused, line, peer);
    return;
  }
  Accept(*verdict.model, parsed_, time_ns, line, peer, stalled);
}

void Ingestor::HandlePoint(const ParsedLine& point, std::optional<int64_t> time_ns, std::string_view line,
                           const std::string& peer, Stalled* stalled) {
  const LineVerdict verdict = ClassifyPoint(point, *models_);
  if (verdict.refused) {
    return Reject(verdict.refused->reason, line, peer, verdict.refused->detail, verdict.refused->measurement);
  }
  Accept(*verdict.model, point, time_ns ? *time_ns : NowNs(), line, peer, stalled);
}

void Ingestor::Accept(const std::shared_ptr<const ModelRuntime>& found, const ParsedLine& point, int64_t time_ns,
                      std::string_view line, const std::string& peer, Stalled* stalled) {
  const auto arrived = std::chrono::steady_clock::now();
  const ModelRuntime* model = found.get();
  const config::AssemblySettings& assembly = model->settings.assembly;
  std::optional<Refusal> refused =
      assembly.enabled ? ExtractPieces(*model, point, &pieces_) : ExtractFeatures(*model, point, &sample_);
  if (refused) {
    ++rejected_;
    RecordRefusal(metrics_, &reject_log_limiter_, *refused, line, peer);
    return;
  }
  const bool whole = !assembly.enabled || pieces_.size() == static_cast<size_t>(model->features());
  point.StreamKey(&key_);
  ModelStreams& streams = StreamsOf(*model);
  StreamTable* table = streams.table.get();
  const uint64_t hash = StreamTable::Hash(key_);
  uint32_t id = table->Find(key_, hash);
  if (id == StreamTable::kNone) {
    if (stream_count_ >= static_cast<size_t>(settings_.limits.max_streams)) {
      Reject(RejectReason::kTooManyStreams, line, peer,
             "limits.max_streams=" + std::to_string(settings_.limits.max_streams) + " reached", point.measurement);
      return;
    }
    id = table->Insert(key_, hash);
    if (id == StreamTable::kNone) {
      Reject(RejectReason::kTooManyStreams, line, peer,
             "stream key of " + std::to_string(key_.size()) + " bytes (at most " +
                 std::to_string(StreamTable::kMaxKeyBytes) + ")",
             point.measurement);
      return;
    }
    ++stream_count_;
    model->metrics.streams->Increment();
  }
  // Time, not arrival, orders a stream's samples. A piece must be later than
  // the newest vector by more than the tolerance: closer, it belongs to a
  // vector already complete. A whole vector at the newest time passes, as
  // before assembly existed.
  int64_t newest_ns = 0;
  if (table->Newest(id, &newest_ns)) {
    const int64_t tolerance_ns = whole ? -1 : static_cast<int64_t>(std::llround(assembly.tolerance_s * 1e9));
    if (time_ns <= newest_ns + tolerance_ns) {
      Reject(RejectReason::kOutOfOrder, line, peer,
             "time " + std::to_string(time_ns) + " ns is " + (whole ? "before" : "not after") + " stream " +
                 std::string(table->key(id)) + "'s newest sample (" + std::to_string(newest_ns) + " ns" +
                 (whole ? ")" : " + assembly.tolerance)"),
             point.measurement);
      return;
    }
  }
  table->Touch(id, std::chrono::duration_cast<std::chrono::nanoseconds>(arrived.time_since_epoch()).count());
  ++received_;
  model->metrics.samples_received->Increment();
  emit_.model = &found;
  emit_.streams = &streams;
  emit_.arrived = arrived;
  emit_.hashed = id;
  emit_.hash = hash;
  if (!assembly.enabled) {
    Emit(id, time_ns, sample_, 0);
  } else if (whole && !streams.assembler->Holds(id)) {
    sample_.resize(static_cast<size_t>(model->features()));
    for (const FeaturePiece& piece : pieces_) sample_[static_cast<size_t>(piece.feature)] = piece.value;
    Emit(id, time_ns, sample_, 0);
  } else {
    streams.assembler->Add(PartialSample{id, time_ns, pieces_},
                           std::chrono::duration_cast<std::chrono::nanoseconds>(arrived.time_since_epoch()).count(),
                           this);
  }
  SubmitJobs(stalled);
}

const float* Ingestor::Last(uint32_t stream) {
  int64_t time_ns = 0;
  const float* values = nullptr;
  return emit_.streams->table->Newest(stream, &time_ns, &values) ? values : nullptr;
}

void Ingestor::Dropped(uint32_t stream, int64_t time_ns, int missing) {
  const ModelRuntime& model = **emit_.model;
  model.metrics.vectors_dropped_incomplete->Increment();
  uint64_t suppressed = 0;
  if (drop_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, "assembled vector dropped: a field never came",
        {Field("model", model.name()), Field("stream", std::string(emit_.streams->table->key(stream))),
         Field("time_ns", time_ns),
         Field("missing", model.model.feature_names[static_cast<size_t>(missing)]),
         Field("suppressed_since_last", suppressed)});
  }
}

void Ingestor::Emit(uint32_t id, int64_t time_ns, std::span<const float> values, int carried) {
  const ModelRuntime* model = emit_.model->get();
  ModelStreams& streams = *emit_.streams;
  StreamTable* table = streams.table.get();
  if (carried > 0) model->metrics.values_carried_forward->Increment(carried);
  // A gap of many sampling intervals starts the window afresh rather than
  // joining both sides in one window (docs/wire-protocol.md).
  int64_t newest_ns = 0;
  if (model->settings.max_gap_intervals > 0 && table->Newest(id, &newest_ns)) {
    const int64_t interval_ns = table->MedianIntervalNs(id);
    if (interval_ns > 0 &&
        static_cast<double>(time_ns - newest_ns) > model->settings.max_gap_intervals * static_cast<double>(interval_ns)) {
      table->Restart(id);
      model->metrics.window_restarts_gap->Increment();
    }
  }
  if (!table->Append(id, values.data(), time_ns)) return;
  WindowJob job;
  job.model = *emit_.model;
  job.states = streams.states;
  job.stream = ScoredOf(&streams, id, *model);
  job.shard = ShardOf(id == emit_.hashed ? emit_.hash : StreamTable::Hash(table->key(id)));
  job.window.resize(static_cast<size_t>(model->lookback()) * static_cast<size_t>(model->inputs()));
  table->CopyWindow(id, job.window.data(), model->inputs());
  if (!model->model.time_features.empty()) AddTimeInputs(*table, id, *model, job.window.data());
  job.start_ns = table->window_start_ns(id);
  job.end_ns = table->window_end_ns(id);
  job.arrived = emit_.arrived;
  emit_.jobs.push_back(std::move(job));
}

void Ingestor::SubmitJobs(Stalled* stalled) {
  if (emit_.jobs.empty()) return;
  if (stalled == nullptr) {
    for (WindowJob& job : emit_.jobs) scorer_->Submit(std::move(job));
    emit_.jobs.clear();
    return;
  }
  size_t next = 0;
  while (next < emit_.jobs.size() && scorer_->TrySubmit(&emit_.jobs[next], stalled->on_room)) ++next;
  if (next == emit_.jobs.size()) {
    emit_.jobs.clear();
    return;
  }
  metrics_->ConnectionPauses().Increment();
  std::vector<WindowJob> held(std::make_move_iterator(emit_.jobs.begin() + static_cast<ptrdiff_t>(next)),
                              std::make_move_iterator(emit_.jobs.end()));
  emit_.jobs.clear();
  // The connection holds `stalled` (and so this) while it is paused; the
  // windows go in in order.
  stalled->retry = [scorer = scorer_, stalled, held = std::move(held), next = size_t{0}](bool wait) mutable {
    for (; next < held.size(); ++next) {
      if (wait) {
        scorer->Submit(std::move(held[next]));
      } else if (!scorer->TrySubmit(&held[next], stalled->on_room)) {
        return false;
      }
    }
    return true;
  };
}

size_t Ingestor::ExpireAssembly(int64_t now_ns) {
  size_t pending = 0;
  for (const auto& model : models_->models) {
    auto it = streams_.find(model->name());
    if (it == streams_.end() || !it->second.assembler) continue;
    emit_.model = &model;
    emit_.streams = &it->second;
    emit_.arrived = std::chrono::steady_clock::now();
    emit_.hashed = StreamTable::kNone;
    it->second.assembler->Expire(now_ns, this);
    SubmitJobs(nullptr);
    pending += it->second.assembler->pending_vectors();
  }
  return pending;
}

std::vector<StreamSnapshot> Ingestor::Save() const {
  std::vector<StreamSnapshot> out;
  out.reserve(stream_count_);
  for (const auto& [model, streams] : streams_) {
    for (uint32_t id = 0; id < streams.table->size(); ++id) {
      out.push_back(SaveStream(*streams.table, *streams.states, id, model));
    }
  }
  return out;
}

size_t Ingestor::Restore(const std::vector<StreamSnapshot>& streams, std::vector<AlertEvent>* firing) {
  size_t restored = 0;
  // Per model: its fingerprint, and the streams whose detector another model taught.
  std::map<std::string, std::pair<uint32_t, size_t>> recalibrating;
  for (const StreamSnapshot& s : streams) {
    const ModelRuntime* model = nullptr;
    for (const auto& m : models_->models) {
      if (m->name() == s.model) model = m.get();
    }
    if (model == nullptr || model->lookback() != s.lookback || model->features() != s.features ||
        stream_count_ >= static_cast<size_t>(settings_.limits.max_streams)) {
      continue;
    }
    ModelStreams& model_streams = StreamsOf(*model);
    StreamTable* table = model_streams.table.get();
    const uint64_t hash = StreamTable::Hash(s.key);
    if (table->Find(s.key, hash) != StreamTable::kNone) continue;
    const uint32_t id = table->Insert(s.key, hash);
    if (id == StreamTable::kNone) continue;
    LoadStream(s, id, table, model_streams.states.get());
    // A restored stream's idle time counts from the restart (the snapshot
    // does not say when it last had a sample); streams that expired before
    // the last snapshot are not in it.
    table->Touch(id, std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count());
    if (!s.detector_state.empty() && model->settings.detector.enabled()) {
      if (s.model_fingerprint && *s.model_fingerprint != model->fingerprint) {
        // The detector learned another model's errors (a new file at the
        // model's path, or a retrained model that a restart does not load):
        // as at a reload, it calibrates afresh on the stream's next windows.
        auto& [fingerprint, count] = recalibrating[model->name()];
        fingerprint = model->fingerprint;
        ++count;
      } else {
        RestoreDetector(model_streams.states->GetOrCreate(id, s.key), *model, s.detector_state);
      }
    }
    // A firing alert goes on firing across the restart; say so from the first scrape.
    if (s.firing) ScoredOf(&model_streams, id, *model);
    if (s.firing && s.fired && firing != nullptr) firing->push_back(*s.fired);
    ++stream_count_;
    model->metrics.streams->Increment();
    ++restored;
  }
  for (const auto& [model, changed] : recalibrating) {
    Log(LogLevel::kInfo, "detectors calibrate afresh: the model changed since the snapshot",
        {Field("model", model), Field("fingerprint", core::FingerprintText(changed.first)),
         Field("streams", changed.second)});
  }
  return restored;
}

void Ingestor::RestoreDetector(StreamScoringState* scored, const ModelRuntime& model,
                               const std::string& state) {
  scored->detector.emplace(model.settings.detector.options, model.threshold, model.lookback());
  if (core::Status s = scored->detector->RestoreState(state); !s.ok()) {
    // Other settings since the snapshot, most likely: calibrate afresh.
    scored->detector.reset();
    Log(LogLevel::kDebug, "detector state not restored",
        {Field("model", model.name()), Field("stream", scored->key), Field("error", s.message())});
    return;
  }
  scored->detector_generation = model.detector_generation;
  scored->detector_fingerprint = model.fingerprint;
}

size_t Ingestor::Forget(const std::function<bool(std::string_view model, std::string_view key)>& forget) {
  return Drop([&](const std::string& model, const StreamTable& table,
                  uint32_t id) { return forget(model, table.key(id)); },
              nullptr);
}

size_t Ingestor::CountIdle(int64_t cutoff_ns) const {
  size_t idle = 0;
  for (const auto& [name, streams] : streams_) {
    for (uint32_t id = 0; id < streams.table->size(); ++id) {
      if (streams.table->last_active_ns(id) < cutoff_ns) ++idle;
    }
  }
  return idle;
}

std::vector<DroppedStreams> Ingestor::Expire(int64_t cutoff_ns) {
  std::vector<DroppedStreams> dropped;
  Drop([&](const std::string&, const StreamTable& table,
           uint32_t id) { return table.last_active_ns(id) < cutoff_ns; },
       &dropped);
  for (DroppedStreams& d : dropped) d.reason = "stream_expired";
  return dropped;
}

size_t Ingestor::Drop(
    const std::function<bool(const std::string& model, const StreamTable& table, uint32_t id)>& drop,
    std::vector<DroppedStreams>* dropped) {
  // Tables only grow, so dropping rebuilds the tables that lose streams.
  size_t forgotten = 0;
  for (auto& [name, streams] : streams_) {
    const StreamTable& table = *streams.table;
    std::vector<uint32_t> kept, gone;
    for (uint32_t id = 0; id < table.size(); ++id) (drop(name, table, id) ? gone : kept).push_back(id);
    if (gone.empty()) continue;
    ModelStreams rebuilt{std::make_shared<StreamTable>(table.lookback(), table.features()),
                         std::make_shared<StreamStates>(), std::move(streams.assembler)};
    std::vector<uint32_t> renumbered(table.size(), StreamTable::kNone);
    for (const uint32_t old_id : kept) {
      const std::string_view key = table.key(old_id);
      const uint32_t id = rebuilt.table->Insert(key, StreamTable::Hash(key));
      renumbered[old_id] = id;
      rebuilt.table->Load(id, table.Save(old_id, name));
      rebuilt.table->Touch(id, table.last_active_ns(old_id));
      // Scoring state (series handles, alert, detector) moves with the stream;
      // what is left behind is retired, so that a window a paused connection
      // still holds for it cannot write through the copied series handles.
      if (StreamScoringState* old = streams.states->Find(old_id)) {
        *rebuilt.states->GetOrCreate(id, key) = std::move(*old);
        *old = StreamScoringState{};
        old->retired = true;
      }
    }
    // The dropped streams' states stay where they are (jobs may point at
    // them): the old StreamStates now holds them and retired leftovers.
    if (dropped != nullptr) dropped->push_back(DroppedStreams{name, "", gone.size(), streams.states});
    if (rebuilt.assembler) rebuilt.assembler->Renumber([&](uint32_t old_id) { return renumbered[old_id]; });
    streams = std::move(rebuilt);
    forgotten += gone.size();
  }
  stream_count_ -= forgotten;
  for (const auto& model : models_->models) {
    auto it = streams_.find(model->name());
    model->metrics.streams->Set(it == streams_.end() ? 0.0 : static_cast<double>(it->second.table->size()));
  }
  return forgotten;
}

std::vector<DroppedStreams> Ingestor::Reload(const config::Settings& settings,
                                             std::shared_ptr<const ModelSet> models) {
  std::unordered_map<std::string, ModelStreams> kept;
  size_t count = 0;
  for (const auto& model : models->models) {
    auto old = streams_.find(model->name());
    if (old == streams_.end() || !old->second.table->SameShape(model->lookback(), model->features())) continue;
    count += old->second.table->size();
    model->metrics.streams->Set(static_cast<double>(old->second.table->size()));
    // Pending pieces stay with assembly kept on (under the new bounds); off, they go.
    std::unique_ptr<FeatureAssembler>& assembler = old->second.assembler;
    if (!model->settings.assembly.enabled) {
      assembler.reset();
    } else if (assembler) {
      assembler->set_settings(model->settings.assembly);
    } else {
      assembler = std::make_unique<FeatureAssembler>(model->features(), model->settings.assembly);
    }
    kept.emplace(model->name(), std::move(old->second));
    streams_.erase(old);
  }
  for (const auto& old_model : models_->models) {
    if (kept.count(old_model->name()) == 0) old_model->metrics.streams->Set(0);
  }
  // What is left went away with its model's old shape (or with the model).
  std::vector<DroppedStreams> dropped;
  for (auto& [name, streams] : streams_) {
    if (streams.table->size() == 0) continue;
    bool still_loaded = false;
    for (const auto& model : models->models) still_loaded = still_loaded || model->name() == name;
    dropped.push_back(DroppedStreams{name, still_loaded ? "model_reshaped" : "model_removed",
                                     streams.table->size(), std::move(streams.states)});
  }
  settings_ = settings;
  models_ = std::move(models);
  streams_ = std::move(kept);
  stream_count_ = count;
  return dropped;
}

}  // namespace lstmad::daemon
