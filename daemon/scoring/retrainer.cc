#include "scoring/retrainer.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include "obs/logging.h"
#include "lstmad/core/model_file.h"

namespace lstmad::daemon {
namespace {

constexpr RetrainResult kResults[] = {RetrainResult::kSwapped, RetrainResult::kRejected,
                                      RetrainResult::kSkipped, RetrainResult::kFailed,
                                      RetrainResult::kDiscarded};
// Retraining yields to scoring: the scoring workers run at the default 0.
constexpr int kNice = 10;

Retrainer::Clock::duration Every(const config::RetrainSettings& settings) {
  return std::chrono::duration_cast<Retrainer::Clock::duration>(
      std::chrono::duration<double>(settings.every_s));
}

// The fields naming what a try was for: the model, and with `scope: stream`
// the stream.
std::vector<LogField> TryFields(const std::string& name, const std::string& stream) {
  std::vector<LogField> fields = {Field("model", name)};
  if (!stream.empty()) fields.push_back(Field("stream", stream));
  return fields;
}

// The fields every outcome log line carries.
std::vector<LogField> OutcomeFields(const std::string& name, const std::string& stream,
                                    const RetrainOutcome& o) {
  std::vector<LogField> fields = TryFields(name, stream);
  fields.insert(fields.end(),
                {Field("train_windows", o.train_windows), Field("holdout_windows", o.holdout_windows),
                 Field("old_holdout_error", o.old_error), Field("new_holdout_error", o.new_error),
                 Field("old_threshold", o.old_threshold), Field("new_threshold", o.new_threshold),
                 Field("threshold_recalibrated", o.threshold_recalibrated ? "true" : "false"),
                 Field("seconds", o.seconds)});
  return fields;
}

// Whether a scored window may train its model: normal by the same verdict
// the alert used (with an adaptive detector, spot or dspot, the stream's own
// threshold, not the model's), and its stream's alert not firing once it was
// counted.
bool Learnable(uint8_t verdict) { return (verdict & (kVerdictAnomalous | kVerdictAlertFiring)) == 0; }

bool PerStream(const config::RetrainSettings& settings) {
  return settings.scope == config::RetrainScope::kStream;
}

}  // namespace

const char* RetrainResultName(RetrainResult result) {
  switch (result) {
    case RetrainResult::kSwapped:
      return "swapped";
    case RetrainResult::kRejected:
      return "rejected";
    case RetrainResult::kSkipped:
      return "skipped";
    case RetrainResult::kFailed:
      return "failed";
    case RetrainResult::kDiscarded:
      return "discarded";
  }
  return "failed";
}

std::shared_ptr<const ModelSet> ReplaceModel(const ModelSet& set, const ModelRuntime* replaces,
                                             std::shared_ptr<const ModelRuntime> runtime) {
  auto next = std::make_shared<ModelSet>(set);
  for (auto& model : next->models) {
    if (model.get() == replaces) {
      model = std::move(runtime);
      return next;
    }
  }
  return nullptr;
}

Retrainer::Retrainer(Metrics* metrics, std::string state_dir, InstallFn install)
    : retrains_(&prometheus::BuildCounter()
                     .Name("lstmad_model_retrains_total")
                     .Help("Background retraining tries, by model and result (swapped, rejected: the "
                           "candidate was worse on the holdout, skipped: too few windows, failed, "
                           "discarded: a reload replaced the model meanwhile).")
                     .Register(*metrics->registry())),
      state_dir_(std::move(state_dir)),
      install_(std::move(install)) {}

Retrainer::~Retrainer() { Stop(); }

void Retrainer::Configure(const ModelSet& models, Clock::time_point now) {
  // New rings are allocated (and zeroed, up to max_windows x T x F floats)
  // outside the lock, so the scoring workers never wait on that.
  std::map<std::string, std::shared_ptr<WindowRing>> rings;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, entry] : entries_) rings[name] = entry.ring;
  }
  for (const auto& runtime : models.models) {
    const config::RetrainSettings& settings = runtime->settings.retrain;
    if (!settings.enabled() || PerStream(settings)) continue;  // streams hold their own
    std::shared_ptr<WindowRing>& ring = rings[runtime->name()];
    if (ring == nullptr || ring->timesteps() != runtime->lookback() ||
        ring->features() != runtime->inputs() || ring->capacity() != settings.max_windows) {
      // Whole inputs, time inputs included, as the jobs carry them: a
      // fine-tune trains on what the network sees.
      ring = std::make_shared<WindowRing>(runtime->lookback(), runtime->inputs(), settings.max_windows);
    }
  }
  std::lock_guard lock(mutex_);
  std::map<std::string, Entry> next;
  for (const auto& runtime : models.models) {
    const config::RetrainSettings& settings = runtime->settings.retrain;
    if (!settings.enabled()) continue;
    Entry entry;
    auto old = entries_.find(runtime->name());
    entry.ring = rings[runtime->name()];
    // A reload keeps the schedule (a daily SIGHUP must not postpone a daily
    // retrain for ever); a new model or a new interval starts it afresh.
    const bool same_schedule = old != entries_.end() && old->second.settings.every_s == settings.every_s;
    entry.due = same_schedule ? old->second.due : now + Every(settings);
    entry.tries = old != entries_.end() ? old->second.tries : 0;
    // Installed() still comes for a candidate posted before this reload.
    entry.in_flight = old != entries_.end() ? old->second.in_flight : nullptr;
    if (PerStream(settings)) {
      entry.ring = nullptr;
      // The streams keep their windows across a reload, as a model does, and
      // their schedules unless `every` changed; their own models are dropped
      // by their workers (Scorer: a reload goes back to the file).
      if (old != entries_.end() && PerStream(old->second.settings)) {
        entry.streams = old->second.streams;
        if (!same_schedule) {
          for (StreamTry& t : entry.streams) t.due = now + Every(settings);
        }
      }
    }
    entry.settings = settings;
    entry.current = runtime;
    for (RetrainResult r : kResults) {
      entry.counters[r] = &retrains_->Add({{"model", runtime->name()}, {"result", RetrainResultName(r)}});
    }
    next.emplace(runtime->name(), std::move(entry));
  }
  entries_ = std::move(next);
  wake_.notify_all();
}

