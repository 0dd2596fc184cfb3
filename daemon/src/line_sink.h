// LineSink: where the TCP listener (IngestServer) hands every complete
// line-protocol line. Two implementations: the Ingestor scores lines in this
// process; in cluster mode the ClusterForwarder publishes them to NATS
// JetStream for the partition's owner to score (docs/cluster.md).
// Called on the io thread only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "scorer.h"

namespace lstmad::daemon {

class LineSink {
 public:
  // What a connection holds while the sink has no room for the window its
  // last line completed (the Ingestor under scoring.overflow: block).
  struct Stalled {
    std::optional<WindowJob> job;
    // Called, from another thread, once there may be room; set by the holder.
    std::function<void()> on_room;
  };

  virtual ~LineSink() = default;
  // `line` excludes its newline; `peer` names the client for logs. Given
  // `stalled`, a sink with no room leaves the work there instead of waiting
  // for room; the caller then hands in no more lines until Resubmit()
  // succeeds. Without it, the sink waits (a caller with its own thread).
  virtual void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) = 0;
  // A line over limits.max_line_bytes: counted and logged; the caller closes.
  virtual void LineTooLong(const std::string& peer) = 0;
  // Queues stalled work; false while there is still no room (on_room comes
  // again). A sink that never stalls has nothing to do.
  virtual bool Resubmit(Stalled* stalled) { return !stalled->job.has_value(); }
  // Queues stalled work, waiting for room (shutdown: nothing is lost).
  virtual void SubmitWaiting(Stalled* /*stalled*/) {}
};

}  // namespace lstmad::daemon
