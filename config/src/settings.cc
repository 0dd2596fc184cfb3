// The schema of lstmad.yaml: one function per section, each taking the keys
// schema_keys.h lists for it and checking what they hold. yaml_reader.h does
// the typing and the error messages; this file only knows the settings.
#include "lstmad/config/settings.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <cmath>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "lstmad/core/files.h"
#include "lstmad/core/text.h"
#include "mqtt_settings.h"
#include "nats_settings.h"
#include "remote_write_settings.h"
#include "schema_keys.h"
#include "yaml_reader.h"

namespace lstmad::config {
namespace {

using core::Status;
using detail::Field;
using detail::Reader;
namespace keys = detail::keys;

constexpr int kUnbounded = std::numeric_limits<int>::max();
constexpr double kMaxWaitMs = 10000.0;
// limits.stream_expiry_s: ten years, so the sweep interval and steady-clock
// arithmetic stay far from overflow.
constexpr double kMaxStreamExpiryS = 10.0 * 365 * 86400;
constexpr int kMaxWorkers = 64;
// A configuration is a few kilobytes; this only stops a wrong path (a log,
// a disk image) from being read whole.
constexpr uint64_t kMaxConfigBytes = 16u << 20;

constexpr std::pair<std::string_view, TimestampPrecision> kPrecisions[] = {
    {"ns", TimestampPrecision::kNanoseconds},
    {"us", TimestampPrecision::kMicroseconds},
    {"ms", TimestampPrecision::kMilliseconds},
    {"s", TimestampPrecision::kSeconds},
};
constexpr std::pair<std::string_view, std::string_view> kLogLevels[] = {
    {"trace", "trace"}, {"debug", "debug"},       {"info", "info"}, {"warn", "warn"},
    {"error", "error"}, {"critical", "critical"}, {"off", "off"},
};
constexpr std::pair<std::string_view, LogFormat> kLogFormats[] = {
    {"text", LogFormat::kText},
    {"json", LogFormat::kJson},
};

// Model names become metric label values and log fields: keep them plain.
bool IsValidName(std::string_view name) {
  const auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !(is_alpha(name[0]) || name[0] == '_')) return false;
  for (const char c : name) {
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

// Shared with nats_settings.cc.
namespace detail {

std::string Resolve(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

// "30s", "5m", "1h", "250ms" or a plain number of seconds.
Status ReadDuration(const Reader& r, const Field& f, double min_s, double max_s, double* out) {
  std::string text;
  LSTMAD_RETURN_IF_ERROR(r.ReadString(f, &text));
  double scale = 1;
  std::string number = text;
  for (const auto& [suffix, factor] : {std::pair{"ms", 0.001}, {"s", 1.0}, {"m", 60.0}, {"h", 3600.0}}) {
    const std::string sfx = suffix;
    if (text.size() > sfx.size() && text.compare(text.size() - sfx.size(), sfx.size(), sfx) == 0) {
      number = text.substr(0, text.size() - sfx.size());
      scale = factor;
      break;
    }
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(value) ||
      value * scale < min_s || value * scale > max_s) {
    return r.Error(f, "expected a duration like 30s, 5m or 1h from " + std::to_string(static_cast<int>(min_s)) +
                          "s to " + std::to_string(static_cast<int>(max_s)) + "s, got " + core::Quote(text));
  }
  *out = value * scale;
  return Status::Ok();
}

Status ReadExistingFile(const Reader& r, const Field& f, const std::string& base_dir, std::string* out) {
  LSTMAD_RETURN_IF_ERROR(r.ReadString(f, out));
  *out = Resolve(*out, base_dir);
  struct stat st {};
  if (::stat(out->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return r.Error(f, "no such file: " + *out);
  return Status::Ok();
}

}  // namespace detail

namespace {

using detail::ReadDuration;
using detail::ReadExistingFile;
using detail::Resolve;

// "10.0.0.0/8", "192.168.1.7" (a /32), "::1/128".
Status CheckCidr(const Reader& r, const Field& f, const std::string& cidr) {
  const size_t slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  unsigned char buf[16];
  const bool v4 = inet_pton(AF_INET, address.c_str(), buf) == 1;
  const bool v6 = !v4 && inet_pton(AF_INET6, address.c_str(), buf) == 1;
  int bits = v4 ? 32 : 128;
  if (slash != std::string::npos) {
    const std::string prefix = cidr.substr(slash + 1);
    const auto [ptr, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    if (ec != std::errc() || ptr != prefix.data() + prefix.size()) bits = -1;
  }
  if ((!v4 && !v6) || bits < 0 || bits > (v4 ? 32 : 128)) {
    return r.Error(f, "expected a network like 10.0.0.0/8 or fd00::/8, got " + core::Quote(cidr));
  }
  return Status::Ok();
}

Status ParseTls(const Reader& r, const Field& f, const std::string& base_dir, TlsSettings* out) {
  const Status s = r.ForEachField(f, keys::kTls, [&](std::string_view key, const Field& v) {
    std::string* target = key == "cert" ? &out->cert : key == "key" ? &out->key : &out->client_ca;
    return ReadExistingFile(r, v, base_dir, target);
  });
  if (!s.ok()) return s;
  if (out->cert.empty() || out->key.empty()) return r.Error(f, "tls needs both cert and key");
  return Status::Ok();
}

Status ParseHttpIngest(const Reader& r, const Field& f, const std::string& base_dir, HttpIngestSettings* out) {
  return r.ForEachField(f, keys::kIngestHttp, [&](std::string_view key, const Field& v) {
    if (key == "listen") return r.ReadEndpoint(v, &out->listen.emplace());
    if (key == "tls") return ParseTls(r, v, base_dir, &out->tls);
    if (key == "tokens") {
      return r.ForEachItem(v, [&](size_t, const Field& item) {
        std::string token;
        LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &token));
        if (token.empty()) return r.Error(item, "an empty token would accept anyone");
        out->tokens.push_back(std::move(token));
        return Status::Ok();
      });
    }
    if (key == "max_body_bytes") return r.ReadInt(v, 1024, 1 << 30, &out->max_body_bytes);
    // The listener holds 64 connections in all (net/http_server.cc).
    if (key == "max_connections_per_peer") return r.ReadInt(v, 1, 64, &out->max_connections_per_peer);
    if (key == "max_requests_per_connection") return r.ReadInt(v, 1, kUnbounded, &out->max_requests_per_connection);
    return ReadDuration(r, v, 0.1, 3600, &out->idle_timeout_s);
  });
}

Status ParseGraphite(const Reader& r, const Field& f, GraphiteSettings* out) {
  return r.ForEachField(f, keys::kGraphite, [&](std::string_view key, const Field& v) {
    if (key == "listen") {
      Endpoint endpoint;
      LSTMAD_RETURN_IF_ERROR(r.ReadEndpoint(v, &endpoint));
      out->listen = endpoint;
      return Status::Ok();
    }
    if (key == "separator") return r.ReadString(v, &out->separator);
    return r.ForEachItem(v, [&](size_t, const Field& item) {
      std::string spec;
      LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &spec));
      if (spec.empty()) return r.Error(item, "must not be empty");
      out->templates.push_back(spec);
      return Status::Ok();
    });
  });
}

Status ParseIngest(const Reader& r, const Field& f, const std::string& base_dir, IngestSettings* out) {
  return r.ForEachField(f, keys::kIngest, [&](std::string_view key, const Field& v) {
    if (key == "listen") return r.ReadEndpoint(v, &out->listen);
    if (key == "http") return ParseHttpIngest(r, v, base_dir, &out->http);
    if (key == "graphite") return ParseGraphite(r, v, &out->graphite);
    if (key == "tls") return ParseTls(r, v, base_dir, &out->tls);
    if (key == "idle_timeout") return ReadDuration(r, v, 0, 86400, &out->idle_timeout_s);
    if (key == "handshake_timeout") return ReadDuration(r, v, 1, 300, &out->handshake_timeout_s);
    if (key == "allow") {
      return r.ForEachItem(v, [&](size_t, const Field& item) {
        std::string cidr;
        LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &cidr));
        LSTMAD_RETURN_IF_ERROR(CheckCidr(r, item, cidr));
        out->allow.push_back(cidr);
        return Status::Ok();
      });
    }
    return r.ReadEnum<TimestampPrecision>(v, kPrecisions, &out->precision);
  });
}

// bcrypt hashes as htpasswd -B and Prometheus' web config write them.
Status ParseBasicAuthUsers(const Reader& r, const Field& f, MetricsSettings* out) {
  return r.ForEachField(f, {}, [&](std::string_view name, const Field& v) {
    std::string hash;
    LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &hash));
    if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$') {
      return r.Error(v, "expected a bcrypt hash ($2b$...), as htpasswd -nB writes");
    }
    out->basic_auth_users.emplace_back(std::string(name), hash);
    return Status::Ok();
  });
}

