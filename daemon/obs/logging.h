// Structured logging for the daemon: one line per event, either text
// ("... msg key=value ...") or one JSON object per line (log.format: json),
// handed to the process's LogWriter. Also a rate limiter for floods of similar
// warnings.
//
// This facade has no third-party dependency, so every subsystem can log
// without linking spdlog: the daemon installs the spdlog writer at start
// (obs/spdlog_writer.h); until then (and in unit tests) lines go to stderr.
// Thread-safe: the writer is installed before other threads start.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical };

// A key and an already formatted value; `quoted` values are strings.
struct LogField {
  std::string key;
  std::string value;
  bool quoted = true;
};
LogField Field(std::string key, std::string_view value);
LogField Field(std::string key, double value);
LogField Field(std::string key, int64_t value);
inline LogField Field(std::string key, int value) { return Field(std::move(key), int64_t{value}); }
inline LogField Field(std::string key, uint64_t value) { return Field(std::move(key), static_cast<int64_t>(value)); }
inline LogField Field(std::string key, const char* value) { return Field(std::move(key), std::string_view(value)); }
inline LogField Field(std::string key, const std::string& value) { return Field(std::move(key), std::string_view(value)); }
LogField RawJsonField(std::string key, std::string json);  // a JSON value as is (text: as is too)

// Where composed lines go. Write() gets the level and the message with its
// fields (text, or the inside of a JSON object for log.format: json); the
// writer adds the time and the level. Must be thread-safe.
class LogWriter {
 public:
  virtual ~LogWriter() = default;
  virtual void Write(LogLevel level, std::string_view line) = 0;
  virtual void Flush() = 0;
};

// Installs the process-wide writer (not owned; must outlive every Log call)
// and the line format; null restores the default stderr writer.
void SetLogWriter(LogWriter* writer);
void SetLogFormat(config::LogFormat format);

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
void Log(LogLevel level, std::string_view message, const std::vector<LogField>& fields);
void FlushLogs();

// Allows at most `per_second` events a second; counts the suppressed ones so
// the next allowed line can say how many were dropped. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(int per_second) : per_second_(per_second) {}
  // True if this event may be logged; `suppressed` receives how many were
  // dropped since the last allowed one.
  bool Allow(uint64_t* suppressed);

 private:
  int per_second_;
  std::atomic<int64_t> window_start_{0};
  std::atomic<int> in_window_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace lstmad::daemon
