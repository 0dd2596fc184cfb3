#include "ingest/graphite_sink.h"

#include <utility>

#include "ingest/sample_checks.h"

namespace lstmad::daemon {

GraphiteSink::GraphiteSink(Ingestor* ingestor, Metrics* metrics, GraphiteTemplates templates, int max_line_bytes)
    : ingestor_(ingestor), metrics_(metrics), templates_(std::move(templates)), max_line_bytes_(max_line_bytes) {}

void GraphiteSink::Reconfigure(GraphiteTemplates templates, int max_line_bytes) {
  templates_ = std::move(templates);
  max_line_bytes_ = max_line_bytes;
}

void GraphiteSink::Refuse(RejectReason reason, std::string_view line, const std::string& peer, std::string detail) {
  RecordRefusal(metrics_, &reject_log_limiter_, Refusal{reason, "graphite: " + std::move(detail)}, line, peer);
}

void GraphiteSink::LineTooLong(const std::string& peer) {
  Refuse(RejectReason::kLineTooLong, {}, peer,
         "line longer than limits.max_line_bytes=" + std::to_string(max_line_bytes_) + "; closing the connection");
}

void GraphiteSink::HandleLine(std::string_view line, const std::string& peer, Stalled* stalled) {
  switch (ParseGraphiteLine(line, &graphite_, &error_)) {
    case ParseResult::kSkipped: return;
    case ParseResult::kError:
      return Refuse(error_.format_control ? RejectReason::kFormatControl : RejectReason::kParseError, line, peer,
                    "column " + std::to_string(error_.column) + ": " + error_.message);
    case ParseResult::kPoint: break;
  }
  if (!templates_.Apply(graphite_.path, graphite_.value, &point_, &map_error_)) {
    return Refuse(RejectReason::kParseError, line, peer, map_error_);
  }
  ingestor_->HandlePoint(point_, graphite_.timestamp_ns, line, peer, stalled);
}

}  // namespace lstmad::daemon
