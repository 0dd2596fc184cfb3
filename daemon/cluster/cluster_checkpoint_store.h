// The chunks of one partition's checkpoint in the state bucket (docs/cluster.md,
// "Checkpoints"): written before the head that names them, read through the
// bucket's authority, and removed once no head names them.
//
// Chunks are removed with a prefix purge (KvBucket::PurgePrefix) rather than
// deletes: chunk keys are never reused (a generation is unique per write),
// so delete markers would pile up in the bucket forever.
//
// Used by the partition's worker thread only; the bucket is shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_backend.h"
#include "cluster/cluster_checkpoint.h"

namespace lstmad::daemon {

class CheckpointStore {
 public:
  // `bucket` outlives it; max_payload: the most bytes one message may carry.
  CheckpointStore(KvBucket* bucket, std::string head_key, int64_t max_payload);

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
  KvBucket* bucket_;
  const std::string head_key_;
  const int64_t max_payload_;
};

}  // namespace lstmad::daemon
