// AlertSink: where a stream's alert transitions go once scoring has decided
// them. Scoring builds the AlertEvent (it has the window, the error and the
// per-feature shares) and hands it here; what is done with it (the log line,
// the events file, Alertmanager) is alerting's business, so scoring depends
// on this interface only. Called on the scoring worker that owns the stream,
// so implementations must be quick and thread-safe.
#pragma once

#include "alerting/alerts.h"

namespace lstmad::daemon {

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void OnAlert(const AlertEvent& event) = 0;
};

}  // namespace lstmad::daemon