Status ParseMetrics(const Reader& r, const Field& f, const std::string& base_dir, MetricsSettings* out) {
  return r.ForEachField(f, keys::kMetrics, [&](std::string_view key, const Field& v) {
    if (key == "basic_auth_users") return ParseBasicAuthUsers(r, v, out);
    if (key == "tls") return ParseTls(r, v, base_dir, &out->tls);
    // The metrics port holds 64 connections in all (net/http_server.cc).
    if (key == "max_connections_per_peer") return r.ReadInt(v, 1, 64, &out->max_connections_per_peer);
    if (key == "max_auth_failures_per_minute") {
      return r.ReadInt(v, 1, kUnbounded, &out->max_auth_failures_per_minute);
    }
    return r.ReadEndpoint(v, &out->listen);
  });
}

Status ParseAlert(const Reader& r, const Field& f, AlertSettings* out) {
  return r.ForEachField(f, keys::kAlert, [&](std::string_view key, const Field& v) {
    return r.ReadInt(v, 1, kUnbounded, key == "for" ? &out->fire_after : &out->clear_after);
  });
}

Status ParseAssembly(const Reader& r, const Field& f, AssemblySettings* out) {
  out->enabled = true;
  return r.ForEachField(f, keys::kAssembly, [&](std::string_view key, const Field& v) {
    if (key == "tolerance") return ReadDuration(r, v, 0, 3600, &out->tolerance_s);
    if (key == "wait") return ReadDuration(r, v, 0, 3600, &out->wait_s);
    if (key == "carry_forward") return r.ReadInt(v, 0, 1000000, &out->carry_forward);
    return r.ReadInt(v, 1, 1024, &out->max_pending);
  });
}

