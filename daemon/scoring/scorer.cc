#include "scoring/scorer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "lstmad/core/reconstruction.h"
#include "lstmad/core/threshold.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A feature's error for ranking and sharing: a NaN one (an overflow inside
// the network) counts as infinite, so the sort below has a strict order.
double RankedError(float e) { return std::isnan(e) ? std::numeric_limits<double>::infinity() : e; }

// Features by share of the window's error, largest first, at most three. When
// some features' errors are infinite they share the whole error equally.
std::vector<std::pair<std::string, double>> TopFeatures(const ModelRuntime& model,
                                                        const float* per_feature) {
  const int n = model.features();
  double total = 0;
  int infinite = 0;
  for (int f = 0; f < n; ++f) {
    const double e = RankedError(per_feature[f]);
    total += e;
    if (std::isinf(e)) ++infinite;
  }
  auto share = [&](double e) {
    if (infinite > 0) return std::isinf(e) ? 1.0 / infinite : 0.0;
    return total > 0 ? e / total : 0.0;
  };
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return RankedError(per_feature[a]) > RankedError(per_feature[b]); });
  std::vector<std::pair<std::string, double>> top;
  for (int i = 0; i < std::min(n, 3); ++i) {
    const int f = order[static_cast<size_t>(i)];
    top.emplace_back(model.model.feature_names[static_cast<size_t>(f)], share(RankedError(per_feature[f])));
  }
  return top;
}

// The weight of the newest window in a stream's residual spread (the band of
// models[].export): a mean over roughly the last 1/kSpreadWeight windows.
constexpr double kSpreadWeight = 1.0 / 64;

// Step `t` of the window (0: the oldest): its features' raw values, then its
// time inputs.
const float* WindowSample(const ModelRuntime& model, const WindowJob& job, int t) {
  return job.window.data() + static_cast<ptrdiff_t>(t) * model.inputs();
}

// The window's newest sample (the guards, the novelty range, exports and the
// console read it).
const float* NewestSample(const ModelRuntime& model, const WindowJob& job) {
  return WindowSample(model, job, model.lookback() - 1);
}

// Teaches a new detector's novelty range the samples of its first window
// before the newest (which Observe judges and learns): values the stream has
// shown that no later window has as its newest. The offline runs do the same
// with a series' first rows (tools/lib/detection_run.cc).
void LearnEarlierSamples(const ModelRuntime& model, const WindowJob& job, core::StreamDetector* detector) {
  std::vector<double> values(static_cast<size_t>(model.features()));
  for (int t = 0; t + 1 < model.lookback(); ++t) {
    const float* sample = WindowSample(model, job, t);
    std::copy(sample, sample + model.features(), values.begin());
    detector->LearnValues(values);
  }
}

// models[].retrain.scope stream: a window of a stream that has a model of
// its own is scored by that model. One fine-tuned from an earlier load of the
// model (a reload came since) is dropped: a reload goes back to the file, as
// it does for a model's shared retrained model.
void UseStreamModel(WindowJob* job) {
  StreamScoringState* stream = job->stream;
  if (stream->retired) return;
  if (job->model->settings.retrain.scope != config::RetrainScope::kStream) {
    // A reload turned per-stream retraining off: what the stream held for it goes.
    if (stream->retrain != nullptr) {
      stream->retrain->retired = true;
      stream->retrain.reset();
    }
    stream->own_model.reset();
    return;
  }
  if (stream->retrain != nullptr) {
    if (std::shared_ptr<const ModelRuntime> offered = stream->retrain->TakeOffered()) {
      stream->own_model.reset(std::move(offered));
    }
  }
  if (!stream->own_model.has_value()) return;
  if (stream->own_model.get()->detector_generation != job->model->detector_generation) {
    stream->own_model.reset();
    return;
  }
  job->model = stream->own_model.get();
}

