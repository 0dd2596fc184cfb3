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

// The fields every outcome log line carries.
std::vector<LogField> OutcomeFields(const std::string& name, const RetrainOutcome& o) {
  return {Field("model", name),
          Field("train_windows", o.train_windows),
          Field("holdout_windows", o.holdout_windows),
          Field("old_holdout_error", o.old_error),
          Field("new_holdout_error", o.new_error),
          Field("old_threshold", o.old_threshold),
          Field("new_threshold", o.new_threshold),
          Field("threshold_recalibrated", o.threshold_recalibrated ? "true" : "false"),
          Field("seconds", o.seconds)};
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
    if (!settings.enabled()) continue;
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
                         const uint8_t* anomalous, int count) {
  std::shared_ptr<WindowRing> ring;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(model.name());
    if (it == entries_.end()) return;
    ring = it->second.ring;
  }
  // A window scored by a model of another shape (across a reload) cannot train this one.
  if (ring->timesteps() != model.lookback() || ring->features() != model.inputs()) return;
  // Reused per worker thread: the scoring path does not allocate here once warm.
  thread_local std::vector<const float*> normal;
  normal.clear();
  for (int b = 0; b < count; ++b) {
    // Normal by the same verdict the alert used: with an adaptive detector
    // (spot, dspot) that is the stream's own threshold, not the model's.
    if (anomalous[b] == 0 && !jobs[b]->stream->alert.firing()) {
      normal.push_back(jobs[b]->window.data());
    }
  }
  if (!normal.empty()) ring->Append(normal.data(), static_cast<int>(normal.size()));
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
    const Entry* next = nullptr;
    std::string next_name;
    for (const auto& [name, entry] : entries_) {
      if (entry.in_flight != nullptr) continue;  // Installed() notifies
      if (next == nullptr || entry.due < next->due) {
        next = &entry;
        next_name = name;
      }
    }
    if (next == nullptr) {
      wake_.wait(lock);
      continue;
    }
    const Clock::time_point due = next->due;
    if (Clock::now() < due) {
      // Configure, Installed and Stop notify; then the choice is made again.
      wake_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    RunOne(next_name);
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

int Retrainer::collected(const std::string& model) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(model);
  return it == entries_.end() ? 0 : it->second.ring->size();
}

RetrainResult Retrainer::RunOne(const std::string& name) {
  config::RetrainSettings settings;
  std::shared_ptr<const ModelRuntime> current;
  std::shared_ptr<WindowRing> ring;
  uint64_t tries = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return RetrainResult::kDiscarded;
    Entry& e = it->second;
    e.due = Clock::now() + Every(e.settings);
    tries = ++e.tries;
    settings = e.settings;
    current = e.current;
    ring = e.ring;
  }
  const int collected = ring->size();
  if (collected < settings.min_windows) {
    Count(name, RetrainResult::kSkipped);
    Log(LogLevel::kInfo, "retraining skipped: too few normal windows",
        {Field("model", name), Field("windows", collected), Field("min_windows", settings.min_windows)});
    return RetrainResult::kSkipped;
  }
  Log(LogLevel::kInfo, "retraining", {Field("model", name), Field("windows", collected)});
  RetrainOptions options = RetrainOptionsFor(settings, current->model);
  options.seed = tries;
  options.cancelled = [this] { return stop_.load(std::memory_order_relaxed); };
  core::Result<RetrainOutcome> outcome = RetrainModel(current->model, ring->Snapshot(), options);
  if (!outcome.ok()) {
    if (stop_) {
      Log(LogLevel::kInfo, "retraining interrupted by shutdown", {Field("model", name)});
      return RetrainResult::kFailed;
    }
    Count(name, RetrainResult::kFailed);
    Log(LogLevel::kError, "retraining failed",
        {Field("model", name), Field("error", outcome.status().message())});
    return RetrainResult::kFailed;
  }
  if (!outcome->swap) {
    Count(name, RetrainResult::kRejected);
    Log(LogLevel::kInfo, "retrained model rejected: worse on the holdout; keeping the running model",
        OutcomeFields(name, *outcome));
    return RetrainResult::kRejected;
  }
  core::Result<core::Network<float>> network = outcome->candidate.MakeNetwork();
  if (!network.ok()) {
    Count(name, RetrainResult::kFailed);
    Log(LogLevel::kError, "retrained model cannot serve",
        {Field("model", name), Field("error", network.status().message())});
    return RetrainResult::kFailed;
  }
  outcome->candidate.metadata["retrained_at"] = core::UtcNowIso8601();
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{current->settings, outcome->candidate, std::move(network).value(), 0, current->metrics,
                   NextModelGeneration(), current->guards, current->detector_generation});
  runtime->threshold = current->settings.threshold.value_or(runtime->model.threshold);
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(name); it != entries_.end()) it->second.in_flight = runtime;
  }
  // Counted as swapped or discarded once the io thread has decided (Installed).
  install_(RetrainCandidate{current, std::move(runtime), std::move(outcome).value()});
  return RetrainResult::kSwapped;
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
  Log(LogLevel::kInfo, "retrained model swapped in", OutcomeFields(name, candidate.outcome));
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
