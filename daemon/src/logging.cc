#include "logging.h"

#include <cmath>
#include <cstdio>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lstmad::daemon {
namespace {

std::atomic<bool> g_json{false};

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kCritical: return spdlog::level::critical;
  }
  return spdlog::level::info;
}

std::string Compose(std::string_view message, const LogField* fields, size_t count) {
  std::string line;
  if (g_json.load(std::memory_order_relaxed)) {
    line = "\"msg\":\"" + JsonEscape(message) + "\"";
    for (size_t i = 0; i < count; ++i) {
      const LogField& f = fields[i];
      line += ",\"" + JsonEscape(f.key) + "\":";
      line += f.quoted ? "\"" + JsonEscape(f.value) + "\"" : f.value;
    }
    return line;
  }
  line.assign(message);
  for (size_t i = 0; i < count; ++i) {
    const LogField& f = fields[i];
    const bool needs_quotes = f.quoted && (f.value.empty() || f.value.find_first_of(" \"=") != std::string::npos);
    line += " " + f.key + "=" + (needs_quotes ? "\"" + JsonEscape(f.value) + "\"" : f.value);
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

core::Status ConfigureLogging(const config::LogSettings& settings) {
  const spdlog::level::level_enum level = spdlog::level::from_str(settings.level);
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_logger_mt("lstmad");
    spdlog::set_default_logger(logger);
  });
  g_json = settings.format == config::LogFormat::kJson;
  if (g_json) {
    spdlog::set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
  return core::Status::Ok();
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  spdlog::log(ToSpd(level), "{}", Compose(message, fields.begin(), fields.size()));
}

void Log(LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
  spdlog::log(ToSpd(level), "{}", Compose(message, fields.data(), fields.size()));
}

void FlushLogs() { spdlog::default_logger()->flush(); }

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

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
