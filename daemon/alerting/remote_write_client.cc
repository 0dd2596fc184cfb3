#include "alerting/remote_write_client.h"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "lstmad/core/files.h"
#include "lstmad/core/text.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kMinBackoff(500);
constexpr std::chrono::milliseconds kMaxBackoff(30000);
// A bearer token file holds a line, not a document.
constexpr uint64_t kMaxTokenBytes = 4096;

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

std::vector<remote::Series> SeriesOfFamilies(const std::vector<prometheus::MetricFamily>& families,
                                             int64_t timestamp_ms) {
  std::vector<remote::Series> out;
  for (const prometheus::MetricFamily& family : families) {
    const bool gauge = family.type == prometheus::MetricType::Gauge;
    if (!gauge && family.type != prometheus::MetricType::Counter) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      remote::Series series;
      series.labels.reserve(metric.label.size() + 1);
      series.labels.push_back({"__name__", family.name});
      for (const auto& label : metric.label) series.labels.push_back({label.name, label.value});
      std::sort(series.labels.begin(), series.labels.end(),
                [](const remote::Label& a, const remote::Label& b) { return a.name < b.name; });
      series.samples.push_back({gauge ? metric.gauge.value : metric.counter.value, timestamp_ms});
      out.push_back(std::move(series));
    }
  }
  return out;
}

RemoteWriteClient::RemoteWriteClient(const config::RemoteWriteOutSettings& settings, Metrics* metrics,
                                     TlsTransport tls)
    : RemoteWriteClient(
          settings, metrics, [metrics] { return metrics->StreamSeriesFamilies(); }, PostFn{}, WallNowMs,
          std::move(tls)) {}

RemoteWriteClient::RemoteWriteClient(const config::RemoteWriteOutSettings& settings, Metrics* metrics,
                                     CollectFn collect, PostFn post, NowMsFn now_ms, TlsTransport tls)
    : settings_(settings),
      collect_(std::move(collect)),
      post_(std::move(post)),
      now_ms_(std::move(now_ms)),
      tls_(std::move(tls)) {
  if (!post_) {
    // The config checked the URL's shape; ParseHttpUrl splits it.
    if (core::Result<HttpUrl> url = ParseHttpUrl(settings_.url); url.ok()) url_ = *url;
    post_ = [this](const std::string& body) { return PostHttp(body); };
  }
  prometheus::Registry& r = *metrics->registry();
  auto& samples =
      prometheus::BuildCounter()
          .Name("lstmad_remote_write_out_samples_total")
          .Help(
              "Samples of the per-stream series written back (remote_write_out), by outcome: "
              "sent (2xx), rejected (a 4xx: dropped), dropped (the queue was full: oldest first).")
          .Register(r);
  sent_ = &samples.Add({{"outcome", "sent"}});
  rejected_ = &samples.Add({{"outcome", "rejected"}});
  dropped_ = &samples.Add({{"outcome", "dropped"}});
  auto& requests = prometheus::BuildCounter()
                       .Name("lstmad_remote_write_out_requests_total")
                       .Help(
                           "Write-back requests by result: success (2xx), retried (5xx, 429 or no answer), "
                           "rejected (other 4xx).")
                       .Register(r);
  requests_ok_ = &requests.Add({{"result", "success"}});
  requests_retried_ = &requests.Add({{"result", "retried"}});
  requests_rejected_ = &requests.Add({{"result", "rejected"}});
  queue_gauge_ = &prometheus::BuildGauge()
                      .Name("lstmad_remote_write_out_queue_samples")
                      .Help("Samples waiting to be written back.")
                      .Register(r)
                      .Add({});
  thread_ = std::thread([this] { Loop(); });
}

RemoteWriteClient::~RemoteWriteClient() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

size_t RemoteWriteClient::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

