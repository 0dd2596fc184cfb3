#include "obs/logging.h"

#include <cmath>
#include <cstdio>
#include <mutex>

#include "obs/json_text.h"

namespace lstmad::daemon {
namespace {

std::atomic<bool> g_json{false};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
    case LogLevel::kCritical: return "critical";
  }
  return "info";
}

// Until the daemon installs its writer: info and above to stderr, one
// fprintf per line so concurrent lines do not interleave.
class StderrWriter final : public LogWriter {
 public:
  void Write(LogLevel level, std::string_view line) override {
    if (level < LogLevel::kInfo) return;
    std::fprintf(stderr, "%s %.*s\n", LevelName(level), static_cast<int>(line.size()), line.data());
  }
  void Flush() override { std::fflush(stderr); }
};

StderrWriter g_stderr_writer;
std::atomic<LogWriter*> g_writer{&g_stderr_writer};

std::string Compose(std::string_view message, const LogField* fields, size_t count) {
  std::string line;
  if (g_json.load(std::memory_order_relaxed)) {
    line = "\"msg\":" + JsonString(message);
    for (size_t i = 0; i < count; ++i) {
      const LogField& f = fields[i];
      line += "," + JsonString(f.key) + ":";
      line += f.quoted ? JsonString(f.value) : f.value;
    }
    return line;
  }
  line.assign(message);
  for (size_t i = 0; i < count; ++i) {
    const LogField& f = fields[i];
    const bool needs_quotes = f.quoted && (f.value.empty() || f.value.find_first_of(" \"=") != std::string::npos);
    line += " " + f.key + "=" + (needs_quotes ? JsonString(f.value) : f.value);
  }
  return line;
}

}  // namespace

LogField Field(std::string key, std::string_view value) { return {std::move(key), std::string(value), true}; }

LogField Field(std::string key, double value) {
  if (!std::isfinite(value)) return {std::move(key), "null", false};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return {std::move(key), buf, false};
}

LogField Field(std::string key, int64_t value) { return {std::move(key), std::to_string(value), false}; }

LogField RawJsonField(std::string key, std::string json) { return {std::move(key), std::move(json), false}; }

void SetLogWriter(LogWriter* writer) { g_writer = writer != nullptr ? writer : &g_stderr_writer; }

void SetLogFormat(config::LogFormat format) { g_json = format == config::LogFormat::kJson; }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  g_writer.load()->Write(level, Compose(message, fields.begin(), fields.size()));
}

void Log(LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
  g_writer.load()->Write(level, Compose(message, fields.data(), fields.size()));
}

void FlushLogs() { g_writer.load()->Flush(); }

bool RateLimiter::Allow(uint64_t* suppressed) {
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  int64_t start = window_start_.load();
  if (now_s != start && window_start_.compare_exchange_strong(start, now_s)) in_window_ = 0;
  if (in_window_.fetch_add(1) < per_second_) {
    *suppressed = suppressed_.exchange(0);
    return true;
  }
  suppressed_.fetch_add(1);
  return false;
}

}  // namespace lstmad::daemon
