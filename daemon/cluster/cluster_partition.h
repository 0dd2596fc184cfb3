// One owned partition of cluster mode: a thread that consumes the
// partition's subjects from JetStream into the partition's own Ingestor,
// and checkpoints (docs/cluster.md):
//
//   take over:  read the partition's checkpoint (streams' windows, alert
//               states, last applied stream sequence S) from the state
//               bucket, rewrite it (revision-checked: the old owner's next
//               checkpoint now fails, which fences it out), restore the
//               streams, recreate the durable consumer to start at S + 1.
//   run:        fetch a batch, apply each line in stream order;
//   checkpoint: every checkpoint_interval, wait until every window submitted
//               so far is scored (Scorer::Drain), save the streams with the
//               last applied sequence (chunks first when larger than one
//               message, then the head, revision-checked) and only then ack.
//
// So a sample is acknowledged only after its window was scored and its
// stream's state durably saved past it; a new owner resumes exactly there.
//
// The checkpoint protocol (fencing, chunks) is CheckpointLedger's; the
// stream and the buckets are reached through the ClusterBackend.
//
// Threading: Start/Stop/Reload/StreamsByModel from the coordinator or the io
// thread; the worker thread owns the consumer and the ledger. The Ingestor is only
// touched under ingest_mu_ (one Ingestor per partition).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alerting/alertmanager_client.h"
#include "cluster/cluster_backend.h"
#include "cluster/cluster_checkpoint.h"
#include "cluster/cluster_checkpoint_ledger.h"
#include "cluster/cluster_metrics.h"
#include "ingest/ingestor.h"
#include "scoring/model_runtime.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {

// What every partition of one instance shares.
struct ClusterShared {
  config::NatsSettings nats;
  std::string instance_id;
  ClusterBackend* backend = nullptr;
  Scorer* scorer = nullptr;
  Metrics* metrics = nullptr;
  AlertmanagerClient* alertmanager = nullptr;  // not owned; outlives the cluster
  ClusterMetrics* cluster_metrics = nullptr;
  std::mutex mu;  // guards settings and models (replaced on reload)
  config::Settings settings;
  std::shared_ptr<const ModelSet> models;
  // An idle partition asks the server this often whether it delivered
  // messages that never arrived (PartitionWorker::CheckForLostTail).
  std::chrono::milliseconds tail_check_interval{5000};
};

class PartitionWorker {
 public:
  PartitionWorker(int partition, ClusterShared* shared);
  ~PartitionWorker();  // Stop(false)
  PartitionWorker(const PartitionWorker&) = delete;
  PartitionWorker& operator=(const PartitionWorker&) = delete;

  int partition() const { return partition_; }
  void Start();
  // Ends the thread; `graceful` checkpoints first (a handover), otherwise
  // the partition is dropped as it is (its lease is lost). Blocks until done.
  void Stop(bool graceful);
  // False once the thread ended on its own: fenced by a new owner, or the
  // takeover failed. The coordinator then gives the lease up.
  bool running() const { return !exited_.load(); }
  bool fenced() const { return fenced_.load(); }
  void Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models);
  // Streams per model name in this partition (for the lstmad_streams gauge).
  std::map<std::string, size_t> StreamsByModel();

 private:
  using Commit = CheckpointLedger::Commit;
  void Run();
  core::Status TakeOver();
  // takeover: the old consumer's deliveries past start_after count as
  // redelivered (the previous owner may have scored them).
  core::Status RecreateConsumer(uint64_t start_after, bool takeover);
  void FetchAndApply();
  // False when deliveries were lost on the way (a gap in the consumer
  // sequence, e.g. a NATS node died with them in flight): nothing after the
  // gap may be applied before them.
  bool Apply(ConsumedMessage message);
  // Recreates the consumer right after the last applied sample, counted and
  // logged as `what`.
  void RestartAfterLoss(const char* what);
  // An idle partition whose server-side consumer made more deliveries than
  // arrived lost its newest ones in flight: restarts (see the .cc).
  void CheckForLostTail();
  // Applies a message's sample lines in order (under ingest_mu_); returns
  // how many there were. A batch header whose count differs is counted.
  uint64_t ApplyLines(std::string_view data);
  Commit SaveCheckpoint();
  void DropStreams();

  const int partition_;
  ClusterShared* shared_;
  const std::string peer_;  // how log lines name this source
  CheckpointLedger ledger_;  // snap.<n> and its chunks
  std::mutex ingest_mu_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<PartitionConsumer> consumer_;
  bool subscribed_ = false;                 // consumer_ is created and subscribed
  std::optional<ConsumedMessage> unacked_;  // newest message not yet acknowledged (the ack covers the rest)
  uint64_t applied_seq_ = 0;       // last stream sequence applied to ingestor_
  uint64_t saved_seq_ = 0;         // last sequence in the state bucket
  uint64_t redelivery_bound_ = 0;  // the old consumer had delivered up to here
  uint64_t consumer_seq_ = 0;      // consumer sequence of the last delivery seen
  std::chrono::steady_clock::time_point last_checkpoint_;
  std::chrono::steady_clock::time_point last_delivery_;    // a fetch last returned messages
  std::chrono::steady_clock::time_point last_tail_check_;  // CheckForLostTail last asked the server
  bool tail_suspect_ = false;  // the last look found deliveries the server made that never arrived
  int64_t unacked_count_ = 0;
  std::atomic<bool> stop_{false}, graceful_{false}, exited_{false}, fenced_{false};
  std::thread thread_;
};

}  // namespace lstmad::daemon