// detector.novelty_margin: a fraction of each feature's range (0 to 10), or
// `off`.
Status ReadNoveltyMargin(const Reader& r, const Field& f, double* out) {
  if (f.node.IsScalar() && f.node.Scalar() == "off") {
    *out = core::kNoveltyOff;
    return Status::Ok();
  }
  if (r.ReadDouble(f, 0, 10, out).ok()) return Status::Ok();
  return r.Error(f, "expected a number from 0 to 10 (a fraction of each feature's range) or off, got " +
                        detail::Describe(f.node));
}

Status ParseDetector(const Reader& r, const Field& f, DetectorSettings* out) {
  static constexpr std::pair<std::string_view, bool> kBools[] = {{"true", true}, {"false", false}};
  static constexpr std::pair<std::string_view, core::ThresholdMode> kModes[] = {
      {"fixed", core::ThresholdMode::kFixed}, {"spot", core::ThresholdMode::kSpot},
      {"dspot", core::ThresholdMode::kDspot}, {"likelihood", core::ThresholdMode::kLikelihood},
      {"spot_and_likelihood", core::ThresholdMode::kSpotAndLikelihood}};
  static constexpr std::pair<std::string_view, core::ScoreMode> kScores[] = {
      {"onset", core::ScoreMode::kOnset}, {"level", core::ScoreMode::kLevel}};
  core::DetectorOptions& o = out->options;
  const Status parsed = r.ForEachField(f, keys::kDetector, [&](std::string_view key, const Field& v) {
    if (key == "anomaly_score") return r.ReadEnum<bool>(v, kBools, &out->anomaly_score);
    if (key == "threshold") return r.ReadEnum<core::ThresholdMode>(v, kModes, &o.threshold);
    if (key == "score") return r.ReadEnum<core::ScoreMode>(v, kScores, &o.score);
    if (key == "risk") return r.ReadDouble(v, 1e-12, 0.5, &o.spot.risk);
    if (key == "level") return r.ReadDouble(v, 0.5, 0.9999, &o.spot.initial_level);
    if (key == "max_peaks") return r.ReadInt(v, 1, 100000, &o.spot.max_peaks);
    if (key == "dspot_depth") return r.ReadInt(v, 1, 10000, &o.dspot_depth);
    if (key == "smoothing") return r.ReadDouble(v, 1, 1e6, &o.smoothing_span);
    if (key == "refractory") return r.ReadInt(v, 0, 1 << 24, &o.refractory);
    if (key == "likelihood_window") return r.ReadInt(v, 1, 10000, &o.likelihood.short_window);
    if (key == "likelihood_history") return r.ReadInt(v, 100, 1000000, &o.likelihood.history);
    if (key == "likelihood_risk") return r.ReadDouble(v, 1e-12, 0.1, &o.likelihood.risk);
    if (key == "likelihood_risk_per") return ReadDuration(r, v, 0, 30 * 86400, &o.likelihood_risk_per);
    if (key == "likelihood_clear_risk") return r.ReadDouble(v, 0, 0.49, &o.likelihood.clear_risk);
    if (key == "likelihood_settle") return r.ReadInt(v, -1, 1 << 24, &o.settle);
    if (key == "likelihood_settle_weight") return r.ReadInt(v, 1, 10000, &o.settle_weight);
    if (key == "likelihood_accept_after") return r.ReadInt(v, -1, 1 << 24, &o.accept_after);
    if (key == "novelty_margin") return ReadNoveltyMargin(r, v, &o.novelty_margin);
    return r.ReadInt(v, core::kMinSpotCalibration, 1000000, &o.calibration_windows);
  });
  if (!parsed.ok()) return parsed;
  // The checks that tie keys together (q below 1 - level; enough calibration
  // windows for DSPOT's depth), reported at the section.
  if (Status s = o.Validate(); !s.ok()) return r.Error(f, s.message());
  return Status::Ok();
}

