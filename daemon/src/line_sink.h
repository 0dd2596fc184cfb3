// LineSink: where the TCP listener (IngestServer) hands every complete
// line-protocol line. Two implementations: the Ingestor scores lines in this
// process; in cluster mode the ClusterForwarder publishes them to NATS
// JetStream for the partition's owner to score (docs/cluster.md).
// Called on the io thread only.
#pragma once

#include <string>
#include <string_view>

namespace lstmad::daemon {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // `line` excludes its newline; `peer` names the client for logs.
  virtual void HandleLine(std::string_view line, const std::string& peer) = 0;
  // A line over limits.max_line_bytes: counted and logged; the caller closes.
  virtual void LineTooLong(const std::string& peer) = 0;
};

}  // namespace lstmad::daemon
