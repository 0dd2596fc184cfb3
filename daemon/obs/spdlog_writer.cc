#include "obs/spdlog_writer.h"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

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

class SpdlogWriter final : public LogWriter {
 public:
  void Write(LogLevel level, std::string_view line) override { spdlog::log(ToSpd(level), "{}", line); }
  void Flush() override { spdlog::default_logger()->flush(); }
};

}  // namespace

core::Status ConfigureLogging(const config::LogSettings& settings) {
  const spdlog::level::level_enum level = spdlog::level::from_str(settings.level);
  static SpdlogWriter writer;
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_logger_mt("lstmad");
    spdlog::set_default_logger(logger);
    SetLogWriter(&writer);
  });
  SetLogFormat(settings.format);
  if (settings.format == config::LogFormat::kJson) {
    spdlog::set_pattern("{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::info);
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