// The window's kVerdict* bits, once its alarm (`anomalous`) went to the
// stream's alert: what the retrainer learns from (ScoreObserver).
uint8_t Verdict(bool anomalous, const StreamScoringState& stream) {
  return static_cast<uint8_t>((anomalous ? kVerdictAnomalous : 0) |
                              (stream.alert.firing() ? kVerdictAlertFiring : 0));
}

}  // namespace

struct Scorer::Shard {
  std::mutex mutex;
  std::condition_variable has_work;   // a job arrived, or stop/drain
  std::condition_variable has_room;   // the queue shrank
  std::condition_variable idle;       // queue empty and nothing in flight
  std::vector<std::function<void()>> room_waiters;  // TrySubmit callers refused for lack of room
  std::deque<WindowJob> queue;
  std::deque<Clock::time_point> enqueued;
  size_t in_flight = 0;
  int draining = 0;
  bool stop = false;
  std::thread thread;
  // Worker-only scratch.
  core::Network<float>::Workspace workspace;
  core::Matrix<float> input, output, per_feature;
  core::Vector<float> errors;
  std::vector<uint8_t> verdicts;  // per window of the group: its kVerdict* bits
  // Guards: the newest step's reconstruction in original units [F x batch]
  // (sized per group, as `input` and `output` are), and one window's observed
  // and expected values (their capacity stays, so resizing does not allocate
  // after the first guarded group of the largest model).
  core::Matrix<float> expected;
  std::vector<double> guard_expected;
  // One window's newest observed values, for the guards and the detector's
  // novelty range.
  std::vector<double> newest;
  HistogramBatch error_batch, latency_batch;
};

Scorer::Scorer(const config::ScoringSettings& settings, Metrics* metrics)
    : settings_(settings),
      metrics_(metrics),
      queue_capacity_(static_cast<size_t>(std::max(settings.queue_windows, 1))) {
  for (int i = 0; i < std::max(settings.workers, 1); ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->thread = std::thread([this, s] { WorkerLoop(s); });
  }
}

Scorer::~Scorer() {
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mutex);
      shard->stop = true;
    }
    shard->has_work.notify_all();
  }
  for (auto& shard : shards_) shard->thread.join();
}

void Scorer::Submit(WindowJob job) {
  Shard& shard = *shards_[static_cast<size_t>(job.shard)];
  std::unique_lock lock(shard.mutex);
  // With the block policy this waits: the caller's thread (a cluster
  // partition's) stops consuming until the worker catches up.
  shard.has_room.wait(lock, [&] {
    return settings_.overflow != config::OverflowPolicy::kBlock || shard.queue.size() < queue_capacity_ ||
           shard.stop;
  });
  Enqueue(&shard, std::move(lock), std::move(job));
}

bool Scorer::TrySubmit(WindowJob* job, const std::function<void()>& on_room) {
  Shard& shard = *shards_[static_cast<size_t>(job->shard)];
  std::unique_lock lock(shard.mutex);
  if (settings_.overflow == config::OverflowPolicy::kBlock && shard.queue.size() >= queue_capacity_ &&
      !shard.stop) {
    shard.room_waiters.push_back(on_room);  // copied only when refusing
    return false;
  }
  Enqueue(&shard, std::move(lock), std::move(*job));
  return true;
}

void Scorer::Enqueue(Shard* shard, std::unique_lock<std::mutex> lock, WindowJob job) {
  while (shard->queue.size() >= queue_capacity_) {  // drop_oldest (block waited or refused above)
    shard->queue.pop_front();
    shard->enqueued.pop_front();
    metrics_->WindowsDropped().Increment();
  }
  shard->queue.push_back(std::move(job));
  shard->enqueued.push_back(Clock::now());
  const bool full = shard->queue.size() >= static_cast<size_t>(settings_.max_batch);
  const bool first = shard->queue.size() == 1;
  lock.unlock();
  // The worker wakes at once for a full batch; otherwise it is already
  // waiting for the first window's deadline, or this is the first window.
  if (full || first) shard->has_work.notify_one();
}