Status ReadModelPath(const Reader& r, const Field& f, const std::string& base_dir,
                     std::string* out) {
  std::string text;
  LSTMAD_RETURN_IF_ERROR(r.ReadString(f, &text));
  if (text.empty()) return r.Error(f, "must not be empty");
  *out = Resolve(text, base_dir);
  struct stat st {};
  if (::stat(out->c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return r.Error(f, "no such file: " + *out);
    return r.Error(f, "cannot stat " + *out + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return r.Error(f, "is a directory: " + *out);
  return Status::Ok();
}

constexpr std::pair<std::string_view, RetrainScope> kRetrainScopes[] = {
    {"model", RetrainScope::kModel},
    {"stream", RetrainScope::kStream},
};

// models[i].retrain: `every` and `min_windows` are required, the rest default.
Status ParseRetrain(const Reader& r, const Field& f, RetrainSettings* out) {
  std::optional<Field> max_at;
  const Status s = r.ForEachField(f, keys::kRetrain, [&](std::string_view key, const Field& v) {
    if (key == "every") return ReadDuration(r, v, 1, 30 * 86400, &out->every_s);
    if (key == "min_windows") return r.ReadInt(v, 10, kUnbounded, &out->min_windows);
    if (key == "epochs") return r.ReadInt(v, 1, 1000, &out->epochs);
    if (key == "holdout") return r.ReadDouble(v, 0.05, 0.5, &out->holdout);
    if (key == "scope") return r.ReadEnum<RetrainScope>(v, kRetrainScopes, &out->scope);
    max_at = v;
    return r.ReadInt(v, 10, kUnbounded, &out->max_windows);
  });
  if (!s.ok()) return s;
  for (const auto& [key, missing] : {std::pair{"every", out->every_s == 0}, {"min_windows", out->min_windows == 0}}) {
    if (missing) return r.Error(f.line, detail::JoinPath(f.path, key), "required key is missing");
  }
  if (!max_at) {
    out->max_windows = static_cast<int>(std::min<int64_t>(int64_t{4} * out->min_windows, kUnbounded));
  } else if (out->max_windows < out->min_windows) {
    return r.Error(*max_at, std::to_string(out->max_windows) + " is less than min_windows (" +
                          std::to_string(out->min_windows) + ")");
  }
  return Status::Ok();
}

// models[i].guards.<feature>.valid_range: [lo, hi], two finite numbers, lo < hi.
Status ParseValidRange(const Reader& r, const Field& f, core::FeatureGuard* out) {
  std::vector<double> bounds;
  // Not LSTMAD_RETURN_IF_ERROR around the lambda: its variable would shadow the one inside.
  const Status read = r.ForEachItem(f, [&](size_t, const Field& item) {
    double x = 0;
    LSTMAD_RETURN_IF_ERROR(r.ReadDouble(item, std::numeric_limits<double>::lowest(),
                                        std::numeric_limits<double>::max(), &x));
    bounds.push_back(x);
    return Status::Ok();
  });
  if (!read.ok()) return read;
  if (bounds.size() != 2) {
    return r.Error(f, "expected [lo, hi], got " + std::to_string(bounds.size()) + " value(s)");
  }
  if (!(bounds[0] < bounds[1])) {
    return r.Error(f, "lo must be below hi, got [" + core::FormatSignificant(bounds[0]) + ", " +
                          core::FormatSignificant(bounds[1]) + "]");
  }
  out->valid_range = std::pair{bounds[0], bounds[1]};
  return Status::Ok();
}

// models[i].guards: feature name -> its guard. Whether the names are the
// model's features is known only once the model file is loaded (the daemon
// checks then, at start and on reload).
Status ParseGuards(const Reader& r, const Field& f, core::NamedGuards* out) {
  static constexpr std::pair<std::string_view, core::Direction> kDirections[] = {
      {"both", core::Direction::kBoth}, {"above", core::Direction::kAbove}, {"below", core::Direction::kBelow}};
  return r.ForEachField(f, {}, [&](std::string_view feature, const Field& g) {
    if (feature.empty()) return r.Error(g, "a feature name must not be empty");
    core::FeatureGuard guard;
    const Status parsed = r.ForEachField(g, keys::kGuard, [&](std::string_view key, const Field& v) {
      if (key == "direction") return r.ReadEnum<core::Direction>(v, kDirections, &guard.direction);
      if (key == "min_deviation") {
        return r.ReadDouble(v, 0.0, std::numeric_limits<double>::max(), &guard.min_deviation);
      }
      return ParseValidRange(r, v, &guard);
    });
    if (!parsed.ok()) return parsed;
    out->emplace_back(std::string(feature), guard);
    return Status::Ok();
  });
}

// models[i].export: a list of the per-feature series kinds to export, each
// at most once (a repeat is more likely a typo than intent).
Status ParseExports(const Reader& r, const Field& f, ExportSettings* out) {
  static constexpr std::pair<std::string_view, bool ExportSettings::*> kKinds[] = {
      {"observed", &ExportSettings::observed},
      {"expected", &ExportSettings::expected},
      {"band", &ExportSettings::band},
      {"error_share", &ExportSettings::error_share}};
  return r.ForEachItem(f, [&](size_t, const Field& item) {
    bool ExportSettings::*kind = nullptr;
    LSTMAD_RETURN_IF_ERROR(r.ReadEnum<bool ExportSettings::*>(item, kKinds, &kind));
    if (out->*kind) return r.Error(item, "listed twice");
    out->*kind = true;
    return Status::Ok();
  });
}

// Where a model's unique keys are, for duplicate errors; 0: absent.
struct ModelLines {
  int name = 0;
  int path = 0;
  int measurement = 0;
};

Status ParseModel(const Reader& r, const Field& f, const std::string& base_dir,
                  ModelSettings* out, ModelLines* lines) {
  static constexpr std::pair<std::string_view, std::string_view> kScalers[] = {
      {"none", "none"}, {"standard", "standard"}, {"minmax", "minmax"}};
  out->line = f.line;
  // Not LSTMAD_RETURN_IF_ERROR: the macro's variable would shadow the ones in the lambda.
  const Status parsed = r.ForEachField(f, keys::kModel, [&](std::string_view key, const Field& v) {
    if (key == "name") {
      lines->name = v.line;
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->name));
      if (IsValidName(out->name)) return Status::Ok();
      return r.Error(v, "invalid name " + detail::Describe(v.node) +
                            " (expected [a-zA-Z_][a-zA-Z0-9_-]*)");
    }
    if (key == "path") {
      lines->path = v.line;
      return ReadModelPath(r, v, base_dir, &out->path);
    }
    if (key == "measurement") {
      lines->measurement = v.line;
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->measurement));
      return out->measurement.empty() ? r.Error(v, "must not be empty") : Status::Ok();
    }
    if (key == "threshold") {
      double threshold = 0;
      LSTMAD_RETURN_IF_ERROR(r.ReadDouble(v, 0.0, std::numeric_limits<double>::infinity(),
                                          &threshold));
      out->threshold = threshold;
      return Status::Ok();
    }
    if (key == "features") {
      return r.ForEachItem(v, [&](size_t, const Field& item) {
        std::string name;
        LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &name));
        if (name.empty()) return r.Error(item, "must not be empty");
        out->features.push_back(name);
        return Status::Ok();
      });
    }
    if (key == "calibrate") return ReadExistingFile(r, v, base_dir, &out->calibrate);
    if (key == "detector") return ParseDetector(r, v, &out->detector);
    if (key == "keras_output") return r.ReadString(v, &out->keras_output);
    if (key == "retrain") return ParseRetrain(r, v, &out->retrain);
    if (key == "guards") return ParseGuards(r, v, &out->guards);
    if (key == "remote_write") return detail::ParseModelRemoteWrite(r, v, &out->remote_write);
    if (key == "export") return ParseExports(r, v, &out->exports);
    if (key == "export_band_sigmas") return r.ReadDouble(v, 0.0, 100.0, &out->exports.band_sigmas);
    if (key == "assembly") return ParseAssembly(r, v, &out->assembly);
    if (key == "max_gap_intervals") return r.ReadDouble(v, 0.0, 1e6, &out->max_gap_intervals);
    if (key == "scaler") {
      std::string_view scaler;
      LSTMAD_RETURN_IF_ERROR(r.ReadEnum<std::string_view>(v, kScalers, &scaler));
      out->scaler = std::string(scaler);
      return Status::Ok();
    }
    return ParseAlert(r, v, &out->alert);
  });
  if (!parsed.ok()) return parsed;
  // Missing keys are reported at the entry's first line.
  const std::pair<std::string_view, int> required[] = {
      {"name", lines->name}, {"path", lines->path}, {"measurement", lines->measurement}};
  for (const auto& [key, line] : required) {
    if (line == 0) return r.Error(f.line, detail::JoinPath(f.path, key), "required key is missing");
  }
  return Status::Ok();
}

