#include "alerting/alert_dispatcher.h"

#include <cstdio>
#include <string>
#include <vector>

#include <prometheus/counter.h>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

// "name:share,..." with two decimals, as the log line shows the top features.
std::string TopFeaturesText(const AlertEvent& event) {
  std::string top;
  for (const auto& [name, share] : event.top_features) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s:%.2f", top.empty() ? "" : ",", name.c_str(), share);
    top += buf;
  }
  return top;
}

}  // namespace

void AlertDispatcher::SetEventLog(std::shared_ptr<EventLog> events) {
  std::lock_guard lock(events_mutex_);
  events_ = std::move(events);
}

void AlertDispatcher::OnAlert(const AlertEvent& event) {
  const bool fired = event.kind == "fired";
  if (uint64_t suppressed = 0; alert_log_.Allow(&suppressed)) {
    std::vector<LogField> fields = {Field("model", event.model),
                                    Field("stream", event.stream),
                                    Field("error", event.error),
                                    Field("threshold", event.threshold),
                                    // As the events file writes them: RFC 3339, UTC.
                                    Field("window_start", core::FormatRfc3339Nanos(event.window_start_ns)),
                                    Field("window_end", core::FormatRfc3339Nanos(event.window_end_ns)),
                                    Field("top_features", TopFeaturesText(event))};
    if (!event.reason.empty()) fields.push_back(Field("reason", event.reason));
    // Alert lines left out since the last one logged (fired and resolved alike).
    if (suppressed > 0) fields.push_back(Field("suppressed", suppressed));
    Log(fired ? LogLevel::kWarn : LogLevel::kInfo, fired ? "alert fired" : "alert resolved", fields);
  }
  if (AlertmanagerClient* client = alertmanager_.load()) client->Notify(event);
  Append(event);
}

void AlertDispatcher::Append(const AlertEvent& event) {
  std::shared_ptr<EventLog> events;
  {
    std::lock_guard lock(events_mutex_);
    events = events_;
  }
  if (!events) return;
  if (core::Status s = events->Append(event); !s.ok()) {
    metrics_->EventWriteFailures().Increment();
    uint64_t suppressed = 0;
    if (write_failure_log_.Allow(&suppressed)) {
      Log(LogLevel::kError, "writing the events file failed",
          {Field("error", s.message()), Field("suppressed", suppressed)});
    }
  }
}

}  // namespace lstmad::daemon
