// AlertDispatcher: the AlertSink of a running daemon. Each transition is
// logged (warn when fired, info when resolved, with the top features; at
// most kLogLinesPerSecond lines a second, the next one counting those
// suppressed), appended to the events file when one is configured, and
// handed to the Alertmanager client when one is set: those two get every
// transition. A failed events-file write is counted
// (lstmad_event_write_failures_total) and logged at most once a second; it
// never stops the others. Thread-safe: the events file and the client may be
// swapped on reload while scoring workers call OnAlert.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "alerting/alert_sink.h"
#include "alerting/alertmanager_client.h"
#include "alerting/event_log.h"
#include "obs/logging.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

class AlertDispatcher final : public AlertSink {
 public:
  // Alert log lines a second at most: a flood of streams crossing the
  // threshold together (or a client writing to many streams) must not flood
  // the journal; the events file and Alertmanager still get every one.
  static constexpr int kLogLinesPerSecond = 10;

  explicit AlertDispatcher(Metrics* metrics) : metrics_(metrics) {}

  void OnAlert(const AlertEvent& event) override;
  void SetEventLog(std::shared_ptr<EventLog> events);
  // Not owned; must outlive the dispatcher's last OnAlert. Null: none.
  void SetAlertmanager(AlertmanagerClient* client) { alertmanager_ = client; }

 private:
  void Append(const AlertEvent& event);

  Metrics* metrics_;
  std::mutex events_mutex_;
  std::shared_ptr<EventLog> events_;
  std::atomic<AlertmanagerClient*> alertmanager_{nullptr};
  RateLimiter write_failure_log_{1};
  RateLimiter alert_log_{kLogLinesPerSecond};
};

}  // namespace lstmad::daemon
