// EventLog: appends alert transitions to the events file as JSON lines.
//
// Opened with O_APPEND, flushed (write(2)) per event, so a reader tailing the
// file sees whole lines and nothing is lost on exit. A write failure (full
// disk, unwritable path) is returned, never thrown: the caller logs and
// counts it and ingestion goes on. Thread-safe (one write(2) per event).
#pragma once

#include <memory>
#include <string>

#include "lstmad/core/status.h"
#include "alerting/alerts.h"

namespace lstmad::daemon {

class EventLog {
 public:
  EventLog() = default;  // disabled: Append() does nothing
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Opens (creating with mode 0640) `path` for appending.
  static core::Result<std::unique_ptr<EventLog>> Open(const std::string& path);

  core::Status Append(const AlertEvent& event);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace lstmad::daemon
