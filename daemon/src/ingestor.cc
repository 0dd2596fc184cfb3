#include "ingestor.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace lstmad::daemon {
namespace {

int64_t PrecisionToNs(config::TimestampPrecision p) {
  switch (p) {
    case config::TimestampPrecision::kNanoseconds: return 1;
    case config::TimestampPrecision::kMicroseconds: return 1000;
    case config::TimestampPrecision::kMilliseconds: return 1000000;
    case config::TimestampPrecision::kSeconds: return 1000000000;
  }
  return 1;
}

}  // namespace

std::string Snippet(std::string_view line, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < line.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (line.size() > max_bytes) out += "...";
  return out;
}

Ingestor::Ingestor(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                   Scorer* scorer, Metrics* metrics)
    : settings_(settings), models_(std::move(models)), scorer_(scorer), metrics_(metrics) {}

void Ingestor::Reject(RejectReason reason, std::string_view line, const std::string& peer,
                      std::string_view detail) {
  ++rejected_;
  metrics_->Rejected(reason).Increment();
  uint64_t suppressed = 0;
  if (reject_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, "sample rejected",
        {Field("reason", RejectReasonName(reason)), Field("peer", peer), Field("detail", detail),
         Field("line", Snippet(line)), Field("suppressed_since_last", suppressed)});
  }
}

void Ingestor::LineTooLong(const std::string& peer) {
  Reject(RejectReason::kLineTooLong, {}, peer,
         "line longer than limits.max_line_bytes=" + std::to_string(settings_.limits.max_line_bytes) +
             "; closing the connection");
}

bool Ingestor::ExtractFeatures(const ModelRuntime& model, std::string_view line,
                               const std::string& peer) {
  const auto& names = model.model.feature_names;
  sample_.resize(names.size());
  for (size_t f = 0; f < names.size(); ++f) {
    const FieldValue* value = parsed_.FindField(names[f]);
    if (value == nullptr || value->kind == FieldValue::Kind::kString) {
      Reject(RejectReason::kMissingField, line, peer,
             "no numeric field \"" + names[f] + "\" (model " + model.name() + ")");
      return false;
    }
    const double v = value->number;
    if (!std::isfinite(v) || std::abs(v) > std::numeric_limits<float>::max()) {
      Reject(RejectReason::kNonFinite, line, peer, "field \"" + names[f] + "\" is not a finite float");
      return false;
    }
    sample_[f] = static_cast<float>(v);
  }
  return true;
}

bool Ingestor::TimestampNs(int64_t* out) {
  if (!parsed_.timestamp) {
    *out = std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    return true;
  }
  const int64_t scale = PrecisionToNs(settings_.ingest.precision);
  const int64_t ts = *parsed_.timestamp;
  if (ts > std::numeric_limits<int64_t>::max() / scale || ts < std::numeric_limits<int64_t>::min() / scale) {
    return false;
  }
  *out = ts * scale;
  return true;
}

int Ingestor::ShardOf(uint64_t hash) const {
  // The table's index uses the hash's low bits; the shard takes high ones.
  return static_cast<int>((hash >> 32) % static_cast<uint64_t>(scorer_->shards()));
}

const std::shared_ptr<StreamTable>& Ingestor::TableOf(const ModelRuntime& model) {
  std::shared_ptr<StreamTable>& table = streams_[model.name()];
  if (!table) table = std::make_shared<StreamTable>(model.lookback(), model.features());
  return table;
}

ScoredStream* Ingestor::ScoredOf(StreamTable* table, uint32_t id, const ModelRuntime& model) {
  if (ScoredStream* scored = table->FindScored(id); scored != nullptr && scored->metrics.anomalous != nullptr) {
    return scored;
  }
  // First window (or restored alert state): the stream gets its series now,
  // before any worker sees it.
  ScoredStream* scored = table->Scored(id);
  scored->metrics = metrics_->ForStream(model.name(), scored->key, model.settings.detector.anomaly_score);
  scored->metrics.anomalous->Set(scored->alert.firing() ? 1 : 0);
  return scored;
}