Status ParseModels(const Reader& r, const Field& f, const std::string& base_dir,
                   std::vector<ModelSettings>* out) {
  out->clear();
  std::vector<ModelLines> lines;
  const Status parsed = r.ForEachItem(f, [&](size_t, const Field& item) {
    ModelSettings model;
    ModelLines at;
    LSTMAD_RETURN_IF_ERROR(ParseModel(r, item, base_dir, &model, &at));
    for (size_t j = 0; j < out->size(); ++j) {
      const std::string other = f.path + "[" + std::to_string(j) + "]";
      if ((*out)[j].name == model.name) {
        return r.Error(at.name, item.path + ".name",
                       "duplicate model name \"" + model.name + "\" (also " + other + ".name at line " +
                           std::to_string(lines[j].name) + ")");
      }
      if ((*out)[j].measurement == model.measurement) {
        return r.Error(at.measurement, item.path + ".measurement",
                       "duplicate measurement \"" + model.measurement + "\" (also " + other +
                           ".measurement at line " + std::to_string(lines[j].measurement) + ")");
      }
    }
    out->push_back(std::move(model));
    lines.push_back(at);
    return Status::Ok();
  });
  if (!parsed.ok()) return parsed;
  if (out->empty()) return r.Error(f, "must list at least one model");
  return Status::Ok();
}

