// AlertmanagerClient: pushes lstmad's alerts to Alertmanager's v2 API
// (POST /api/v2/alerts) from its own thread, so ingestion never waits on it.
//
// A firing alert is sent when it fires and re-sent every resend_interval_s
// (Alertmanager resolves alerts it stops hearing about); a resolution is sent
// once with endsAt. Failed requests are retried with exponential backoff;
// notifications wait in a bounded queue (max_pending, the oldest dropped and
// counted beyond it). Every request's result is counted in
// lstmad_alert_deliveries_total{result}. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "alerting/http_client.h"
#include "lstmad/config/settings.h"
#include "alerting/alerts.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

class AlertmanagerClient {
 public:
  // `tls` carries requests to https:// URLs (built from alertmanager.tls by
  // the daemon); without it they fail and are counted like any failure.
  AlertmanagerClient(const config::AlertmanagerSettings& settings, Metrics* metrics, TlsTransport tls = {});
  ~AlertmanagerClient();
  AlertmanagerClient(const AlertmanagerClient&) = delete;
  AlertmanagerClient& operator=(const AlertmanagerClient&) = delete;

  void Notify(const AlertEvent& event);  // never blocks on the network
  // Alerts that were firing when their streams were saved (a restart's
  // snapshot, a partition's checkpoint): sent again now, with their
  // original startsAt, and re-sent from here on. Returns how many.
  size_t Reannounce(const std::vector<AlertEvent>& firing);
  // Cluster mode: the stream moved to another instance, which now owns its
  // alert; this one stops re-sending it.
  void Forget(const std::string& model, const std::string& stream);
  void Reconfigure(const config::AlertmanagerSettings& settings, TlsTransport tls = {});
  // Sends what is queued now (bounded by the timeout); used on shutdown.
  void Flush(std::chrono::milliseconds budget);

 private:
  void Loop();
  bool SendBatch(const std::string& body);  // true if every URL accepted it
  std::string Authorization() const;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  config::AlertmanagerSettings settings_;
  TlsTransport tls_;
  Metrics* metrics_;
  std::deque<std::string> pending_;             // alert JSON objects not yet delivered
  struct Firing {
    std::string json;  // re-sent periodically
    int64_t started_ns = 0;
  };
  std::map<std::string, Firing> firing_;  // by model and stream
  std::chrono::steady_clock::time_point next_resend_;
  bool stop_ = false;
  bool flushing_ = false;
  std::thread thread_;
};

// The Alertmanager v2 JSON object for one transition. Times are RFC 3339 UTC
// with nanoseconds; invalid UTF-8 in the model, stream or feature names
// becomes U+FFFD (written as UTF-8), so the body is valid JSON for any bytes.
std::string AlertmanagerAlertJson(const AlertEvent& event, const std::string& severity, int64_t starts_at_ns);

}  // namespace lstmad::daemon