void Ingestor::HandleLine(std::string_view line, const std::string& peer, Stalled* stalled) {
  const auto arrived = std::chrono::steady_clock::now();
  switch (ParseLine(line, &parsed_, &parse_error_)) {
    case ParseResult::kSkipped: return;
    case ParseResult::kError:
      Reject(RejectReason::kParseError, line, peer,
             "column " + std::to_string(parse_error_.column) + ": " + parse_error_.message);
      return;
    case ParseResult::kPoint: break;
  }
  const std::shared_ptr<const ModelRuntime>* found = models_->FindByMeasurement(parsed_.measurement);
  if (found == nullptr) {
    Reject(RejectReason::kUnknownMeasurement, line, peer,
           "no model for measurement \"" + parsed_.measurement + "\"");
    return;
  }
  const ModelRuntime* model = found->get();
  if (!ExtractFeatures(*model, line, peer)) return;
  int64_t time_ns = 0;
  if (!TimestampNs(&time_ns)) {
    Reject(RejectReason::kParseError, line, peer, "timestamp out of range for its precision");
    return;
  }
  parsed_.StreamKey(&key_);
  const std::shared_ptr<StreamTable>& table = TableOf(*model);
  const uint64_t hash = StreamTable::Hash(key_);
  uint32_t id = table->Find(key_, hash);
  if (id == StreamTable::kNone) {
    if (stream_count_ >= static_cast<size_t>(settings_.limits.max_streams)) {
      Reject(RejectReason::kTooManyStreams, line, peer,
             "limits.max_streams=" + std::to_string(settings_.limits.max_streams) + " reached");
      return;
    }
    id = table->Insert(key_, hash);
    if (id == StreamTable::kNone) {
      Reject(RejectReason::kTooManyStreams, line, peer,
             "stream key of " + std::to_string(key_.size()) + " bytes (at most " +
                 std::to_string(StreamTable::kMaxKeyBytes) + ")");
      return;
    }
    ++stream_count_;
    model->metrics.streams->Increment();
  }
  ++received_;
  model->metrics.samples_received->Increment();
  if (!table->Append(id, sample_.data(), time_ns)) return;
  WindowJob job;
  job.model = *found;
  job.table = table;
  job.stream = ScoredOf(table.get(), id, *model);
  job.shard = ShardOf(hash);
  job.window.resize(static_cast<size_t>(model->lookback()) * static_cast<size_t>(model->features()));
  table->CopyWindow(id, job.window.data());
  job.start_ns = table->window_start_ns(id);
  job.end_ns = table->window_end_ns(id);
  job.arrived = arrived;
  if (stalled == nullptr) {
    scorer_->Submit(std::move(job));
  } else if (!scorer_->TrySubmit(&job, stalled->on_room)) {
    stalled->job = std::move(job);
    metrics_->ConnectionPauses().Increment();
  }
}

bool Ingestor::Resubmit(Stalled* stalled) {
  if (!stalled->job) return true;
  if (!scorer_->TrySubmit(&*stalled->job, stalled->on_room)) return false;
  stalled->job.reset();
  return true;
}

void Ingestor::SubmitWaiting(Stalled* stalled) {
  if (!stalled->job) return;
  scorer_->Submit(std::move(*stalled->job));
  stalled->job.reset();
}

std::vector<StreamSnapshot> Ingestor::Save() const {
  std::vector<StreamSnapshot> out;
  out.reserve(stream_count_);
  for (const auto& [model, table] : streams_) {
    for (uint32_t id = 0; id < table->size(); ++id) out.push_back(table->Save(id, model));
  }
  return out;
}