Status ParseLimits(const Reader& r, const Field& f, LimitSettings* out) {
  return r.ForEachField(f, keys::kLimits, [&](std::string_view key, const Field& v) {
    if (key == "stream_expiry_s") return r.ReadDouble(v, 0.0, kMaxStreamExpiryS, &out->stream_expiry_s);
    int* target = key == "max_streams"                ? &out->max_streams
                  : key == "max_line_bytes"           ? &out->max_line_bytes
                  : key == "max_connections_per_peer" ? &out->max_connections_per_peer
                                                      : &out->max_connections;
    return r.ReadInt(v, 1, kUnbounded, target);
  });
}

Status ParseScoring(const Reader& r, const Field& f, ScoringSettings* out) {
  static constexpr std::pair<std::string_view, OverflowPolicy> kPolicies[] = {
      {"block", OverflowPolicy::kBlock}, {"drop_oldest", OverflowPolicy::kDropOldest}};
  return r.ForEachField(f, keys::kScoring, [&](std::string_view key, const Field& v) {
    if (key == "max_batch") return r.ReadInt(v, 1, kUnbounded, &out->max_batch);
    if (key == "queue_windows") return r.ReadInt(v, 1, kUnbounded, &out->queue_windows);
    if (key == "overflow") return r.ReadEnum<OverflowPolicy>(v, kPolicies, &out->overflow);
    if (key == "max_wait_ms") return r.ReadDouble(v, 0.0, kMaxWaitMs, &out->max_wait_ms);
    return r.ReadInt(v, 1, kMaxWorkers, &out->workers);
  });
}

Status ParseEvents(const Reader& r, const Field& f, const std::string& base_dir,
                   EventsSettings* out) {
  return r.ForEachField(f, keys::kEvents, [&](std::string_view, const Field& v) {
    LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->path));
    // The daemon creates the file; only the empty string means "off".
    if (!out->path.empty()) out->path = Resolve(out->path, base_dir);
    return Status::Ok();
  });
}

// http[s]://host:port[/prefix]
Status CheckAlertmanagerUrl(const Reader& r, const Field& f, const std::string& url) {
  // Quoted redacted: a password in the URL must not reach the error either.
  const std::string shown = core::Quote(core::RedactUrlCredentials(url));
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    return r.Error(f, "expected http[s]://HOST:PORT[/PATH], got " + shown);
  }
  // Alertmanager never sees user information in a URL (the client sends only
  // the Authorization header), and the URL is logged on every failed try.
  if (core::UrlHasCredentials(url)) {
    return r.Error(f,
                   "credentials in the URL are refused (they would be logged, never sent); use "
                   "alertmanager.basic_auth or alertmanager.bearer_token, got " +
                       shown);
  }
  const std::string rest = url.substr(https ? 8 : 7);
  const std::string authority = rest.substr(0, rest.find('/'));
  const size_t colon = authority.rfind(':');
  if (authority.empty() || colon == std::string::npos || colon + 1 == authority.size() || colon == 0) {
    return r.Error(f, "expected http[s]://HOST:PORT[/PATH] with an explicit port, got " + shown);
  }
  return Status::Ok();
}

