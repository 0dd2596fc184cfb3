#include "ingest/sample_checks.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <prometheus/counter.h>

#include "lstmad/core/scaler.h"
#include "lstmad/core/suggest.h"
#include "lstmad/core/text.h"

namespace lstmad::daemon {

namespace {

// The precision a timestamp that overflows ingest.precision was most likely
// written in: the coarsest finer unit that puts it between 2000 and 2100.
std::string TimestampOutOfRange(int64_t ts, config::TimestampPrecision precision) {
  std::string message = "timestamp " + std::to_string(ts) + " out of range for ingest.precision " +
                        std::string(config::PrecisionName(precision)) + " (signed 64-bit nanoseconds)";
  constexpr int64_t kFrom = 946684800LL * 1000000000;   // 2000-01-01
  constexpr int64_t kUntil = 4102444800LL * 1000000000;  // 2100-01-01
  for (auto unit : {config::TimestampPrecision::kSeconds, config::TimestampPrecision::kMilliseconds,
                    config::TimestampPrecision::kMicroseconds, config::TimestampPrecision::kNanoseconds}) {
    const int64_t scale = PrecisionToNs(unit);
    if (scale >= PrecisionToNs(precision) || ts > kUntil / scale || ts < kFrom / scale) continue;
    return message + "; it reads as " + core::FormatRfc3339Seconds(ts * scale / 1000000000) + " in " +
           std::string(config::PrecisionName(unit)) + ": set ingest.precision: " +
           std::string(config::PrecisionName(unit)) + ", or send " +
           std::string(config::PrecisionName(precision));
  }
  return message;
}

}  // namespace

LineVerdict ClassifyLine(std::string_view line, const ModelSet& models, ParsedLine* point, ParseError* error) {
  LineVerdict verdict;
  switch (ParseLine(line, point, error)) {
    case ParseResult::kSkipped: return verdict;
    case ParseResult::kError:
      verdict.refused =
          Refusal{error->format_control ? RejectReason::kFormatControl : RejectReason::kParseError,
                  "column " + std::to_string(error->column) + ": " + error->message};
      return verdict;
    case ParseResult::kPoint: break;
  }
  return ClassifyPoint(*point, models);
}

LineVerdict ClassifyPoint(const ParsedLine& point, const ModelSet& models) {
  LineVerdict verdict;
  verdict.model = models.FindByMeasurement(point.measurement);
  if (verdict.model == nullptr) {
    std::vector<std::string> known;
    for (const auto& model : models.models) known.push_back(model->settings.measurement);
    const std::optional<std::string> meant = core::ClosestMatch(point.measurement, known);
    verdict.refused = Refusal{RejectReason::kUnknownMeasurement,
                              "no model for measurement " + core::Quote(point.measurement) +
                                  (meant ? " (did you mean \"" + *meant + "\"?)" : ""),
                              point.measurement};
  }
  return verdict;
}

int64_t PrecisionToNs(config::TimestampPrecision precision) {
  switch (precision) {
    case config::TimestampPrecision::kNanoseconds: return 1;
    case config::TimestampPrecision::kMicroseconds: return 1000;
    case config::TimestampPrecision::kMilliseconds: return 1000000;
    case config::TimestampPrecision::kSeconds: return 1000000000;
  }
  return 1;
}

namespace {

// Refused when feature `f`'s value `v` cannot be scored by the model.
std::optional<Refusal> CheckValue(const ModelRuntime& model, const ParsedLine& point, size_t f, double v) {
  const auto& names = model.model.feature_names;
  if (!std::isfinite(v) || std::abs(v) > std::numeric_limits<float>::max()) {
    return Refusal{RejectReason::kNonFinite, "field \"" + names[f] + "\" is not a finite float", point.measurement};
  }
  // A value the model's scaler takes this far from the training data would
  // overflow the window's error (core/scaler.h).
  const double scaled = model.model.scaler.Scaled(static_cast<int>(f), v);
  if (!(std::abs(scaled) <= core::kMaxScaledMagnitude)) {
    return Refusal{RejectReason::kOutOfRange,
                   "field \"" + names[f] + "\" is " + core::FormatSignificant(v) + ", beyond what model " +
                       model.name() + " can score (" + core::FormatSignificant(core::kMaxScaledMagnitude) +
                       " of its scale units from its training data)",
                   point.measurement};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Refusal> ExtractFeatures(const ModelRuntime& model, const ParsedLine& point,
                                       std::vector<float>* sample) {
  const auto& names = model.model.feature_names;
  if (sample != nullptr) sample->resize(names.size());
  for (size_t f = 0; f < names.size(); ++f) {
    const FieldValue* value = point.FindField(names[f]);
    if (value == nullptr || value->kind == FieldValue::Kind::kString) {
      return Refusal{RejectReason::kMissingField, "no numeric field \"" + names[f] + "\" (model " + model.name() + ")",
                     point.measurement};
    }
    if (auto refused = CheckValue(model, point, f, value->number)) return refused;
    if (sample != nullptr) (*sample)[f] = static_cast<float>(value->number);
  }
  return std::nullopt;
}

std::optional<Refusal> ExtractPieces(const ModelRuntime& model, const ParsedLine& point,
                                     std::vector<FeaturePiece>* pieces) {
  const auto& names = model.model.feature_names;
  pieces->clear();
  for (size_t f = 0; f < names.size(); ++f) {
    const FieldValue* value = point.FindField(names[f]);
    if (value == nullptr) continue;
    if (value->kind == FieldValue::Kind::kString) {
      return Refusal{RejectReason::kMissingField,
                     "field \"" + names[f] + "\" is a string, not a number (model " + model.name() + ")",
                     point.measurement};
    }
    if (auto refused = CheckValue(model, point, f, value->number)) return refused;
    pieces->push_back(FeaturePiece{static_cast<int>(f), static_cast<float>(value->number)});
  }
  if (pieces->empty()) {
    return Refusal{RejectReason::kMissingField, "none of model " + model.name() + "'s features", point.measurement};
  }
  return std::nullopt;
}

std::optional<Refusal> TimestampNs(const ParsedLine& point, config::TimestampPrecision precision, int64_t* ns) {
  if (!point.timestamp) return std::nullopt;
  const int64_t scale = PrecisionToNs(precision);
  const int64_t ts = *point.timestamp;
  if (ts > std::numeric_limits<int64_t>::max() / scale || ts < std::numeric_limits<int64_t>::min() / scale) {
    return Refusal{RejectReason::kParseError, TimestampOutOfRange(ts, precision), point.measurement};
  }
  *ns = ts * scale;
  return std::nullopt;
}

std::string Snippet(std::string_view line, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < line.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (line.size() > max_bytes) out += "...";
  return out;
}

void RecordRefusal(Metrics* metrics, RateLimiter* limiter, const Refusal& refusal, std::string_view line,
                   const std::string& peer) {
  metrics->Rejected(refusal.reason, refusal.measurement).Increment();
  uint64_t suppressed = 0;
  if (limiter->Allow(&suppressed)) {
    Log(LogLevel::kWarn, "sample rejected",
        {Field("reason", RejectReasonName(refusal.reason)), Field("peer", peer), Field("detail", refusal.detail),
         Field("line", Snippet(line)), Field("suppressed_since_last", suppressed)});
  }
}

}  // namespace lstmad::daemon