void Scorer::Drain() {
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->mutex);
    ++shard->draining;
    shard->has_work.notify_all();
    shard->idle.wait(lock, [&] { return shard->queue.empty() && shard->in_flight == 0; });
    --shard->draining;
  }
}

void Scorer::WorkerLoop(Shard* shard) {
  const auto max_wait = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(settings_.max_wait_ms));
  const auto max_batch = static_cast<size_t>(std::max(settings_.max_batch, 1));
  std::vector<WindowJob> batch;
  std::unique_lock lock(shard->mutex);
  while (true) {
    shard->has_work.wait(lock, [&] { return shard->stop || !shard->queue.empty(); });
    if (shard->queue.empty()) break;  // stopping
    const Clock::time_point deadline = shard->enqueued.front() + max_wait;
    shard->has_work.wait_until(lock, deadline, [&] {
      return shard->stop || shard->draining > 0 || shard->queue.size() >= max_batch;
    });
    const size_t n = std::min(shard->queue.size(), max_batch);
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(shard->queue.front()));
      shard->queue.pop_front();
      shard->enqueued.pop_front();
    }
    shard->in_flight = n;
    std::vector<std::function<void()>> waiters;
    waiters.swap(shard->room_waiters);
    lock.unlock();
    shard->has_room.notify_all();
    for (auto& on_room : waiters) on_room();
    ScoreBatch(shard, &batch);
    lock.lock();
    shard->in_flight = 0;
    if (shard->queue.empty()) shard->idle.notify_all();
  }
}

void Scorer::ScoreBatch(Shard* shard, std::vector<WindowJob>* jobs) {
  // Group by model (a batch may mix models, and old and new ones across a reload).
  std::vector<WindowJob*> order;
  for (WindowJob& job : *jobs) {
    UseStreamModel(&job);
    order.push_back(&job);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const WindowJob* a, const WindowJob* b) { return a->model < b->model; });
  size_t first = 0;
  while (first < order.size()) {
    size_t end = first + 1;
    while (end < order.size() && order[end]->model == order[first]->model) ++end;
    ScoreModelGroup(shard, order.data() + first, static_cast<int>(end - first));
    first = end;
  }
}