void Retrainer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Retrainer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Retrainer::OnScored(const ModelRuntime& model, const WindowJob* const* jobs, const float* /*errors*/,
                         const uint8_t* verdicts, int count) {
  if (PerStream(model.settings.retrain)) {
    CollectPerStream(model, jobs, verdicts, count);
    return;
  }
  std::shared_ptr<WindowRing> ring;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(model.name());
    if (it == entries_.end() || it->second.ring == nullptr) return;
    ring = it->second.ring;
  }
  // A window scored by a model of another shape (across a reload) cannot train this one.
  if (ring->timesteps() != model.lookback() || ring->features() != model.inputs()) return;
  // Reused per worker thread: the scoring path does not allocate here once warm.
  thread_local std::vector<const float*> normal;
  normal.clear();
  for (int b = 0; b < count; ++b) {
    if (Learnable(verdicts[b])) normal.push_back(jobs[b]->window.data());
  }
  if (!normal.empty()) ring->Append(normal.data(), static_cast<int>(normal.size()));
}

void Retrainer::CollectPerStream(const ModelRuntime& model, const WindowJob* const* jobs,
                                 const uint8_t* verdicts, int count) {
  const config::RetrainSettings& settings = model.settings.retrain;
  for (int b = 0; b < count; ++b) {
    StreamScoringState* stream = jobs[b]->stream;  // this worker's own
    if (stream->retired) continue;
    std::shared_ptr<StreamRetrain>& slot = stream->retrain;
    if (slot == nullptr || slot->ring.timesteps() != model.lookback() ||
        slot->ring.features() != model.inputs() || slot->ring.capacity() != settings.max_windows) {
      // The stream's first window under this model, or a reload changed the
      // windows' shape or max_windows: a new ring, allocated once.
      std::shared_ptr<StreamRetrain> made = MakeStreamRetrain(model, stream->key);
      if (made == nullptr) continue;
      if (slot != nullptr) slot->retired = true;
      slot = std::move(made);
    }
    if (Learnable(verdicts[b])) {
      const float* window = jobs[b]->window.data();
      slot->ring.Append(&window, 1);
    }
  }
}

