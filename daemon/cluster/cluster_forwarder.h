// ClusterForwarder: in cluster mode with nats.tcp_ingest: forward, the TCP
// listener's LineSink. Each line is parsed and validated on the io thread as
// the Ingestor would (same lstmad_samples_rejected_total reasons and log
// lines), given the listener's arrival time when it has no timestamp, and
// queued; a publishing thread sends the queue through JetStream
// (docs/cluster.md). With nats.batch_max_samples 1 each line is one message
// to <subject_prefix>.in.<measurement>.<stream-token>; above 1 the lines of
// one partition (computed as the servers' mapping does) go together, up to
// batch_max_samples per message, to <subject_prefix>.p.<n>.batch as a batch
// message (cluster_batch.h), waiting at most nats.batch_max_delay for more.
//
// Order and delivery: the thread takes rounds of up to kMaxBatch messages
// in which no stream (unbatched) or partition (batched) appears twice,
// publishes a round pipelined, and starts the next only when every message
// of it is stored (acknowledged) or given up; so a stream's lines are stored
// in the order they arrived. A message that fails is retried unchanged (same
// lines, same Nats-Msg-Id: the server drops a duplicate) for
// nats.forward_timeout, then its lines are counted as failed and logged. A full queue
// (nats.forward_queue) pauses the connection the line came from (the
// listener's LineSink::Stalled: TCP slows that sender) until the publishing
// thread has made room; the io thread never waits for NATS. At shutdown a
// paused line waits at most forward_timeout for room; a line that finds no
// room then, or arrives without a connection to pause, is refused and counted
// (queue_full).
//
// Outcomes: lstmad_cluster_forwarded_samples_total{result="published|failed|
// queue_full"}; lstmad_cluster_forward_queue_lines is the queue's length.
//
// Every call on the io thread (Stop reads counters HandleLine writes); the
// publishing thread Start begins is internal. Stop flushes the queue for at
// most forward_timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/forward_queue.h"
#include "ingest/line_sink.h"
#include "obs/logging.h"
#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "ingest/line_protocol.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace lstmad::daemon {

class NatsLink;

// The subject-safe token of a stream key or measurement (docs/cluster.md):
// every byte outside [A-Za-z0-9_=,-] as %XX, upper-case hex.
std::string StreamToken(std::string_view key);
// <prefix>.in.<StreamToken(measurement)>.<StreamToken(key)>
std::string InputSubject(std::string_view prefix, std::string_view measurement, std::string_view key);

class ClusterForwarder : public LineSink {
 public:
  // Messages published together at most (distinct streams or partitions;
  // pipelined).
  static constexpr size_t kMaxBatch = 256;

  // One publish attempt of each of `items` (at most kMaxBatch, each with its
  // Nats-Msg-Id), waiting at most about `wait` for the acknowledgements; per
  // item, Ok only once the server has stored it.
  using Publish = std::function<std::vector<core::Status>(const std::vector<const ForwardItem*>& items,
                                                          std::chrono::milliseconds wait)>;

  // `msg_id_prefix` makes the message ids of this process unique in the
  // stream's duplicate window (instance id and start time).
  ClusterForwarder(const config::Settings& settings, std::shared_ptr<const ModelSet> models, Metrics* metrics,
                   Publish publish, std::string msg_id_prefix);
  ~ClusterForwarder() override;

  void Start();
  // Publishes what is queued, for at most nats.forward_timeout; what is left
  // then is counted as failed. Further lines are refused (queue_full).
  void Stop();

  // A full queue pauses the line's connection (`stalled`: the TCP listener)
  // until the publishing thread has made room; without `stalled`, or once
  // stopping, the line is refused and counted (queue_full).
  void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) override;
  void LineTooLong(const std::string& peer) override;
  void Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models);

  uint64_t published() const { return published_.load(); }
  uint64_t failed() const { return failed_.load(); }
  uint64_t queue_full() const { return queue_full_count_; }

 private:
  void Reject(RejectReason reason, std::string_view line, const std::string& peer, std::string_view detail,
              std::string_view measurement = {});
  // A line that will not be forwarded: counted as queue_full and logged.
  void Refuse(const ForwardItem& item, const std::string& peer);
  bool Validate(const ModelRuntime& model, std::string_view line, const std::string& peer);
  void Run();
  // Fills `batch` with the carried line or the next one (waiting), then
  // whatever is queued (batched: waiting up to batch_max_delay for more) up
  // to kMaxBatch messages, stopping at a line whose stream (unbatched) is
  // already in it or whose partition's message is full (carried to the next
  // round). False once the queue is closed and empty.
  bool NextBatch(std::vector<ForwardItem>* batch);
  // Batched: adds `item` to its partition's message in `batch`, or opens
  // one; false (item untouched) when that message is full or the round is.
  bool AddToBatch(ForwardItem& item, std::vector<ForwardItem>* batch, std::vector<int>* open);
  // Retries the lines not yet stored until every one is or the deadline
  // passes; counts each line's outcome.
  void PublishBatch(const std::vector<ForwardItem>& batch);

  config::Settings settings_;
  std::shared_ptr<const ModelSet> models_;
  Metrics* metrics_;
  Publish publish_;
  std::string msg_id_prefix_;
  std::string subject_prefix_;
  int partitions_;
  uint32_t batch_max_samples_;
  std::chrono::microseconds batch_max_delay_;
  std::chrono::milliseconds timeout_;
  ForwardQueue queue_;
  std::optional<ForwardItem> carry_;  // publishing thread
  std::thread thread_;
  // Set by Stop: past it the thread stops publishing and counts the rest.
  std::atomic<int64_t> stop_deadline_ns_{0};
  std::atomic<uint64_t> published_{0}, failed_{0};
  uint64_t queue_full_count_ = 0;  // io thread
  uint64_t next_id_ = 0;           // io thread
  prometheus::Counter* published_metric_;
  prometheus::Counter* failed_metric_;
  prometheus::Counter* queue_full_metric_;
  prometheus::Gauge* queue_gauge_;
  RateLimiter reject_log_limiter_{5};
  RateLimiter full_log_limiter_{1};
  RateLimiter fail_log_limiter_{1};  // publishing thread
  ParsedLine parsed_;
  ParseError parse_error_;
  std::string key_;
};

// The Publish of a real NATS connection: js_PublishAsync of the round on a
// JetStream context of its own (async publishing keeps per-context state),
// each with its Msg-Id and its partition's stream expected. Start-up only.
core::Result<ClusterForwarder::Publish> NatsPublisher(NatsLink* link);

}  // namespace lstmad::daemon