size_t Ingestor::Restore(const std::vector<StreamSnapshot>& streams, std::vector<AlertEvent>* firing) {
  size_t restored = 0;
  for (const StreamSnapshot& s : streams) {
    const ModelRuntime* model = nullptr;
    for (const auto& m : models_->models) {
      if (m->name() == s.model) model = m.get();
    }
    if (model == nullptr || model->lookback() != s.lookback || model->features() != s.features ||
        stream_count_ >= static_cast<size_t>(settings_.limits.max_streams)) {
      continue;
    }
    const std::shared_ptr<StreamTable>& table = TableOf(*model);
    const uint64_t hash = StreamTable::Hash(s.key);
    if (table->Find(s.key, hash) != StreamTable::kNone) continue;
    const uint32_t id = table->Insert(s.key, hash);
    if (id == StreamTable::kNone) continue;
    table->Load(id, s);
    RestoreDetector(table.get(), id, *model, s.detector_state);
    // A firing alert goes on firing across the restart; say so from the first scrape.
    if (s.firing) ScoredOf(table.get(), id, *model);
    if (s.firing && s.fired && firing != nullptr) firing->push_back(*s.fired);
    ++stream_count_;
    model->metrics.streams->Increment();
    ++restored;
  }
  return restored;
}

void Ingestor::RestoreDetector(StreamTable* table, uint32_t id, const ModelRuntime& model,
                               const std::string& state) {
  if (state.empty() || !model.settings.detector.enabled()) return;
  ScoredStream* scored = table->Scored(id);
  scored->detector.emplace(model.settings.detector.options, model.threshold, model.lookback());
  if (core::Status s = scored->detector->RestoreState(state); !s.ok()) {
    // Other settings since the snapshot, most likely: calibrate afresh.
    scored->detector.reset();
    Log(LogLevel::kDebug, "detector state not restored",
        {Field("model", model.name()), Field("stream", scored->key), Field("error", s.message())});
    return;
  }
  scored->detector_generation = model.generation;
}

size_t Ingestor::Forget(const std::function<bool(std::string_view model, std::string_view key)>& forget) {
  // Tables only grow, so forgetting rebuilds the tables that lose streams.
  size_t forgotten = 0;
  for (auto& [name, table] : streams_) {
    std::vector<StreamSnapshot> kept;
    size_t dropped = 0;
    for (uint32_t id = 0; id < table->size(); ++id) {
      if (forget(name, table->key(id))) {
        ++dropped;
      } else {
        kept.push_back(table->Save(id, name));
      }
    }
    if (dropped == 0) continue;
    auto rebuilt = std::make_shared<StreamTable>(table->lookback(), table->features());
    for (const StreamSnapshot& s : kept) {
      const uint32_t id = rebuilt->Insert(s.key, StreamTable::Hash(s.key));
      rebuilt->Load(id, s);
      // Scored state (series handles, detector) moves with the stream.
      if (ScoredStream* old = table->FindScored(table->Find(s.key, StreamTable::Hash(s.key)))) {
        *rebuilt->Scored(id) = std::move(*old);
      }
    }
    table = std::move(rebuilt);
    forgotten += dropped;
  }
  stream_count_ -= forgotten;
  for (const auto& model : models_->models) {
    auto it = streams_.find(model->name());
    model->metrics.streams->Set(it == streams_.end() ? 0.0 : static_cast<double>(it->second->size()));
  }
  return forgotten;
}

void Ingestor::Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models) {
  std::unordered_map<std::string, std::shared_ptr<StreamTable>> kept;
  size_t count = 0;
  for (const auto& model : models->models) {
    auto old = streams_.find(model->name());
    if (old == streams_.end() || !old->second->SameShape(model->lookback(), model->features())) continue;
    count += old->second->size();
    model->metrics.streams->Set(static_cast<double>(old->second->size()));
    kept.emplace(model->name(), std::move(old->second));
  }
  for (const auto& old_model : models_->models) {
    if (kept.count(old_model->name()) == 0) old_model->metrics.streams->Set(0);
  }
  settings_ = settings;
  models_ = std::move(models);
  streams_ = std::move(kept);
  stream_count_ = count;
}

}  // namespace lstmad::daemon