void Scorer::ScoreModelGroup(Shard* shard, WindowJob* const* jobs, int count) {
  const ModelRuntime& model = *jobs[0]->model;
  const int steps = model.lookback(), inputs = model.inputs();
  shard->input.resize(inputs, static_cast<Eigen::Index>(steps) * count);
  for (int b = 0; b < count; ++b) {
    const float* window = jobs[b]->window.data();
    for (int t = 0; t < steps; ++t) {
      shard->input.col(static_cast<Eigen::Index>(t) * count + b) =
          Eigen::Map<const core::Vector<float>>(window + static_cast<ptrdiff_t>(t) * inputs, inputs);
    }
  }
  model.model.scaler.Transform(&shard->input);
  const Clock::time_point start = Clock::now();
  model.network.Forward(shard->input, count, &shard->workspace, &shard->output);
  core::ReconstructionErrors(shard->input, shard->output, steps, count, model.model.error_options,
                             &shard->errors, &shard->per_feature);
  const Clock::time_point done = Clock::now();
  model.metrics.inference_duration->Observe(std::chrono::duration<double>(done - start).count());
  model.metrics.batch_size->Observe(count);
  shard->error_batch.Start(&model.metrics.reconstruction_error_bounds);
  shard->latency_batch.Start(&model.metrics.sample_to_score_bounds);
  shard->verdicts.resize(static_cast<size_t>(count));
  HistoryRegistry* history = history_.load();
  const bool exporting = model.settings.exports.any();
  if (!model.guards.empty() || history != nullptr || exporting) {
    // The newest step's reconstruction in raw units. As `lstmad score`
    // computes it (tools/lib/detection_run.cc), so both give a window the
    // same guard verdict; the console's history and the export series
    // (models[].export) show it beside the sample.
    shard->expected = shard->output.middleCols(static_cast<Eigen::Index>(steps - 1) * count, count);
    model.model.scaler.Inverse(&shard->expected);
  }
  if (!model.guards.empty()) shard->guard_expected.resize(static_cast<size_t>(model.features()));
  const bool novelty = model.settings.detector.enabled() && model.settings.detector.options.uses_novelty();
  int nonfinite = 0;
  for (int b = 0; b < count; ++b) {
    const WindowJob& job = *jobs[b];
    StreamScoringState& stream = *job.stream;
    const double error = shard->errors[b];
    // A non-finite error (the reconstruction overflowed on a value far beyond
    // training) is an anomaly, but would make the histogram's sum NaN or
    // infinite for good: it is counted apart instead. The stream's gauge
    // shows it as +Inf, which PromQL compares as above any threshold.
    if (std::isfinite(error)) {
      shard->error_batch.Add(error);
    } else {
      ++nonfinite;
    }
    shard->latency_batch.Add(std::chrono::duration<double>(done - job.arrived).count());
    if (stream.retired) {
      // Its window waited in a paused connection while the stream went away:
      // scored for the model's histograms, but it neither touches the
      // stream's series (removed) nor raises an alert for a stream that is gone.
      shard->verdicts[static_cast<size_t>(b)] =
          Verdict(core::ExceedsThreshold(error, model.threshold), stream);
      continue;
    }
    stream.metrics.reconstruction_error->Set(std::isnan(error) ? std::numeric_limits<double>::infinity()
                                                               : error);
    const std::span<const double> newest =
        novelty || !model.guards.empty() ? NewestValues(model, shard, job) : std::span<const double>();
    const core::Override override = GuardVerdict(model, shard, newest, b);
    // A stream created before a reload turned `export` on has no feature
    // series (docs/prometheus.md): nothing to set.
    if (exporting && stream.metrics.features.size() == static_cast<size_t>(model.features())) {
      ExportFeatures(model, shard, job, b);
    }
    bool above = core::ExceedsThreshold(error, model.threshold);
    bool held = false;  // above only by the detector's hysteresis
    bool accepted = false;  // part of a lasting change the detector took as the new normal
    double threshold = model.threshold;
    if (override != core::Override::kNone) above = override == core::Override::kAnomalous;
    if (model.settings.detector.enabled()) {
      const core::Detection d =
          Detect(model, job, error, override, novelty ? newest : std::span<const double>());
      above = d.alarm;
      held = d.held;
      accepted = d.accepted;
      threshold = d.threshold;
      if (stream.metrics.anomaly_score != nullptr) stream.metrics.anomaly_score->Set(d.score);
    }
    if (history != nullptr) RecordHistory(history, model, shard, job, b, threshold, above);
    const core::AlertState::Transition transition =
        stream.alert.Observe(above, ToAlertRule(model.settings.alert), held, accepted);
    if (stream.alert.accepted_now() && model.metrics.changes_accepted != nullptr) {
      model.metrics.changes_accepted->Increment();
    }
    if (transition != core::AlertState::Transition::kNone) {
      RecordAlert(job, transition, error, threshold, shard->per_feature.col(b).data());
    }
    shard->verdicts[static_cast<size_t>(b)] = Verdict(above, stream);
  }
  shard->error_batch.Flush(model.metrics.reconstruction_error);
  shard->latency_batch.Flush(model.metrics.sample_to_score);
  model.metrics.windows_scored->Increment(count);
  // Null where the runtime's metrics were never registered (unit tests).
  if (nonfinite > 0 && model.metrics.windows_nonfinite != nullptr) {
    model.metrics.windows_nonfinite->Increment(nonfinite);
  }
  if (ScoreObserver* observer = observer_.load())
    observer->OnScored(model, jobs, shard->errors.data(), shard->verdicts.data(), count);
  scored_.fetch_add(static_cast<uint64_t>(count));
}

