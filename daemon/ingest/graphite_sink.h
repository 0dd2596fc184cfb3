// GraphiteSink: the line handler of the Graphite listener (an IngestServer
// of its own, ingest.graphite.listen). Each line is one field of one sample:
// parsed (graphite.h), mapped by the templates to measurement, tags and
// field, and handed to the Ingestor as a point, so that the model's
// `assembly` builds vectors of several fields from several lines. Bad lines
// are counted by reason (lstmad_samples_rejected_total) and logged,
// rate-limited. Network thread only; not thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "ingest/graphite.h"
#include "ingest/ingestor.h"
#include "ingest/line_sink.h"
#include "obs/logging.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

class GraphiteSink : public LineSink {
 public:
  // `ingestor` and `metrics` are not owned and must outlive the sink.
  GraphiteSink(Ingestor* ingestor, Metrics* metrics, GraphiteTemplates templates, int max_line_bytes);

  void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) override;
  void LineTooLong(const std::string& peer) override;
  // New templates and limits (a reload).
  void Reconfigure(GraphiteTemplates templates, int max_line_bytes);

 private:
  void Refuse(RejectReason reason, std::string_view line, const std::string& peer, std::string detail);

  Ingestor* ingestor_;
  Metrics* metrics_;
  GraphiteTemplates templates_;
  int max_line_bytes_;
  RateLimiter reject_log_limiter_{5};
  // Reused per line.
  GraphiteLine graphite_;
  ParsedLine point_;
  ParseError error_;
  std::string map_error_;
};

}  // namespace lstmad::daemon
