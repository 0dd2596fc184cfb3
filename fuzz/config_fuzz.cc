// Fuzzes the configuration loader (config/settings.h): the input is the YAML
// text, parsed as "fuzz.yaml" against a scratch base directory that holds the
// model files the seeds name (pump.lstmad, models/pump.lstmad, a.lstmad,
// b.lstmad) and a directory (dir.lstmad), so valid configurations get past
// the loader's stat() of each model path.
//
// Properties: no exception escapes (yaml-cpp throws; the loader must catch);
// a rejection's message starts with the source name; an accepted Settings
// honours every documented bound: at least one model, names valid and unique,
// measurements non-empty and unique, model paths absolute, existing and not
// directories, counts and durations in range.
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lstmad/config/settings.h"

namespace {

using lstmad::config::Settings;

constexpr char kSource[] = "fuzz.yaml";

// The scratch directory, made on first use and removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lstmad-config-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
    const std::filesystem::path base(path_);
    std::filesystem::create_directories(base / "models");
    std::filesystem::create_directories(base / "dir.lstmad");
    for (const char* name : {"pump.lstmad", "models/pump.lstmad", "a.lstmad", "b.lstmad"}) {
      std::ofstream(base / name) << "stand-in";
    }
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::string& BaseDir() {
  static const ScratchDir dir;
  return dir.path();
}

bool IsValidName(std::string_view name) {
  const auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !alpha(name[0])) return false;
  for (const char c : name) {
    if (!alpha(c) && !digit(c) && c != '-') return false;
  }
  return true;
}

bool InRange(double v, double lo, double hi) { return v >= lo && v <= hi; }  // false for NaN

bool IsAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

void CheckModels(const Settings& s) {
  LSTMAD_FUZZ_CHECK(!s.models.empty(), "accepted without models");
  std::set<std::string> names, measurements;
  for (const auto& m : s.models) {
    LSTMAD_FUZZ_CHECK(IsValidName(m.name), "invalid model name accepted: " + m.name);
    LSTMAD_FUZZ_CHECK(names.insert(m.name).second, "duplicate model name accepted: " + m.name);
    LSTMAD_FUZZ_CHECK(!m.measurement.empty(), "empty measurement accepted");
    LSTMAD_FUZZ_CHECK(measurements.insert(m.measurement).second,
                      "duplicate measurement: " + m.measurement);
    LSTMAD_FUZZ_CHECK(IsAbsolute(m.path), "model path not resolved: " + m.path);
    struct stat st {};
    LSTMAD_FUZZ_CHECK(::stat(m.path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode),
                      "model path accepted that is not a file: " + m.path);
    LSTMAD_FUZZ_CHECK(!m.threshold || InRange(*m.threshold, 0, INFINITY), "threshold out of range");
    LSTMAD_FUZZ_CHECK(m.alert.fire_after >= 1 && m.alert.clear_after >= 1, "alert counts below 1");
    LSTMAD_FUZZ_CHECK(m.line >= 1, "model without a line number");
  }
}

void CheckSections(const Settings& s) {
  LSTMAD_FUZZ_CHECK(s.source == kSource, "source not kept: " + s.source);
  LSTMAD_FUZZ_CHECK(!s.ingest.listen.host.empty() && !s.metrics.listen.host.empty(),
                    "empty listen host");
  LSTMAD_FUZZ_CHECK(
      s.limits.max_streams >= 1 && s.limits.max_line_bytes >= 1 && s.limits.max_connections >= 1,
      "a limit below 1");
  LSTMAD_FUZZ_CHECK(s.scoring.max_batch >= 1 && s.scoring.workers >= 1 && s.scoring.workers <= 64,
                    "scoring counts out of range");
  LSTMAD_FUZZ_CHECK(InRange(s.scoring.max_wait_ms, 0, 10000), "max_wait_ms out of range");
  LSTMAD_FUZZ_CHECK(s.events.path.empty() || IsAbsolute(s.events.path), "events path not resolved");
  LSTMAD_FUZZ_CHECK(s.state.path.empty() || IsAbsolute(s.state.path), "state path not resolved");
  LSTMAD_FUZZ_CHECK(InRange(s.state.interval_s, 1, 86400), "state interval out of range");
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  LSTMAD_FUZZ_CHECK(kLevels.count(s.log.level) == 1, "unknown log level accepted: " + s.log.level);
  const auto& am = s.alertmanager;
  for (const std::string& url : am.urls)
    LSTMAD_FUZZ_CHECK(url.starts_with("http://"), "bad url: " + url);
  LSTMAD_FUZZ_CHECK(InRange(am.timeout_s, 0.001, 60) && InRange(am.resend_interval_s, 1, 86400),
                    "alertmanager durations out of range");
  LSTMAD_FUZZ_CHECK(am.max_pending >= 1, "alertmanager.max_pending below 1");
  LSTMAD_FUZZ_CHECK(am.username.empty() || am.bearer_token.empty(),
                    "basic_auth and bearer_token both set");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    const auto settings = lstmad::config::ParseSettings(yaml, kSource, BaseDir());
    if (!settings.ok()) {
      const std::string& message = settings.status().message();
      const std::string_view source = kSource;
      LSTMAD_FUZZ_CHECK(message.starts_with(source) &&
                            (message.size() == source.size() || message[source.size()] == ':'),
                        "error without the source name: " + message);
      return 0;
    }
    CheckSections(*settings);
    CheckModels(*settings);
  } catch (const std::exception& e) {
    LSTMAD_FUZZ_CHECK(false, std::string("exception escaped ParseSettings: ") + e.what());
  } catch (...) {
    LSTMAD_FUZZ_CHECK(false, "a non-std exception escaped ParseSettings");
  }
  return 0;
}
