#include "alerting/alertmanager_client.h"

#include <cstdio>
#include <utility>

#include <nlohmann/json.hpp>
#include <prometheus/counter.h>

#include "lstmad/core/text.h"
#include "obs/logging.h"
#include "obs/stream_labels.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string AlertmanagerAlertJson(const AlertEvent& event, const std::string& severity,
                                  int64_t starts_at_ns) {
  std::string top;
  for (const auto& [name, share] : event.top_features) {
    top += (top.empty() ? "" : ", ") + name + " " + core::FormatSignificant(100 * share) + "%";
  }
  // ordered_json keeps the keys in the order written, so the body reads as
  // Alertmanager's API documents an alert.
  nlohmann::ordered_json alert;
  // The stream's tags as labels, as on /metrics, so routes can match `site`.
  alert["labels"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : StreamLabels({{"alertname", "LstmadStreamAnomalous"},
                                                 {"model", event.model},
                                                 {"stream", event.stream},
                                                 {"severity", severity}},
                                                event.stream)) {
    alert["labels"][name] = value;
  }
  alert["annotations"] = {
      {"summary", "Stream " + event.stream + " of model " + event.model + " is anomalous"},
      {"description", "Reconstruction error " + core::FormatSignificant(event.error) + " above the threshold " +
                          core::FormatSignificant(event.threshold) + "; top features: " + top},
      {"error", core::FormatSignificant(event.error)},
      {"threshold", core::FormatSignificant(event.threshold)},
      {"top_features", top}};
  // A resolution that is not the stream back to normal (it went away, or its
  // change was accepted as the new normal): say why.
  if (!event.reason.empty()) alert["annotations"]["resolved_reason"] = event.reason;
  alert["startsAt"] = core::FormatRfc3339Nanos(starts_at_ns);
  if (event.kind == "resolved") alert["endsAt"] = core::FormatRfc3339Nanos(event.time_ns);
  // Model, stream and feature names come from config and client input and
  // may hold any bytes; replace turns invalid UTF-8 into U+FFFD so the body
  // stays valid JSON (dump would throw otherwise). Alertmanager then shows
  // the label with U+FFFD where the bad bytes were.
  return alert.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
}

AlertmanagerClient::AlertmanagerClient(const config::AlertmanagerSettings& settings, Metrics* metrics,
                                       TlsTransport tls)
    : settings_(settings), tls_(std::move(tls)), metrics_(metrics), next_resend_(Clock::now()) {
  thread_ = std::thread([this] { Loop(); });
}

AlertmanagerClient::~AlertmanagerClient() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AlertmanagerClient::Reconfigure(const config::AlertmanagerSettings& settings, TlsTransport tls) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
  tls_ = std::move(tls);
}

void AlertmanagerClient::Notify(const AlertEvent& event) {
  const std::string key = event.model + "\n" + event.stream;
  std::lock_guard lock(mutex_);
  if (!settings_.enabled()) return;
  if (event.kind == "fired") {
    Firing& firing = firing_[key];
    firing = {AlertmanagerAlertJson(event, settings_.severity, event.time_ns), event.time_ns};
    pending_.push_back(firing.json);
  } else {
    // startsAt must match the firing alert's for Alertmanager to resolve it.
    int64_t started = event.time_ns;
    if (auto it = firing_.find(key); it != firing_.end()) {
      started = it->second.started_ns;
      firing_.erase(it);
    }
    pending_.push_back(AlertmanagerAlertJson(event, settings_.severity, started));
  }
  while (pending_.size() > static_cast<size_t>(settings_.max_pending)) {
    pending_.pop_front();
    metrics_->AlertDelivery(Metrics::DeliveryResult::kDropped).Increment();
  }
  wake_.notify_all();
}

size_t AlertmanagerClient::Reannounce(const std::vector<AlertEvent>& firing) {
  for (const AlertEvent& event : firing) Notify(event);  // each a "fired" event, as it first fired
  return firing.size();
}

