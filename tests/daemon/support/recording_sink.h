// Test support: an AlertSink that records every alert transition, for tests
// that check what scoring decided. Thread-safe (scoring workers call it).
#pragma once

#include <mutex>
#include <vector>

#include "alerting/alert_sink.h"

namespace lstmad::daemon::testing {

class RecordingSink final : public AlertSink {
 public:
  void OnAlert(const AlertEvent& event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
  }
  std::vector<AlertEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AlertEvent> events_;
};

}  // namespace lstmad::daemon::testing