std::shared_ptr<StreamRetrain> Retrainer::MakeStreamRetrain(const ModelRuntime& model,
                                                            const std::string& stream) {
  auto registered = [&](std::map<std::string, Entry>::iterator it) {
    return it != entries_.end() && PerStream(it->second.settings) &&
           it->second.current->detector_generation == model.detector_generation;
  };
  {
    std::lock_guard lock(mutex_);
    if (!registered(entries_.find(model.name()))) return nullptr;
  }
  // Allocated (max_windows x T x I floats) outside the lock, so other
  // workers do not wait on it.
  auto slot = std::make_shared<StreamRetrain>(model.name(), stream, model.lookback(), model.inputs(),
                                              model.settings.retrain.max_windows);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(model.name());
  if (!registered(it)) return nullptr;
  Entry& e = it->second;
  if (e.streams.size() >= 2 * std::max<size_t>(e.streams_kept, 64)) {
    std::erase_if(e.streams, [](const StreamTry& t) { return t.slot->retired.load(); });
    e.streams_kept = e.streams.size();
  }
  const Clock::time_point due = Clock::now() + Every(e.settings);
  e.streams.push_back(StreamTry{slot, due});
  if (due < sleeping_until_) wake_.notify_all();
  return slot;
}

void Retrainer::Loop() {
  pthread_setname_np(pthread_self(), "lstmad-retrain");  // for top -H and /proc/PID/task
  // Linux applies a nice value to the one thread whose id is given.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, tid, kNice) != 0) {
    Log(LogLevel::kWarn, "cannot lower the retraining thread's priority",
        {Field("error", std::strerror(errno))});
  }
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!to_persist_.empty()) {
      auto [name, model] = std::move(to_persist_.front());
      to_persist_.pop_front();
      lock.unlock();
      Persist(name, model);
      lock.lock();
      continue;
    }
    // The try due first: a model's (scope model) or a stream's (scope stream).
    std::optional<Clock::time_point> due;
    std::string next_name;
    std::shared_ptr<StreamRetrain> next_stream;
    for (auto& [name, entry] : entries_) {
      if (PerStream(entry.settings)) {
        std::erase_if(entry.streams, [](const StreamTry& t) { return t.slot->retired.load(); });
        entry.streams_kept = entry.streams.size();
        for (const StreamTry& t : entry.streams) {
          if (!due || t.due < *due) {
            due = t.due;
            next_name = name;
            next_stream = t.slot;
          }
        }
        continue;
      }
      if (entry.in_flight != nullptr) continue;  // Installed() notifies
      if (!due || entry.due < *due) {
        due = entry.due;
        next_name = name;
        next_stream = nullptr;
      }
    }
    if (!due) {
      sleeping_until_ = Clock::time_point::max();
      wake_.wait(lock);
      continue;
    }
    if (Clock::now() < *due) {
      // Configure, Installed, Stop and a stream due sooner notify; then the
      // choice is made again.
      sleeping_until_ = *due;
      wake_.wait_until(lock, *due);
      sleeping_until_ = Clock::time_point::max();
      continue;
    }
    lock.unlock();
    if (next_stream != nullptr) {
      RunOneStream(next_name, next_stream);
    } else {
      RunOne(next_name);
    }
    lock.lock();
  }
  // A model swapped in just before the stop still reaches the disk.
  while (!to_persist_.empty()) {
    auto [name, model] = std::move(to_persist_.front());
    to_persist_.pop_front();
    lock.unlock();
    Persist(name, model);
    lock.lock();
  }
}

RetrainResult Retrainer::RetrainNow(const std::string& model) { return RunOne(model); }

RetrainResult Retrainer::RetrainStreamNow(const std::string& model, const std::string& stream) {
  std::shared_ptr<StreamRetrain> slot;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(model);
    if (it == entries_.end()) return RetrainResult::kDiscarded;
    for (const StreamTry& t : it->second.streams) {
      if (t.slot->stream_key == stream && !t.slot->retired) slot = t.slot;
    }
  }
  return slot == nullptr ? RetrainResult::kDiscarded : RunOneStream(model, slot);
}

int Retrainer::collected(const std::string& model) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(model);
  return it == entries_.end() || it->second.ring == nullptr ? 0 : it->second.ring->size();
}

