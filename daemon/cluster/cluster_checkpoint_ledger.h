// One partition's checkpoints in the state bucket as its owner reads and
// writes them (docs/cluster.md, "Fencing" and "Checkpoints"):
//
//   take over:  read snap.<n> (and its chunks), rewrite it as ours with a
//               revision-checked update: the previous owner's next write
//               (revision-checked too) now fails, which fences it out;
//               chunks no head names are swept.
//   save:       chunks first when larger than one message, then the head,
//               revision-checked against our last write. A failed write
//               whose head now names another owner means we are fenced (our
//               chunks are purged); our own head under another revision is
//               our write whose reply was lost, and stays ours.
//
// The consumer is only asked how far it got (the ack floor when the stored
// checkpoint is refused, the delivered bound kept in the fence).
//
// Thread-safety: none; the partition's worker thread owns it.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "cluster/cluster_backend.h"
#include "cluster/cluster_checkpoint.h"
#include "cluster/cluster_checkpoint_store.h"
#include "cluster/cluster_metrics.h"

namespace lstmad::daemon {

class CheckpointLedger {
 public:
  enum class Commit { kOk, kRetry, kFenced };

  // `state` and `metrics` outlive it; max_payload as the backend reports it.
  // `stream`: the JetStream stream the partition is in now (its sequences
  // are the checkpoint's); `legacy_stream`: the one stream of the v1/v2
  // heads' single-stream layout (nats.stream).
  CheckpointLedger(KvBucket* state, int partition, std::string instance_id, int64_t max_payload,
                   ClusterMetrics* metrics, std::string stream, std::string legacy_stream);

  const std::string& key() const { return key_; }  // snap.<n>
  // Reads the partition's checkpoint and fences it. A checkpoint that cannot
  // be used (damaged, chunks missing or mixed) is refused (logged, counted)
  // and the partition starts empty from the consumer's ack floor. Errors are
  // the bucket's (the takeover is retried). checkpoint->owner is the
  // instance that wrote it: "" when the partition never had an owner or its
  // checkpoint was refused. A checkpoint of another stream (nats.streams
  // changed; docs/cluster.md "Changing nats.streams") keeps its streams'
  // state but not its sequences: the partition's stream is consumed from
  // its start (logged, counted as migrated).
  core::Status TakeOver(PartitionConsumer* consumer, Checkpoint* checkpoint);
  // Writes `checkpoint` (owner and sequences as given; the stream is ours).
  Commit Save(Checkpoint checkpoint);
  // After a Save that returned kOk (and the ack that follows it): removes
  // the chunks no head names any more.
  void Tidy();

  uint64_t revision() const { return revision_; }      // of our last head write
  uint64_t generation() const { return generation_; }  // chunk generation our head names (0: inline)

 private:
  // Bucket failures are returned; an unusable checkpoint in `refused`.
  core::Status Read(const std::string& stored, const std::string& source, CheckpointHead* head,
                    Checkpoint* checkpoint, core::Status* refused);
  void Sweep();
  uint64_t NewGeneration();

  KvBucket* state_;
  const int partition_;
  const std::string instance_id_;
  const std::string key_;
  const std::string stream_, legacy_stream_;
  CheckpointStore store_;  // snap.<n>'s chunks
  ClusterMetrics* metrics_;
  uint64_t revision_ = 0;
  uint64_t generation_ = 0;
  uint64_t previous_generation_ = 0;  // named by our head before the last Save
  bool sweep_pending_ = true;         // chunks no head names may exist: list and purge
  std::random_device random_;         // chunk generations
};

}  // namespace lstmad::daemon
