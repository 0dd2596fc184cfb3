// Partition checkpoints of cluster mode (docs/cluster.md): what a partition's
// owner saves in the state bucket, and what its next owner resumes from.
// Pure functions; no thread affinity.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "snapshot.h"

namespace lstmad::daemon {

// A partition checkpoint: "LSTMADCP", u32 version (1), u64 last applied
// stream sequence, u64 delivered bound, u32 length + the writer's instance
// id, u32 CRC-32C of the header so far, then an EncodeSnapshot() body (with
// its own CRC).
struct Checkpoint {
  std::string owner;      // the instance that wrote it
  uint64_t sequence = 0;  // every sample of the partition up to here is in `streams`
  // Owners' consumers may have delivered (and their windows been scored) up
  // to here: samples re-applied up to it count as redelivered. Carried from
  // owner to owner, so a takeover that failed half-way loses no count.
  uint64_t delivered = 0;
  std::vector<StreamSnapshot> streams;
};
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
core::Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source);

}  // namespace lstmad::daemon
