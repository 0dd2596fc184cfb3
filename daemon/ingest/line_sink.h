// LineSink: where the TCP listener (IngestServer) hands every complete
// line-protocol line. Two implementations: the Ingestor scores lines in this
// process; in cluster mode the ClusterForwarder publishes them to NATS
// JetStream for the partition's owner to score (docs/cluster.md).
// Called on the io thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>


namespace lstmad::daemon {

class LineSink {
 public:
  // What a connection holds while the sink has no room for what its last
  // line produced (the Ingestor's window under scoring.overflow: block, the
  // forwarder's line when its queue is full).
  struct Stalled {
    // Set by the sink when it had no room: puts the held work in. Without
    // `wait`, false while there is still no room (on_room comes again);
    // with `wait`, waits for room (shutdown), bounded by the sink.
    std::function<bool(bool wait)> retry;
    // Called, from another thread, once there may be room; set by the holder.
    std::function<void()> on_room;
    bool stalled() const { return static_cast<bool>(retry); }
  };

  virtual ~LineSink() = default;
  // `line` excludes its newline; `peer` names the client for logs. Given
  // `stalled`, a sink with no room holds the work there instead of waiting
  // for room; the caller then hands in no more lines until stalled->retry
  // succeeds (and clears it). Without it, the sink waits or refuses.
  virtual void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) = 0;
  // A line over limits.max_line_bytes: counted and logged; the caller closes.
  virtual void LineTooLong(const std::string& peer) = 0;
};

}  // namespace lstmad::daemon