int Retrainer::collected(const std::string& model, const std::string& stream) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(model);
  if (it == entries_.end()) return 0;
  for (const StreamTry& t : it->second.streams) {
    if (t.slot->stream_key == stream && !t.slot->retired) return t.slot->ring.size();
  }
  return 0;
}

size_t Retrainer::tracked_streams(const std::string& model) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(model);
  return it == entries_.end() ? 0 : it->second.streams.size();
}

RetrainResult Retrainer::RunOne(const std::string& name) {
  config::RetrainSettings settings;
  std::shared_ptr<const ModelRuntime> current;
  std::shared_ptr<WindowRing> ring;
  uint64_t tries = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.ring == nullptr) return RetrainResult::kDiscarded;
    Entry& e = it->second;
    e.due = Clock::now() + Every(e.settings);
    tries = ++e.tries;
    settings = e.settings;
    current = e.current;
    ring = e.ring;
  }
  TryResult tried = Try(name, "", settings, *current, *ring, tries);
  if (tried.result != RetrainResult::kSwapped) return tried.result;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(name); it != entries_.end()) it->second.in_flight = tried.runtime;
  }
  // Counted as swapped or discarded once the io thread has decided (Installed).
  install_(RetrainCandidate{current, std::move(tried.runtime), std::move(tried.outcome)});
  return RetrainResult::kSwapped;
}

RetrainResult Retrainer::RunOneStream(const std::string& name, const std::shared_ptr<StreamRetrain>& slot) {
  config::RetrainSettings settings;
  std::shared_ptr<const ModelRuntime> loaded;
  uint64_t tries = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || !PerStream(it->second.settings)) return RetrainResult::kDiscarded;
    Entry& e = it->second;
    auto t =
        std::find_if(e.streams.begin(), e.streams.end(), [&](const StreamTry& x) { return x.slot == slot; });
    if (t == e.streams.end()) return RetrainResult::kDiscarded;
    t->due = Clock::now() + Every(e.settings);
    tries = ++t->tries;
    settings = e.settings;
    loaded = e.current;
  }
  // From the stream's own model, unless it was fine-tuned from an earlier
  // load of the model (a reload came since): then from the loaded one.
  std::shared_ptr<const ModelRuntime> from = slot->Latest();
  if (from == nullptr || from->detector_generation != loaded->detector_generation) from = loaded;
  TryResult tried = Try(name, slot->stream_key, settings, *from, slot->ring, tries);
  if (tried.result != RetrainResult::kSwapped) return tried.result;
  // No io thread in between: the stream's worker takes it at its next window.
  slot->Offer(std::move(tried.runtime));
  // The next try validates on windows the new model has not been trained on.
  slot->ring.Clear();
  Count(name, RetrainResult::kSwapped);
  Log(LogLevel::kInfo, "retrained model swapped in", OutcomeFields(name, slot->stream_key, tried.outcome));
  return RetrainResult::kSwapped;
}

