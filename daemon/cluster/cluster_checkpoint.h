// Partition checkpoints of cluster mode (docs/cluster.md): what a partition's
// owner saves in the state bucket, and what its next owner resumes from.
// Pure functions; no thread affinity.
//
// A checkpoint is stored as a head value under snap.<n>, written with a
// revision-checked update (the fencing), and, when it does not fit one NATS
// message, as chunks under snap.<n>.<generation>.<i> written before the head.
// The head then is a manifest naming the generation, the chunk count, the
// body's size and CRC-32C, so that a reader notices missing or mixed chunks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "ingest/snapshot.h"

namespace lstmad::daemon {

// Head v3: "LSTMADCP", u32 version, u64 last applied stream sequence, u64
// delivered bound, u32 length + the writer's instance id, u32 length + the
// JetStream stream the sequences are of, u8 layout (0: the
// body follows the head; 1: chunked: u64 generation, u32 chunk count, u64
// body size, u32 CRC-32C of the body), u32 CRC-32C of the head so far, then
// (inline only) the body: an EncodeSnapshot() (with its own CRC).
// Head v2 (still read): as v3 without the stream: written by a single-stream
// deployment, its sequences are of the stream named nats.stream.
// Head v1 (still read): as v2 without the layout byte and its fields, inline.
// Chunk: u64 generation, u32 index, then the body's next bytes.
inline constexpr uint32_t kCheckpointVersion = 3;
// A partition's body may not exceed this (at T=30, F=8 about 200,000 streams).
inline constexpr uint64_t kMaxCheckpointBytes = uint64_t{256} << 20;
// Room left under max_payload for the message's headers and subject.
inline constexpr int64_t kChunkHeadroom = 4096;
inline constexpr size_t kChunkHeaderBytes = 12;

struct Checkpoint {
  std::string owner;      // the instance that wrote it
  uint64_t sequence = 0;  // every sample of the partition up to here is in `streams`
  // Owners' consumers may have delivered (and their windows been scored) up
  // to here: samples re-applied up to it count as redelivered. Carried from
  // owner to owner, so a takeover that failed half-way loses no count.
  uint64_t delivered = 0;
  std::vector<StreamSnapshot> streams;
  // The JetStream stream `sequence` and `delivered` count in; empty in v1
  // and v2 heads (the single stream of those deployments, nats.stream).
  std::string stream;
};

// A decoded head: the checkpoint's header, and either its body (inline) or
// what its chunks must add up to.
struct CheckpointHead {
  std::string owner;
  uint64_t sequence = 0;
  uint64_t delivered = 0;
  bool chunked = false;
  uint64_t generation = 0;  // chunked only: unique per write, across owners
  uint32_t chunks = 0;
  uint64_t body_size = 0;
  uint32_t body_crc = 0;
  std::string body;  // inline only
  std::string stream;  // as Checkpoint::stream
};

// What one write stores: the head and the chunks (none when inline).
struct EncodedCheckpoint {
  std::string head;
  std::vector<std::string> chunks;
};

// Inline when the head with the body fits `value_limit` bytes, otherwise
// chunks of at most `value_limit` bytes under `generation` (not 0). Refused
// when the body exceeds kMaxCheckpointBytes.
core::Result<EncodedCheckpoint> EncodeCheckpointParts(const Checkpoint& checkpoint, uint64_t generation,
                                                      size_t value_limit);
// An inline head of the current version (a small or empty checkpoint).
std::string EncodeCheckpoint(const Checkpoint& checkpoint);
// The same head with another owner and delivered bound (a takeover's fence:
// the chunks stay where they are).
std::string EncodeCheckpointHead(const CheckpointHead& head);
core::Result<CheckpointHead> DecodeCheckpointHead(std::string_view bytes, const std::string& source);
// The checkpoint of a head and its chunks (in index order, up to the first
// missing one; none when inline): refused when a chunk is missing, of
// another generation or out of place, or the body's size or CRC differ from
// the head's.
core::Result<Checkpoint> AssembleCheckpoint(const CheckpointHead& head, const std::vector<std::string>& chunks,
                                            const std::string& source);
// An inline head's checkpoint (a chunked one is refused: it needs its chunks).
core::Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source);
// "<head_key>.<generation as 16 hex digits>.<index>".
std::string CheckpointChunkKey(const std::string& head_key, uint64_t generation, uint32_t index);
// The generation token of "<head_key>.<16 hex>.<index>" keys; false for others.
bool ParseCheckpointChunkKey(std::string_view key, std::string_view head_key, uint64_t* generation);

}  // namespace lstmad::daemon