core::Result<int> RemoteWriteClient::PostHttp(const std::string& body) const {
  std::string authorization;
  if (!settings_.bearer_token_file.empty()) {
    // Read at each request, so that a rotated token is used at once.
    core::Result<std::string> token = core::ReadFileBounded(settings_.bearer_token_file, kMaxTokenBytes);
    if (!token.ok()) return token.status();
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    authorization = "Bearer " + t;
  } else if (!settings_.username.empty()) {
    authorization = "Basic " + core::Base64Encode(settings_.username + ":" + settings_.password);
  }
  // A URL without a path posts to "/".
  return HttpPost(url_, url_.path.empty() ? "/" : "", body, authorization,
                  std::chrono::milliseconds(static_cast<int64_t>(settings_.timeout_s * 1000)), tls_,
                  "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                  "X-Prometheus-Remote-Write-Version: 0.1.0\r\n");
}

void RemoteWriteClient::DropOldest(size_t count) {
  for (size_t i = 0; i < count && !queue_.empty(); ++i) queue_.pop_front();
  dropped_->Increment(static_cast<double>(count));
}

// Called with `lock` held; collects without it (Collect takes the series'
// own mutex, and the scoring workers must not wait on this thread).
void RemoteWriteClient::Sample(std::unique_lock<std::mutex>* lock) {
  lock->unlock();
  std::vector<remote::Series> series = SeriesOfFamilies(collect_(), now_ms_());
  lock->lock();
  const auto capacity = static_cast<size_t>(settings_.max_queue_samples);
  if (series.size() > capacity) {
    // More series than the queue holds: the oldest of this sampling go too.
    const size_t excess = series.size() - capacity;
    series.erase(series.begin(), series.begin() + static_cast<ptrdiff_t>(excess));
    dropped_->Increment(static_cast<double>(excess));
  }
  if (queue_.size() + series.size() > capacity) DropOldest(queue_.size() + series.size() - capacity);
  for (remote::Series& s : series) queue_.push_back({next_seq_++, std::move(s)});
  queue_gauge_->Set(static_cast<double>(queue_.size()));
}

void RemoteWriteClient::Loop() {
  std::chrono::milliseconds backoff(0);
  Clock::time_point next_sample = Clock::now() + Seconds(settings_.interval_s);
  Clock::time_point retry_at = Clock::now();
  std::unique_lock lock(mutex_);
  const auto asked = [&] { return stop_ || flush_requests_ > 0; };
  while (!stop_) {
    if (Clock::now() >= next_sample || flush_requests_ > 0) {
      // Sampling goes on while a failing receiver is retried: the queue
      // bounds what piles up.
      Sample(&lock);
      next_sample = std::max(next_sample + Seconds(settings_.interval_s), Clock::now());
      if (flush_requests_ > 0)
        flush_requests_ = -flush_requests_;  // sampled for them; Flush waits for the send
    }
    if (Clock::now() < retry_at) {
      wake_.wait_until(lock, std::min(retry_at, next_sample), asked);
      continue;
    }
    if (queue_.empty()) {
      wake_.notify_all();  // for Flush
      wake_.wait_until(lock, next_sample, asked);
      continue;
    }
    const size_t count = std::min(queue_.size(), static_cast<size_t>(settings_.max_samples_per_send));
    std::vector<remote::Series> batch;
    batch.reserve(count);
    for (size_t i = 0; i < count; ++i) batch.push_back(queue_[i].series);
    const uint64_t end_seq = queue_[count - 1].seq + 1;
    lock.unlock();
    const core::Result<int> answer = post_(remote::EncodeWriteRequest(batch));
    lock.lock();
    // The queue may have dropped some of the batch meanwhile: remove only
    // what is left of it.
    auto pop_batch = [&] {
      size_t popped = 0;
      while (!queue_.empty() && queue_.front().seq < end_seq) {
        queue_.pop_front();
        ++popped;
      }
      queue_gauge_->Set(static_cast<double>(queue_.size()));
      return popped;
    };
    const int status = answer.ok() ? *answer : 0;
    if (status >= 200 && status < 300) {
      sent_->Increment(static_cast<double>(pop_batch()));
      requests_ok_->Increment();
      backoff = std::chrono::milliseconds(0);
    } else if (status >= 400 && status < 500 && status != 429) {
      const size_t popped = pop_batch();
      rejected_->Increment(static_cast<double>(popped));
      requests_rejected_->Increment();
      Log(LogLevel::kWarn, "remote_write_out: the receiver refused a batch; dropped",
          {Field("url", core::RedactUrlCredentials(settings_.url)), Field("status", status),
           Field("samples", static_cast<uint64_t>(popped))});
    } else {
      requests_retried_->Increment();
      backoff = std::min(std::max(backoff * 2, kMinBackoff), kMaxBackoff);
      retry_at = Clock::now() + backoff;
      Log(LogLevel::kWarn, "remote_write_out: request failed; retrying",
          {Field("url", core::RedactUrlCredentials(settings_.url)),
           Field("error", answer.ok() ? "HTTP " + std::to_string(status) : answer.status().message()),
           Field("retry_in_ms", static_cast<int64_t>(backoff.count()))});
    }
  }
}

void RemoteWriteClient::Flush(std::chrono::milliseconds budget) {
  std::unique_lock lock(mutex_);
  ++flush_requests_;
  wake_.notify_all();
  const Clock::time_point deadline = Clock::now() + budget;
  wake_.wait_until(lock, deadline, [&] { return flush_requests_ < 0 && queue_.empty(); });
  flush_requests_ = 0;
}

}  // namespace lstmad::daemon