Retrainer::TryResult Retrainer::Try(const std::string& name, const std::string& stream,
                                    const config::RetrainSettings& settings, const ModelRuntime& from,
                                    const WindowRing& ring, uint64_t tries) {
  TryResult tried;
  // A model's routine lines are info; a stream's, one per stream per
  // `every`, are debug (their outcomes stay info).
  const LogLevel routine = stream.empty() ? LogLevel::kInfo : LogLevel::kDebug;
  const int collected = ring.size();
  if (collected < settings.min_windows) {
    Count(name, RetrainResult::kSkipped);
    std::vector<LogField> fields = TryFields(name, stream);
    fields.insert(fields.end(), {Field("windows", collected), Field("min_windows", settings.min_windows)});
    Log(routine, "retraining skipped: too few normal windows", fields);
    tried.result = RetrainResult::kSkipped;
    return tried;
  }
  std::vector<LogField> fields = TryFields(name, stream);
  fields.push_back(Field("windows", collected));
  Log(routine, "retraining", fields);
  RetrainOptions options = RetrainOptionsFor(settings, from.model);
  options.seed = tries;
  options.cancelled = [this] { return stop_.load(std::memory_order_relaxed); };
  core::Result<RetrainOutcome> outcome = RetrainModel(from.model, ring.Snapshot(), options);
  if (!outcome.ok()) {
    if (stop_) {
      Log(LogLevel::kInfo, "retraining interrupted by shutdown", TryFields(name, stream));
      return tried;  // not counted
    }
    Count(name, RetrainResult::kFailed);
    std::vector<LogField> failed = TryFields(name, stream);
    failed.push_back(Field("error", outcome.status().message()));
    Log(LogLevel::kError, "retraining failed", failed);
    return tried;
  }
  if (!outcome->swap) {
    Count(name, RetrainResult::kRejected);
    Log(LogLevel::kInfo, "retrained model rejected: worse on the holdout; keeping the running model",
        OutcomeFields(name, stream, *outcome));
    tried.result = RetrainResult::kRejected;
    return tried;
  }
  core::Result<core::Network<float>> network = outcome->candidate.MakeNetwork();
  if (!network.ok()) {
    Count(name, RetrainResult::kFailed);
    std::vector<LogField> failed = TryFields(name, stream);
    failed.push_back(Field("error", network.status().message()));
    Log(LogLevel::kError, "retrained model cannot serve", failed);
    return tried;
  }
  outcome->candidate.metadata["retrained_at"] = core::UtcNowIso8601();
  tried.runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{from.settings, outcome->candidate, std::move(network).value(), 0, from.metrics,
                   NextModelGeneration(), from.guards, from.detector_generation});
  tried.runtime->threshold = from.settings.threshold.value_or(tried.runtime->model.threshold);
  tried.runtime->fingerprint = core::ModelFingerprint(tried.runtime->model);
  tried.outcome = std::move(outcome).value();
  tried.result = RetrainResult::kSwapped;
  return tried;
}

void Retrainer::Installed(const RetrainCandidate& candidate, bool swapped) {
  const std::string& name = candidate.runtime->name();
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end() && it->second.in_flight == candidate.runtime) {
      it->second.in_flight = nullptr;
      // The next try is one `every` after the decision, not after the start
      // of the fine-tune that produced this candidate.
      it->second.due = std::max(it->second.due, Clock::now() + Every(it->second.settings));
    }
  }
  wake_.notify_all();
  if (!swapped) {
    Count(name, RetrainResult::kDiscarded);
    Log(LogLevel::kInfo, "retrained model discarded: a reload replaced the model meanwhile",
        {Field("model", name)});
    return;
  }
  candidate.runtime->metrics.threshold->Set(candidate.runtime->threshold);
  Count(name, RetrainResult::kSwapped);
  Log(LogLevel::kInfo, "retrained model swapped in", OutcomeFields(name, "", candidate.outcome));
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second.current == candidate.replaces) {
    it->second.current = candidate.runtime;
    // The next try validates on windows the new model has not been trained on.
    it->second.ring->Clear();
  }
  if (!state_dir_.empty()) to_persist_.emplace_back(name, candidate.runtime->model);
  wake_.notify_all();
}

void Retrainer::Count(const std::string& name, RetrainResult result) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    it->second.counters[result]->Increment();
  } else {
    retrains_->Add({{"model", name}, {"result", RetrainResultName(result)}}).Increment();
  }
}

std::string RetrainedModelPath(const std::string& state_dir, const std::string& name) {
  return (std::filesystem::path(state_dir) / "models" / (name + ".lstmad")).string();
}

core::Status SaveRetrainedModel(const std::string& state_dir, const std::string& name, const core::Model& model) {
  const std::filesystem::path dir = std::filesystem::path(state_dir) / "models";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return core::Status::Error(dir.string() + ": " + ec.message());
  // SaveModel writes through core::WriteFileAtomically, so the model is
  // written once, to path.tmp, and renamed over the old one.
  return core::SaveModel(model, RetrainedModelPath(state_dir, name));
}

void Retrainer::Persist(const std::string& name, const core::Model& model) {
  if (core::Status saved = SaveRetrainedModel(state_dir_, name, model); !saved.ok()) {
    Log(LogLevel::kError, "writing the retrained model failed",
        {Field("model", name), Field("error", saved.message())});
    return;
  }
  Log(LogLevel::kInfo, "retrained model written",
      {Field("model", name), Field("path", RetrainedModelPath(state_dir_, name))});
}

}  // namespace lstmad::daemon