void Scorer::RecordHistory(HistoryRegistry* registry, const ModelRuntime& model, Shard* shard,
                           const WindowJob& job, int b, double threshold, bool above) {
  StreamScoringState& stream = *job.stream;
  const int features = model.features();
  const auto scored = static_cast<int>(shard->per_feature.rows());
  if (!stream.history) {
    // The stream's first window: the only allocation its history makes.
    stream.history = registry->Create(model.name(), stream.key, features, scored);
  }
  const float* newest = NewestSample(model, job);
  HistoryPoint point;
  point.end_ns = job.end_ns;
  point.error = static_cast<double>(shard->errors[b]);
  point.threshold = threshold;
  point.above = above;
  stream.history->Record(point, newest, shard->expected.col(b).data(), shard->per_feature.col(b).data());
}

core::Override Scorer::GuardVerdict(const ModelRuntime& model, Shard* shard, std::span<const double> observed,
                                    int b) {
  if (model.guards.empty()) return core::Override::kNone;
  for (int f = 0; f < model.features(); ++f) shard->guard_expected[static_cast<size_t>(f)] = shard->expected(f, b);
  const core::Override verdict = core::GuardOverride(model.guards, observed, shard->guard_expected);
  // Null where the runtime's metrics were never registered (unit tests).
  prometheus::Counter* counter = verdict == core::Override::kNormal      ? model.metrics.guard_normal
                                 : verdict == core::Override::kAnomalous ? model.metrics.guard_anomalous
                                                                         : nullptr;
  if (counter != nullptr) counter->Increment();
  return verdict;
}

void Scorer::ExportFeatures(const ModelRuntime& model, Shard* shard, const WindowJob& job, int b) {
  const int features = model.features();
  StreamScoringState& stream = *job.stream;
  const float* newest = NewestSample(model, job);
  const float* per_feature = shard->per_feature.col(b).data();
  // Shares as the alert's top_features has them (TopFeatures above).
  double total = 0;
  int infinite = 0;
  for (int f = 0; f < features; ++f) {
    const double e = RankedError(per_feature[f]);
    total += e;
    if (std::isinf(e)) ++infinite;
  }
  const bool first = stream.residual_mean_square.size() != static_cast<size_t>(features);
  if (first) stream.residual_mean_square.assign(static_cast<size_t>(features), 0.0);
  const double k = model.settings.exports.band_sigmas;
  for (int f = 0; f < features; ++f) {
    const auto i = static_cast<size_t>(f);
    const StreamFeatureMetrics& series = stream.metrics.features[i];
    const double observed = newest[f], expected = shard->expected(f, b);
    if (series.observed != nullptr) series.observed->Set(observed);
    if (series.expected != nullptr) series.expected->Set(expected);
    double& mean_square = stream.residual_mean_square[i];
    if (series.expected_lower != nullptr) {
      // The band is the spread of the windows before this one, so that a
      // window's own deviation does not widen the band it is judged against.
      const double half = k * std::sqrt(mean_square);
      series.expected_lower->Set(expected - half);
      series.expected_upper->Set(expected + half);
    }
    const double residual = observed - expected;
    // A non-finite residual (an overflowed reconstruction) would poison the
    // spread for good: it is left out.
    if (std::isfinite(residual)) {
      mean_square = first ? residual * residual : mean_square + kSpreadWeight * (residual * residual - mean_square);
    }
    if (series.error_share != nullptr) {
      const double e = RankedError(per_feature[f]);
      series.error_share->Set(infinite > 0 ? (std::isinf(e) ? 1.0 / infinite : 0.0)
                                           : (total > 0 ? e / total : 0.0));
    }
  }
}

std::span<const double> Scorer::NewestValues(const ModelRuntime& model, Shard* shard, const WindowJob& job) {
  const int features = model.features();
  const float* newest = NewestSample(model, job);
  shard->newest.resize(static_cast<size_t>(features));  // allocates for the first, and largest, model only
  for (int f = 0; f < features; ++f) shard->newest[static_cast<size_t>(f)] = newest[f];
  return shard->newest;
}

