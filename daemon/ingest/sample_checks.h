// The checks a parsed line-protocol point passes before it counts as a
// sample, wherever it is handled: the Ingestor scores it, the
// ClusterForwarder publishes it for another instance to score. One copy, so
// both refuse the same lines for the same reasons and say so the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "obs/logging.h"
#include "lstmad/config/settings.h"
#include "ingest/feature_assembler.h"
#include "ingest/line_protocol.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"

namespace lstmad::daemon {

// Why a point is refused, and the detail for the log.
struct Refusal {
  RejectReason reason;
  std::string detail;
  // The line's measurement when it parsed that far (a label of the rejected
  // counter, so a stray sender can be found from metrics); "" otherwise.
  std::string measurement = {};
};

// What a line is: a point of a model (`model` set), refused (a parse error
// at a column, or a measurement no model has), or neither (a blank or
// comment line: skipped). `point` and `error` are the caller's, reused.
struct LineVerdict {
  const std::shared_ptr<const ModelRuntime>* model = nullptr;
  std::optional<Refusal> refused;
};
LineVerdict ClassifyLine(std::string_view line, const ModelSet& models, ParsedLine* point, ParseError* error);
// The model of a parsed point (from any input), or refused: unknown_measurement.
LineVerdict ClassifyPoint(const ParsedLine& point, const ModelSet& models);

// Nanoseconds per unit of ingest.precision.
int64_t PrecisionToNs(config::TimestampPrecision precision);

// The model's features of `point`, in the model's order, into `*sample`
// (resized; null: check only). Refused: a feature missing, a string, not
// finite as a float (`non_finite`), or scaled by the model's scaler beyond
// core::kMaxScaledMagnitude (`out_of_range`).
std::optional<Refusal> ExtractFeatures(const ModelRuntime& model, const ParsedLine& point,
                                       std::vector<float>* sample);

// The model's features that `point` has, as pieces (feature index, value)
// into `*pieces` (cleared), for models that assemble vectors from pieces
// (models[].assembly). Refused as ExtractFeatures refuses a bad value, and
// with missing_field when the point has none of the model's features.
std::optional<Refusal> ExtractPieces(const ModelRuntime& model, const ParsedLine& point,
                                     std::vector<FeaturePiece>* pieces);

// Refused when the point's timestamp overflows int64 nanoseconds at
// `precision`; otherwise `*ns` is it in nanoseconds since the epoch (left as
// it is when the point has none: the caller's arrival time).
std::optional<Refusal> TimestampNs(const ParsedLine& point, config::TimestampPrecision precision, int64_t* ns);

// Printable ASCII of the line's first `max_bytes`, other bytes as \xNN (for logs).
std::string Snippet(std::string_view line, size_t max_bytes = 80);

// Counts the refusal in lstmad_samples_rejected_total{reason} and logs it
// with the peer and a snippet of the line, at most as often as `limiter` allows.
void RecordRefusal(Metrics* metrics, RateLimiter* limiter, const Refusal& refusal, std::string_view line,
                   const std::string& peer);

}  // namespace lstmad::daemon