void AlertmanagerClient::Forget(const std::string& model, const std::string& stream) {
  std::lock_guard lock(mutex_);
  firing_.erase(model + "\n" + stream);
}

std::string AlertmanagerClient::Authorization() const {
  if (!settings_.bearer_token.empty()) return "Bearer " + settings_.bearer_token;
  if (!settings_.username.empty()) return "Basic " + core::Base64Encode(settings_.username + ":" + settings_.password);
  return {};
}

bool AlertmanagerClient::SendBatch(const std::string& body) {
  std::vector<std::string> urls;
  std::string authorization;
  std::chrono::milliseconds timeout;
  TlsTransport tls;
  {
    std::lock_guard lock(mutex_);
    urls = settings_.urls;
    tls = tls_;
    authorization = Authorization();
    timeout = std::chrono::milliseconds(static_cast<int64_t>(settings_.timeout_s * 1000));
  }
  bool all = true;
  for (const std::string& url : urls) {
    core::Result<HttpUrl> parsed = ParseHttpUrl(url);
    core::Result<int> status = parsed.ok()
                                   ? HttpPost(*parsed, "/api/v2/alerts", body, authorization, timeout, tls)
                                   : core::Result<int>(parsed.status());
    const bool ok = status.ok() && *status >= 200 && *status < 300;
    metrics_->AlertDelivery(ok ? Metrics::DeliveryResult::kSuccess : Metrics::DeliveryResult::kFailure)
        .Increment();
    if (!ok) {
      all = false;
      static RateLimiter limiter(1);
      uint64_t suppressed = 0;
      if (limiter.Allow(&suppressed)) {
        Log(LogLevel::kWarn, "alert delivery to Alertmanager failed; will retry",
            {Field("url", core::RedactUrlCredentials(url)),
             Field("error",
                   status.ok() ? "HTTP status " + std::to_string(*status) : status.status().message()),
             Field("suppressed_since_last", suppressed)});
      }
    }
  }
  return all;
}

void AlertmanagerClient::Loop() {
  std::chrono::milliseconds backoff(0);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const auto resend_every = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(settings_.resend_interval_s));
    if (Clock::now() >= next_resend_) {
      // Re-send what is firing, as Alertmanager expects, unless it is queued already.
      for (const auto& [key, firing] : firing_) pending_.push_back(firing.json);
      next_resend_ = Clock::now() + resend_every;
    }
    if (pending_.empty() || !settings_.enabled()) {
      if (!settings_.enabled()) pending_.clear();
      wake_.wait_until(lock, next_resend_);
      continue;
    }
    std::string body = "[";
    const size_t count = std::min<size_t>(pending_.size(), 500);
    for (size_t i = 0; i < count; ++i) body += (i ? "," : "") + pending_[i];
    body += "]";
    lock.unlock();
    const bool ok = SendBatch(body);
    lock.lock();
    if (ok) {
      for (size_t i = 0; i < count && !pending_.empty(); ++i) pending_.pop_front();
      backoff = std::chrono::milliseconds(0);
      if (pending_.empty()) wake_.notify_all();  // for Flush
    } else {
      // Exponential backoff from 0.5 s up to the resend interval; new alerts
      // do not shorten it, so an unreachable Alertmanager is not hammered.
      backoff = std::min<std::chrono::milliseconds>(
          std::max<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds(500)),
          std::chrono::duration_cast<std::chrono::milliseconds>(resend_every));
      const auto until = Clock::now() + backoff;
      wake_.wait_until(lock, until, [&] { return stop_ || (flushing_ && Clock::now() >= until); });
    }
  }
}

void AlertmanagerClient::Flush(std::chrono::milliseconds budget) {
  std::unique_lock lock(mutex_);
  flushing_ = true;
  wake_.notify_all();
  wake_.wait_for(lock, budget, [&] { return pending_.empty() || !settings_.enabled(); });
  flushing_ = false;
}

}  // namespace lstmad::daemon