Status ParseBasicAuth(const Reader& r, const Field& f, AlertmanagerSettings* out) {
  const Status s = r.ForEachField(f, keys::kBasicAuth, [&](std::string_view key, const Field& v) {
    return r.ReadString(v, key == "username" ? &out->username : &out->password);
  });
  if (!s.ok()) return s;
  if (out->username.empty()) return r.Error(f, "basic_auth needs a username");
  return Status::Ok();
}


Status ParseAlertmanager(const Reader& r, const Field& f, const std::string& base_dir,
                         AlertmanagerSettings* out) {
  const Status s = r.ForEachField(f, keys::kAlertmanager, [&](std::string_view key, const Field& v) {
    if (key == "urls") {
      return r.ForEachItem(v, [&](size_t, const Field& item) {
        std::string url;
        LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &url));
        LSTMAD_RETURN_IF_ERROR(CheckAlertmanagerUrl(r, item, url));
        out->urls.push_back(url);
        return Status::Ok();
      });
    }
    if (key == "timeout_s") return r.ReadDouble(v, 0.001, 60, &out->timeout_s);
    if (key == "resend_interval_s") return r.ReadDouble(v, 1, 86400, &out->resend_interval_s);
    if (key == "basic_auth") return ParseBasicAuth(r, v, out);
    if (key == "bearer_token") return r.ReadString(v, &out->bearer_token);
    if (key == "severity") return r.ReadString(v, &out->severity);
    if (key == "tls") return detail::ParseClientTls(r, v, base_dir, true, &out->tls_ca, &out->tls_cert, &out->tls_key);
    return r.ReadInt(v, 1, kUnbounded, &out->max_pending);
  });
  if (!s.ok()) return s;
  if (!out->username.empty() && !out->bearer_token.empty()) {
    return r.Error(f, "use basic_auth or bearer_token, not both");
  }
  return Status::Ok();
}

Status ParseState(const Reader& r, const Field& f, const std::string& base_dir, StateSettings* out) {
  return r.ForEachField(f, keys::kState, [&](std::string_view key, const Field& v) {
    if (key == "interval") return ReadDuration(r, v, 1, 86400, &out->interval_s);
    LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->path));
    if (!out->path.empty()) out->path = Resolve(out->path, base_dir);
    return Status::Ok();
  });
}

Status ParseLog(const Reader& r, const Field& f, LogSettings* out) {
  return r.ForEachField(f, keys::kLog, [&](std::string_view key, const Field& v) {
    if (key == "format") return r.ReadEnum<LogFormat>(v, kLogFormats, &out->format);
    std::string_view level;
    LSTMAD_RETURN_IF_ERROR(r.ReadEnum<std::string_view>(v, kLogLevels, &level));
    out->level = std::string(level);
    return Status::Ok();
  });
}

Status ParseConsole(const Reader& r, const Field& f, ConsoleSettings* out) {
  static constexpr std::pair<std::string_view, bool> kBools[] = {{"true", true}, {"false", false}};
  return r.ForEachField(f, keys::kConsole, [&](std::string_view key, const Field& v) {
    if (key == "enabled") return r.ReadEnum<bool>(v, kBools, &out->enabled);
    return r.ReadInt(v, 1, 10000, &out->history);
  });
}

Status ParseRoot(const Reader& r, const Field& root, const std::string& base_dir, Settings* out) {
  bool has_models = false;
  const Status parsed = r.ForEachField(root, keys::kRoot, [&](std::string_view key, const Field& v) {
    if (key == "ingest") return ParseIngest(r, v, base_dir, &out->ingest);
    if (key == "metrics") return ParseMetrics(r, v, base_dir, &out->metrics);
    if (key == "limits") return ParseLimits(r, v, &out->limits);
    if (key == "scoring") return ParseScoring(r, v, &out->scoring);
    if (key == "events") return ParseEvents(r, v, base_dir, &out->events);
    if (key == "log") return ParseLog(r, v, &out->log);
    if (key == "alertmanager") return ParseAlertmanager(r, v, base_dir, &out->alertmanager);
    if (key == "state") return ParseState(r, v, base_dir, &out->state);
    if (key == "console") return ParseConsole(r, v, &out->console);
    if (key == "nats") return detail::ParseNats(r, v, base_dir, &out->nats.emplace());
    if (key == "remote_write") return detail::ParseRemoteWrite(r, v, &out->remote_write);
    if (key == "remote_write_out") return detail::ParseRemoteWriteOut(r, v, base_dir, &out->remote_write_out);
    if (key == "mqtt") return detail::ParseMqtt(r, v, base_dir, &out->mqtt.emplace());
    has_models = true;
    return ParseModels(r, v, base_dir, &out->models);
  });
  if (!parsed.ok()) return parsed;
  if (!has_models) return r.Error(root.line, "models", "required key is missing");
  return Status::Ok();
}

