#include "cluster/cluster_checkpoint_ledger.h"

#include <algorithm>

#include <prometheus/counter.h>

#include "obs/logging.h"

namespace lstmad::daemon {

CheckpointLedger::CheckpointLedger(KvBucket* state, int partition, std::string instance_id, int64_t max_payload,
                                   ClusterMetrics* metrics, std::string stream, std::string legacy_stream)
    : state_(state),
      partition_(partition),
      instance_id_(std::move(instance_id)),
      key_("snap." + std::to_string(partition)),
      stream_(std::move(stream)),
      legacy_stream_(std::move(legacy_stream)),
      store_(state, key_, max_payload),
      metrics_(metrics) {}

core::Status CheckpointLedger::TakeOver(PartitionConsumer* consumer, Checkpoint* checkpoint) {
  KvEntry stored;
  BackendStatus s = state_->Get(key_, &stored);
  if (s.not_found()) {
    // First owner ever: an empty checkpoint, created only if nobody else did.
    // It is stored as ours, but what is returned had no owner before us
    // (the worker logs the returned owner as the previous one).
    Checkpoint ours = *checkpoint;
    ours.owner = instance_id_;
    ours.stream = stream_;
    const std::string empty = EncodeCheckpoint(ours);
    checkpoint->owner.clear();
    s = state_->Create(key_, empty, &revision_);
    if (!s.ok()) return core::Status::Error("creating checkpoint " + key_ + ": " + s.error);
    generation_ = 0;
    return core::Status::Ok();
  }
  if (!s.ok()) return core::Status::Error("reading checkpoint " + key_ + ": " + s.error);
  const std::string source = state_->name() + "/" + key_;
  CheckpointHead head;
  core::Status refused;
  LSTMAD_RETURN_IF_ERROR(Read(stored.value, source, &head, checkpoint, &refused));  // bucket: retried
  if (!refused.ok() && head.chunked) {
    // A previous owner still writing (its lease lapsed, it has not noticed)
    // may have replaced the head and purged the chunks read here: that is
    // no damage, and the fence below would fail anyway. Retried.
    KvEntry again;
    if (!state_->Get(key_, &again).ok() || again.revision != stored.revision) {
      return core::Status::Error("checkpoint " + key_ + " changed while its chunks were read; retrying");
    }
  }
  PartitionConsumer::State progress;
  if (!refused.ok()) {
    // Refused, not fatal: the partition goes on from the consumer's ack
    // floor with empty windows (logged; lookback refills after T samples).
    metrics_->checkpoints_refused->Increment();
    Log(LogLevel::kError, "checkpoint refused; the partition's streams start empty",
        {Field("partition", partition_), Field("error", refused.message())});
    *checkpoint = Checkpoint();
    if (consumer->GetState(&progress).ok()) checkpoint->sequence = progress.ack_floor;
    head = CheckpointHead{"", checkpoint->sequence, 0, false, 0, 0, 0, 0, EncodeSnapshot({}), stream_};
  } else if (const std::string& from = head.stream.empty() ? legacy_stream_ : head.stream; from != stream_) {
    // nats.streams changed: the sequences count in a stream this partition
    // is no longer in. The migration drained that stream before the change,
    // so the streams' state is complete; the partition's new stream is read
    // from its start (a previous owner's deliveries there still count as
    // redelivered, below).
    metrics_->checkpoints_migrated->Increment();
    Log(LogLevel::kWarn, "checkpoint of another stream layout: streams kept, consuming the new stream from its start",
        {Field("partition", partition_), Field("checkpoint_stream", from), Field("stream", stream_),
         Field("checkpoint_sequence", head.sequence), Field("streams", static_cast<int64_t>(checkpoint->streams.size()))});
    head.sequence = head.delivered = checkpoint->sequence = checkpoint->delivered = 0;
  }
  head.stream = checkpoint->stream = stream_;
  // Rewriting it (as its owner now) moves its revision: the previous owner's
  // next checkpoint (revision-checked) fails, so it stops before
  // acknowledging anything. Only the head is rewritten: it names the same
  // chunks.
  head.owner = instance_id_;
  // Before the old consumer goes: how far it delivered, kept in the fence
  // so that whoever ends up owning the partition counts the redeliveries.
  if (consumer->GetState(&progress).ok()) head.delivered = std::max(head.delivered, progress.delivered);
  checkpoint->delivered = head.delivered;
  std::string rewritten = EncodeCheckpointHead(head);
  if (!head.chunked && rewritten.size() > store_.ValueLimit()) {
    // An inline head that no longer fits (a version 1 head near the limit,
    // or max_payload lowered since): fenced as chunks of its own.
    Checkpoint fence = *checkpoint;
    fence.owner = head.owner;
    const uint64_t generation = NewGeneration();
    auto parts = EncodeCheckpointParts(fence, generation, store_.ValueLimit());
    if (!parts.ok()) return parts.status();
    LSTMAD_RETURN_IF_ERROR(store_.WriteChunks(*parts, generation));
    rewritten = std::move(parts->head);
    head = *DecodeCheckpointHead(rewritten, key_);
  }
  s = state_->Update(key_, rewritten, stored.revision, &revision_);
  if (!s.ok()) return core::Status::Error("fencing checkpoint " + key_ + ": " + s.error);
  generation_ = head.chunked ? head.generation : 0;
  // Fenced: chunks of generations no head names (a previous owner's failed
  // writes, or a refused checkpoint's) can go.
  Sweep();
  return core::Status::Ok();
}

core::Status CheckpointLedger::Read(const std::string& stored, const std::string& source, CheckpointHead* head,
                                    Checkpoint* checkpoint, core::Status* refused) {
  auto decoded = DecodeCheckpointHead(stored, source);
  if (!decoded.ok()) {
    *refused = decoded.status();
    return core::Status::Ok();
  }
  *head = std::move(decoded).value();
  std::vector<std::string> chunks;
  LSTMAD_RETURN_IF_ERROR(store_.ReadChunks(*head, &chunks));
  auto assembled = AssembleCheckpoint(*head, chunks, source);
  if (!assembled.ok()) {
    *refused = assembled.status();
    return core::Status::Ok();
  }
  *checkpoint = std::move(assembled).value();
  return core::Status::Ok();
}

CheckpointLedger::Commit CheckpointLedger::Save(Checkpoint checkpoint) {
  checkpoint.stream = stream_;
  const uint64_t generation = NewGeneration();
  auto parts = EncodeCheckpointParts(checkpoint, generation, store_.ValueLimit());
  if (!parts.ok()) {
    metrics_->checkpoints_failed->Increment();
    Log(LogLevel::kError, "partition checkpoint too large; raise nats.partitions",
        {Field("partition", partition_), Field("error", parts.status().message())});
    return Commit::kRetry;
  }
  const bool chunked = !parts->chunks.empty();
  if (core::Status written = store_.WriteChunks(*parts, generation); !written.ok()) {
    metrics_->checkpoints_failed->Increment();
    sweep_pending_ = true;  // whatever chunks did get written name no head
    Log(LogLevel::kWarn, "partition checkpoint failed; retrying",
        {Field("partition", partition_), Field("error", written.message())});
    return Commit::kRetry;
  }
  // Chunks first, then the head that names them: a reader never sees a
  // head whose chunks are not all there.
  uint64_t rev = 0;
  const BackendStatus s = state_->Update(key_, parts->head, revision_, &rev);
  if (!s.ok()) {
    metrics_->checkpoints_failed->Increment();
    // Chunks of this write, or of an earlier one whose reply was lost and
    // that is found below, may name no head now.
    sweep_pending_ = true;
    KvEntry now;
    if (state_->Get(key_, &now).ok() && now.revision != revision_) {
      auto stored = DecodeCheckpointHead(now.value, key_);
      if (!stored.ok() || stored->owner != instance_id_) {
        // A new owner rewrote it. Its sweep ran at its takeover, maybe before
        // these chunks were written: remove them here, unless its fence
        // rewrote this very write (whose reply was lost) and so names them.
        if (chunked && (!stored.ok() || !stored->chunked || stored->generation != generation)) {
          if (!store_.Purge(generation).ok()) metrics_->nats_errors->Increment();
        }
        return Commit::kFenced;
      }
      // Our own earlier write whose reply was lost (a NATS node went away
      // meanwhile): still ours; the next attempt writes over it.
      revision_ = now.revision;
      generation_ = stored->chunked ? stored->generation : 0;
    }
    Log(LogLevel::kWarn, "partition checkpoint failed; retrying",
        {Field("partition", partition_), Field("error", "checkpoint " + key_ + ": " + s.error)});
    return Commit::kRetry;
  }
  revision_ = rev;
  metrics_->checkpoints_ok->Increment();
  previous_generation_ = generation_;
  generation_ = chunked ? generation : 0;
  return Commit::kOk;
}

void CheckpointLedger::Tidy() {
  // The previous generation is no head's now (a new owner's fence would
  // have failed the write). Unknown leftovers need the listing sweep.
  const uint64_t previous = std::exchange(previous_generation_, generation_);
  if (sweep_pending_) {
    Sweep();
  } else if (previous != 0 && previous != generation_) {
    if (core::Status purged = store_.Purge(previous); !purged.ok()) {
      metrics_->nats_errors->Increment();
      sweep_pending_ = true;
    }
  }
}

void CheckpointLedger::Sweep() {
  int purged = 0;
  if (core::Status s = store_.Sweep(generation_, revision_, &purged); !s.ok()) {
    metrics_->nats_errors->Increment();
    Log(LogLevel::kWarn, "removing unreferenced checkpoint chunks failed; retried after the next checkpoint",
        {Field("partition", partition_), Field("error", s.message())});
    sweep_pending_ = true;
    return;
  }
  sweep_pending_ = false;
  if (purged > 0) {
    Log(LogLevel::kInfo, "removed unreferenced checkpoint chunks",
        {Field("partition", partition_), Field("generations", static_cast<int64_t>(purged))});
  }
}

uint64_t CheckpointLedger::NewGeneration() {
  // Random, so that generations of different owners (and of restarts of
  // one) never collide; 0 means "inline".
  uint64_t g = 0;
  while (g == 0) g = (uint64_t{random_()} << 32) ^ random_();
  return g;
}

}  // namespace lstmad::daemon
