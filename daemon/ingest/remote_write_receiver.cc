#include "ingest/remote_write_receiver.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "ingest/sample_checks.h"
#include "lstmad/core/text.h"
#include "remote/write_request.h"

namespace lstmad::daemon {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A media type without its parameters, lower-cased and trimmed.
std::string MediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  std::string out(value);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// How often idle streams are looked for in the vector buffer.
constexpr int64_t kSweepEveryMs = 60'000;

}  // namespace

struct RemoteWriteReceiver::Counters {
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Counter>& samples;
  prometheus::Counter* accepted;
  prometheus::Counter* dropped[kSampleDropReasons];
  prometheus::Gauge* pending;

  explicit Counters(prometheus::Registry& registry)
      : requests(
            prometheus::BuildCounter()
                .Name("lstmad_remote_write_requests_total")
                .Help("Prometheus remote_write requests to /api/v1/write, by HTTP status code and reason.")
                .Register(registry)),
        samples(
            prometheus::BuildCounter()
                .Name("lstmad_remote_write_samples_total")
                .Help("Samples of decoded remote_write requests, by outcome (accepted: part of a complete "
                      "feature vector handed to ingestion; dropped) and reason.")
                .Register(registry)),
        accepted(&samples.Add({{"outcome", "accepted"}, {"reason", "complete"}})),
        pending(
            &prometheus::BuildGauge()
                 .Name("lstmad_remote_write_pending_samples")
                 .Help("Samples held in incomplete feature vectors, waiting for the vector's other features.")
                 .Register(registry)
                 .Add({})) {
    for (size_t i = 0; i < kSampleDropReasons; ++i) {
      dropped[i] = &samples.Add(
          {{"outcome", "dropped"}, {"reason", std::string(SampleDropName(static_cast<SampleDrop>(i)))}});
    }
  }
};

core::Result<RemoteWriteMapping> RemoteWriteReceiver::MappingOf(const ModelSet& models) {
  std::vector<std::string> names;
  std::vector<RemoteWriteModel> selected;
  for (const auto& model : models.models) {
    if (!model->settings.remote_write.enabled()) continue;
    names.push_back(model->name());
    selected.push_back(RemoteWriteModel{model->settings.measurement, model->model.feature_names,
                                        model->settings.remote_write});
  }
  return RemoteWriteMapping::Build(std::move(names), std::move(selected));
}

RemoteWriteReceiver::RemoteWriteReceiver(LineSink* sink, Metrics* metrics, Post post, Clock clock)
    : sink_(sink),
      metrics_(metrics),
      post_(std::move(post)),
      clock_(clock ? std::move(clock) : Clock(WallMs)),
      buffer_(FeatureVectorBuffer::Limits{}) {
  // The sink calls this from a scoring thread once there may be room.
  stalled_.on_room = [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!post_) return;
    post_([this, alive] {
      if (alive.expired()) return;
      Drain();
    });
  };
}

RemoteWriteReceiver::~RemoteWriteReceiver() = default;

void RemoteWriteReceiver::Configure(const config::Settings& settings, RemoteWriteMapping mapping) {
  limits_ = settings.remote_write;
  unit_ns_ = PrecisionToNs(settings.ingest.precision);
  stream_expiry_s_ = settings.limits.stream_expiry_s;
  // The families exist once a model reads remote_write, so that a daemon
  // without it exports none of them.
  if (!mapping.empty() && counters_ == nullptr) counters_ = std::make_unique<Counters>(*metrics_->registry());
  FeatureVectorBuffer::Outcome given_up;
  buffer_.Clear(&given_up);
  if (counters_ != nullptr) Count(given_up);
  buffer_.set_limits(
      FeatureVectorBuffer::Limits{static_cast<size_t>(limits_.max_pending_timestamps),
                                  static_cast<int64_t>(std::llround(limits_.max_delay_s * 1000)),
                                  static_cast<size_t>(settings.limits.max_streams)});
  mapping_ = std::move(mapping);
}

RemoteWriteReceiver::Reply RemoteWriteReceiver::Refuse(int status, std::string_view reason,
                                                       std::string message, const std::string& peer) {
  counters_->requests.Add({{"code", std::to_string(status)}, {"reason", std::string(reason)}}).Increment();
  uint64_t suppressed = 0;
  if (status != 503 && log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, "remote_write request refused",
        {Field("peer", peer), Field("status", status), Field("reason", reason), Field("detail", message),
         Field("suppressed", suppressed)});
  }
  Reply reply;
  reply.status = status;
  reply.body = std::move(message) + "\n";
  reply.retry_after = status == 503;
  return reply;
}

void RemoteWriteReceiver::Count(const FeatureVectorBuffer::Outcome& outcome) {
  if (outcome.accepted > 0) counters_->accepted->Increment(static_cast<double>(outcome.accepted));
  for (size_t i = 0; i < kSampleDropReasons; ++i) {
    if (outcome.dropped[i] > 0) counters_->dropped[i]->Increment(static_cast<double>(outcome.dropped[i]));
  }
  counters_->pending->Set(static_cast<double>(buffer_.pending_samples()));
}

bool RemoteWriteReceiver::Drain() {
  if (stalled_.stalled()) {
    if (!stalled_.retry(false)) return false;  // no room yet; on_room comes again
    stalled_.retry = nullptr;
  }
  static const std::string kPeer = "remote_write";
  while (!held_.empty()) {
    const std::string line = std::move(held_.front());
    held_.pop_front();
    sink_->HandleLine(line, kPeer, &stalled_);
    if (stalled_.stalled()) return false;
  }
  return true;
}

void RemoteWriteReceiver::Flush() {
  if (stalled_.stalled()) {
    stalled_.retry(true);
    stalled_.retry = nullptr;
  }
  static const std::string kPeer = "remote_write";
  while (!held_.empty()) {
    sink_->HandleLine(held_.front(), kPeer, nullptr);
    held_.pop_front();
  }
}