// The 1-based line where a second YAML document starts ("---" or "..." at the
// start of a line after content), or 0.
int SecondDocumentLine(std::string_view yaml) {
  bool content = false;
  int line = 0;
  while (!yaml.empty()) {
    ++line;
    const size_t end = yaml.find('\n');
    std::string_view text = yaml.substr(0, end);
    yaml.remove_prefix(end == std::string_view::npos ? yaml.size() : end + 1);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const bool marker = (text.starts_with("---") || text.starts_with("...")) &&
                        (text.size() == 3 || text[3] == ' ' || text[3] == '\t');
    if (marker && content) return line;
    const size_t first = text.find_first_not_of(" \t");
    if (!marker && first != std::string_view::npos && text[first] != '#') content = true;
  }
  return 0;
}

// yaml-cpp's syntax messages name the parser's state ("end of map not found",
// "illegal map value"), not the mistake, which is nearly always indentation:
// a hint in plain words, pointing at a tab if the file indents with one.
std::string SyntaxHint(std::string_view yaml, const std::string& message) {
  int line = 1;
  for (size_t start = 0; start < yaml.size(); ++line) {
    size_t end = yaml.find('\n', start);
    if (end == std::string_view::npos) end = yaml.size();
    const std::string_view text = yaml.substr(start, end - start);
    const size_t content = text.find_first_not_of(" \t");
    if (content != std::string_view::npos && text.substr(0, content).find('\t') != std::string_view::npos) {
      return " (hint: line " + std::to_string(line) +
             " indents with a tab; YAML indents with spaces only)";
    }
    start = end + 1;
  }
  if (message == "illegal map value") {
    return " (hint: a \"key: value\" where none can be: is this line indented deeper than the key"
           " above it, or is a value containing \": \" missing its quotes?)";
  }
  if (message.starts_with("end of map") || message.starts_with("end of sequence") ||
      message == "illegal block entry" || message.find("indentation") != std::string::npos) {
    if (message.find("flow") != std::string::npos) {
      return " (hint: a [ or { is not closed, or a quote is not closed inside it)";
    }
    return " (hint: check the indentation here and on the lines above: the keys of one map,"
           " and the - items of one list, start in the same column)";
  }
  return "";
}

std::string Position(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

}  // namespace

core::Result<Settings> ParseSettings(std::string_view yaml, const std::string& source,
                                     const std::string& base_dir) {
  const Reader reader(source);
  Settings settings;
  settings.source = source;
  // yaml-cpp reports syntax errors (and a few others) by throwing; nothing
  // may escape, since a config reload must not take the daemon down.
  try {
    // YAML::LoadAll can loop allocating forever on some malformed second
    // documents (yaml-cpp 0.7), so further documents are found by their
    // markers instead and only the first is parsed.
    if (const int line = SecondDocumentLine(yaml); line > 0) {
      return reader.Error(line, "", "expected one YAML document; a second one starts here");
    }
    // An empty file is an empty map, which then lacks `models`.
    const Field root{YAML::Load(std::string(yaml)), 1, ""};
    LSTMAD_RETURN_IF_ERROR(ParseRoot(reader, root, base_dir, &settings));
  } catch (const YAML::Exception& e) {
    return Status::Error(Position(source, e.mark) + ": " + e.msg + SyntaxHint(yaml, e.msg));
  } catch (const std::exception& e) {
    return Status::Error(source + ": " + e.what());
  }
  return settings;
}

core::Result<Settings> LoadSettings(const std::string& path) {
  core::Result<std::string> text = core::ReadFileBounded(path, kMaxConfigBytes);
  if (!text.ok()) return text.status();
  // Absolute, so model paths stay valid if the daemon later changes directory.
  std::error_code ec;
  std::filesystem::path file = std::filesystem::absolute(path, ec);
  if (ec) file = path;
  return ParseSettings(*text, path, file.parent_path().string());
}

std::string_view PrecisionName(TimestampPrecision p) {
  switch (p) {
    case TimestampPrecision::kNanoseconds: return "ns";
    case TimestampPrecision::kMicroseconds: return "us";
    case TimestampPrecision::kMilliseconds: return "ms";
    case TimestampPrecision::kSeconds: return "s";
  }
  return "ns";
}

}  // namespace lstmad::config
