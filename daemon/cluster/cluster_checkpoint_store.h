// The chunks of one partition's checkpoint in the state bucket (docs/cluster.md,
// "Checkpoints"): written before the head that names them, read through the
// bucket stream's leader, and removed once no head names them.
//
// Chunks are removed with a subject-filtered purge of the bucket's stream
// rather than KV deletes: chunk keys are never reused (a generation is unique
// per write), so delete markers would pile up in the bucket forever.
//
// Used by the partition's worker thread only; the NatsLink is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_checkpoint.h"
#include "cluster/cluster_nats.h"

namespace lstmad::daemon {

class CheckpointStore {
 public:
  CheckpointStore(NatsLink* link, std::string head_key);

  // The most bytes one stored value (head or chunk) may have.
  size_t ValueLimit() const;
  // Writes `parts`'s chunks (generation `generation`); the head is the caller's.
  core::Status WriteChunks(const EncodedCheckpoint& parts, uint64_t generation);
  // The chunks `head` names, in order. A missing chunk is not an error here:
  // `chunks` then holds fewer, and AssembleCheckpoint refuses it.
  core::Status ReadChunks(const CheckpointHead& head, std::vector<std::string>* chunks);
  core::Status Purge(uint64_t generation);
  // Purges every chunk generation of this partition but `keep`, if the head
  // still has `revision` once they are listed: a new owner writes chunks
  // only after rewriting the head, so none of the listed ones is a new
  // owner's. `purged` counts the generations removed.
  core::Status Sweep(uint64_t keep, uint64_t revision, int* purged);

 private:
  std::string Subject(const std::string& key) const;

  NatsLink* link_;
  const std::string head_key_;
  const std::string stream_;  // KV_<bucket>
};

}  // namespace lstmad::daemon