core::Detection Scorer::Detect(const ModelRuntime& model, const WindowJob& job, double error,
                               core::Override override, std::span<const double> newest) {
  StreamScoringState* stream = job.stream;
  if (!stream->detector || stream->detector_generation != model.detector_generation) {
    // A newly loaded model (a reload) that gives the errors the detector
    // judged, under the same detector settings: a reload that changed
    // something else, and the detector carries on. Otherwise (the first
    // window, another model) its errors are on a new scale, and the detector
    // calibrates afresh on this stream's next ones. A retrained model keeps
    // the detectors (model_runtime.h).
    const bool same_errors = stream->detector && stream->detector_fingerprint == model.fingerprint &&
                             stream->detector->options() == model.settings.detector.options;
    if (!same_errors) {
      stream->detector.emplace(model.settings.detector.options, model.threshold, model.lookback());
      if (!newest.empty()) LearnEarlierSamples(model, job, &*stream->detector);
    }
    stream->detector_generation = model.detector_generation;
  }
  stream->detector_fingerprint = model.fingerprint;
  stream->detector->set_fixed_threshold(model.threshold);  // a retrained model's, once swapped in
  // The window's sampling interval, for a likelihood risk per period of time.
  return stream->detector->Observe(error, override, newest,
                                   core::WindowStepSeconds(job.start_ns, job.end_ns, model.lookback()));
}

void Scorer::RecordAlert(const WindowJob& job, core::AlertState::Transition transition, double error,
                         double threshold, const float* per_feature) {
  const ModelRuntime& model = *job.model;
  StreamScoringState& stream = *job.stream;
  const bool fired = transition == core::AlertState::Transition::kFired;
  stream.metrics.anomalous->Set(fired ? 1 : 0);
  if (fired) stream.metrics.anomalies->Increment();
  AlertEvent event;
  event.kind = fired ? "fired" : "resolved";
  event.time_ns = WallNowNs();
  event.model = model.name();
  event.stream = stream.key;
  event.error = error;
  event.threshold = threshold;
  event.window_start_ns = job.start_ns;
  event.window_end_ns = job.end_ns;
  event.top_features = TopFeatures(model, per_feature);
  // The errors fit again because the detector took the change as the new
  // normal, not because the stream went back to what it was: say so.
  if (!fired && stream.alert.accepted()) event.reason = kChangeAccepted;
  if (fired) {
    stream.fired = std::make_shared<const AlertEvent>(event);
  } else {
    stream.fired.reset();
  }
  if (stream.history) stream.history->RecordAlert(event);
  if (AlertSink* sink = alert_sink_.load()) sink->OnAlert(event);
}

size_t Scorer::Retire(const DroppedStreams& dropped) {
  size_t resolved = 0;
  AlertSink* sink = alert_sink_.load();
  dropped.states->ForEach([&](StreamScoringState& stream) {
    if (stream.retired) return;  // moved to a rebuilt table, or retired before
    if (stream.alert.firing()) {
      // No window resolves it: say so with the reason, and carry what fired it.
      AlertEvent event = stream.fired ? *stream.fired : AlertEvent{};
      event.kind = "resolved";
      event.time_ns = WallNowNs();
      event.model = dropped.model;
      event.stream = stream.key;
      event.error = std::numeric_limits<double>::quiet_NaN();
      event.reason = dropped.reason;
      stream.alert = core::AlertState{};
      stream.fired.reset();
      ++resolved;
      if (sink != nullptr) sink->OnAlert(event);
    }
    if (stream.metrics.anomalous != nullptr)
      metrics_->RemoveStream(dropped.model, stream.key, &stream.metrics);
    stream.history.reset();  // gone from the console with the stream
    if (stream.retrain != nullptr) {
      stream.retrain->retired = true;  // the retraining thread forgets it
      stream.retrain.reset();
    }
    stream.own_model.reset();
    stream.retired = true;
  });
  return resolved;
}

}  // namespace lstmad::daemon