RemoteWriteReceiver::Reply RemoteWriteReceiver::Handle(const Request& request) {
  // Back-pressure first: while lines of an earlier request wait for room in
  // the scoring queue, nothing more is taken; Prometheus retries a 503
  // with backoff, keeping the samples in its own bounded queue.
  if (!Drain()) {
    return Refuse(503, "busy", "the scoring queue is full; retry later", request.peer);
  }
  // Remote write 1.0 (the spec: senders MUST send these; we accept them
  // missing, as Prometheus' own receiver does, but refuse other values:
  // 415 tells a 2.0 sender to fall back).
  if (request.content_encoding && MediaType(*request.content_encoding) != "snappy") {
    return Refuse(
        415, "content_encoding",
        "Content-Encoding " + core::Quote(*request.content_encoding) + " is not supported (expected snappy)",
        request.peer);
  }
  if (request.content_type) {
    const std::string type = MediaType(*request.content_type);
    const std::string_view full = *request.content_type;
    const bool v2 = full.find("io.prometheus.write.v2") != std::string_view::npos;
    if (type != "application/x-protobuf" || v2) {
      return Refuse(415, "content_type",
                    "Content-Type " + core::Quote(full) +
                        " is not supported (expected application/x-protobuf: remote write 1.0)",
                    request.peer);
    }
  }
  if (request.version && !request.version->starts_with("0.1.")) {
    return Refuse(415, "version",
                  "X-Prometheus-Remote-Write-Version " + core::Quote(*request.version) +
                      " is not supported (expected 0.1.0)",
                  request.peer);
  }
  if (request.body.size() > static_cast<size_t>(limits_.max_body_bytes)) {
    return Refuse(413, "too_large",
                  "body of " + std::to_string(request.body.size()) +
                      " bytes is over remote_write.max_body_bytes=" + std::to_string(limits_.max_body_bytes),
                  request.peer);
  }
  remote::Decoded decoded =
      remote::DecodeWriteRequest(request.body, static_cast<size_t>(limits_.max_uncompressed_bytes));
  switch (decoded.error) {
    case remote::DecodeError::kNone: break;
    case remote::DecodeError::kSnappy:
      return Refuse(400, "snappy", "bad snappy body: " + decoded.message, request.peer);
    case remote::DecodeError::kTooLarge:
      return Refuse(413, "too_large", decoded.message + " (remote_write.max_uncompressed_bytes)",
                    request.peer);
    case remote::DecodeError::kProtobuf:
      return Refuse(400, "protobuf", "bad WriteRequest: " + decoded.message, request.peer);
  }
  if (decoded.series.size() > static_cast<size_t>(limits_.max_series_per_request)) {
    return Refuse(413, "too_many_series",
                  std::to_string(decoded.series.size()) +
                      " series are over remote_write.max_series_per_request=" +
                      std::to_string(limits_.max_series_per_request),
                  request.peer);
  }
  const int64_t now_ms = clock_();
  FeatureVectorBuffer::Outcome outcome;
  if (stream_expiry_s_ > 0 && now_ms - last_sweep_ms_ >= kSweepEveryMs) {
    last_sweep_ms_ = now_ms;
    buffer_.Sweep(now_ms - static_cast<int64_t>(stream_expiry_s_ * 1000), &outcome);
  }
  // A request's samples go to the buffer in time order, not series by
  // series: a catching-up sender puts many samples of one series in a
  // request, and its other features' series after it, which series order
  // would hold as more than max_pending_timestamps incomplete vectors.
  request_targets_.clear();
  request_samples_.clear();
  for (const remote::Series& series : decoded.series) {
    if (!mapping_.Match(series.labels, &targets_)) {
      outcome.Drop(SampleDrop::kBadLabels, series.samples.size());
      continue;
    }
    if (targets_.empty()) {
      outcome.Drop(SampleDrop::kUnselected, series.samples.size());
      continue;
    }
    for (SeriesTarget& target : targets_) {
      const auto index = static_cast<uint32_t>(request_targets_.size());
      request_targets_.push_back(std::move(target));
      for (const remote::Sample& sample : series.samples) {
        if (std::isnan(sample.value)) {
          outcome.Drop(remote::IsStaleMarker(sample.value) ? SampleDrop::kStale : SampleDrop::kNan);
        } else if (std::isinf(sample.value)) {
          outcome.Drop(SampleDrop::kNonFinite);
        } else {
          request_samples_.push_back(TimedSample{sample.timestamp_ms, sample.value, index});
        }
      }
    }
  }
  std::stable_sort(
      request_samples_.begin(), request_samples_.end(),
      [](const TimedSample& a, const TimedSample& b) { return a.timestamp_ms < b.timestamp_ms; });
  for (const TimedSample& sample : request_samples_) {
    const SeriesTarget& target = request_targets_[sample.target];
    const auto features = static_cast<uint32_t>(mapping_.models()[target.model].features.size());
    buffer_.Add(target, features, sample.timestamp_ms, sample.value, now_ms, &outcome);
  }
  for (const FeatureVectorBuffer::Ready& ready : outcome.ready) {
    SeriesTarget stream{ready.model, 0, ready.stream};
    held_.push_back(mapping_.FormatLine(stream, ready.values, ready.timestamp_ms, unit_ns_));
  }
  Count(outcome);
  // Taken even if the queue fills part way: the rest waits in held_ (the
  // sink's room notice drains it), and requests are answered 503 until it is in.
  Drain();
  counters_->requests.Add({{"code", "204"}, {"reason", "stored"}}).Increment();
  return Reply{};
}

}  // namespace lstmad::daemon
