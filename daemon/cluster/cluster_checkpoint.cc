#include "cluster/cluster_checkpoint.h"

#include <cstdio>
#include <cstring>

#include "lstmad/core/byte_codec.h"
#include "lstmad/core/crc32c.h"

namespace lstmad::daemon {
namespace {

constexpr std::string_view kCheckpointMagic = "LSTMADCP";
constexpr uint8_t kInline = 0;
constexpr uint8_t kChunked = 1;
// magic, version, sequence, delivered, owner length
constexpr size_t kFixed = 8 + 4 + 8 + 8 + 4;
// generation, chunk count, body size, body CRC
constexpr size_t kManifest = 8 + 4 + 8 + 4;

using core::bytes::GetAt;
using core::bytes::Put;

// The head up to and including its CRC.
std::string HeadBytes(const CheckpointHead& head) {
  std::string out(kCheckpointMagic);
  Put<uint32_t>(&out, kCheckpointVersion);
  Put<uint64_t>(&out, head.sequence);
  Put<uint64_t>(&out, head.delivered);
  Put<uint32_t>(&out, static_cast<uint32_t>(head.owner.size()));
  out += head.owner;
  Put<uint32_t>(&out, static_cast<uint32_t>(head.stream.size()));
  out += head.stream;
  Put<uint8_t>(&out, head.chunked ? kChunked : kInline);
  if (head.chunked) {
    Put<uint64_t>(&out, head.generation);
    Put<uint32_t>(&out, head.chunks);
    Put<uint64_t>(&out, head.body_size);
    Put<uint32_t>(&out, head.body_crc);
  }
  Put<uint32_t>(&out, core::Crc32c(out));
  return out;
}

std::string Hex16(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(v));
  return text;
}

CheckpointHead InlineHead(const Checkpoint& checkpoint) {
  CheckpointHead head;
  head.owner = checkpoint.owner;
  head.stream = checkpoint.stream;
  head.sequence = checkpoint.sequence;
  head.delivered = checkpoint.delivered;
  return head;
}

}  // namespace

core::Result<EncodedCheckpoint> EncodeCheckpointParts(const Checkpoint& checkpoint, uint64_t generation,
                                                      size_t value_limit) {
  CheckpointHead head = InlineHead(checkpoint);
  std::string body = EncodeSnapshot(checkpoint.streams);
  if (body.size() > kMaxCheckpointBytes) {
    return core::Status::Error("partition checkpoint of " + std::to_string(body.size()) +
                               " bytes exceeds the limit of " + std::to_string(kMaxCheckpointBytes) +
                               " bytes; raise nats.partitions");
  }
  EncodedCheckpoint out;
  out.head = HeadBytes(head);
  if (out.head.size() + body.size() <= value_limit) {
    out.head += body;
    return out;
  }
  if (generation == 0 || value_limit <= kChunkHeaderBytes) {
    return core::Status::Error("a chunked checkpoint needs a generation and room for its chunks");
  }
  const size_t per_chunk = value_limit - kChunkHeaderBytes;
  head.chunked = true;
  head.generation = generation;
  head.chunks = static_cast<uint32_t>((body.size() + per_chunk - 1) / per_chunk);
  head.body_size = body.size();
  head.body_crc = core::Crc32c(body);
  out.head = HeadBytes(head);
  out.chunks.reserve(head.chunks);
  for (uint32_t i = 0; i < head.chunks; ++i) {
    std::string chunk;
    Put<uint64_t>(&chunk, generation);
    Put<uint32_t>(&chunk, i);
    chunk.append(std::string_view(body).substr(i * per_chunk, per_chunk));
    out.chunks.push_back(std::move(chunk));
  }
  return out;
}

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  return HeadBytes(InlineHead(checkpoint)) +
         EncodeSnapshot(checkpoint.streams);
}

std::string EncodeCheckpointHead(const CheckpointHead& head) {
  return head.chunked ? HeadBytes(head) : HeadBytes(head) + head.body;
}

core::Result<CheckpointHead> DecodeCheckpointHead(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kFixed || bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    return core::Status::Error(source + ": not an lstmad partition checkpoint (no LSTMADCP magic)");
  }
  const auto version = GetAt<uint32_t>(bytes, kCheckpointMagic.size());
  if (version < 1 || version > kCheckpointVersion) {
    return core::Status::Error(source + ": checkpoint version " + std::to_string(version) + " is not supported");
  }
  const auto owner_len = GetAt<uint32_t>(bytes, kFixed - 4);
  const core::Status corrupt = core::Status::Error(source + ": corrupt checkpoint header");
  if (owner_len > bytes.size() - kFixed) return corrupt;
  size_t at = kFixed + owner_len;
  CheckpointHead head;
  if (version >= 3) {
    if (bytes.size() - at < 4) return corrupt;
    const auto stream_len = GetAt<uint32_t>(bytes, at);
    if (stream_len > bytes.size() - at - 4) return corrupt;
    head.stream.assign(bytes.substr(at + 4, stream_len));
    at += 4 + stream_len;
  }
  if (version >= 2) {
    if (bytes.size() - at < 1) return corrupt;
    const auto layout = GetAt<uint8_t>(bytes, at);
    at += 1;
    if (layout == kChunked) {
      if (bytes.size() - at < kManifest) return corrupt;
      head.chunked = true;
      head.generation = GetAt<uint64_t>(bytes, at);
      head.chunks = GetAt<uint32_t>(bytes, at + 8);
      head.body_size = GetAt<uint64_t>(bytes, at + 12);
      head.body_crc = GetAt<uint32_t>(bytes, at + 20);
      at += kManifest;
    } else if (layout != kInline) {
      return corrupt;
    }
  }
  if (bytes.size() - at < 4 || GetAt<uint32_t>(bytes, at) != core::Crc32c(bytes.substr(0, at))) {
    return corrupt;
  }
  head.sequence = GetAt<uint64_t>(bytes, kCheckpointMagic.size() + 4);
  head.delivered = GetAt<uint64_t>(bytes, kCheckpointMagic.size() + 12);
  head.owner.assign(bytes.substr(kFixed, owner_len));
  if (head.chunked) {
    if (bytes.size() != at + 4) return core::Status::Error(source + ": chunked checkpoint head carries a body");
    if (head.body_size > kMaxCheckpointBytes || head.chunks == 0 || head.chunks > head.body_size) {
      return core::Status::Error(source + ": checkpoint manifest out of range (" + std::to_string(head.chunks) +
                                 " chunks, " + std::to_string(head.body_size) + " bytes)");
    }
  } else {
    head.body.assign(bytes.substr(at + 4));
  }
  return head;
}

core::Result<Checkpoint> AssembleCheckpoint(const CheckpointHead& head, const std::vector<std::string>& chunks,
                                            const std::string& source) {
  std::string joined;
  const std::string* body = &head.body;
  if (head.chunked) {
    if (chunks.size() < head.chunks) {  // the reader stops at the first missing one
      return core::Status::Error(source + ": checkpoint chunk " + std::to_string(chunks.size()) + " of " +
                                 std::to_string(head.chunks) + " (generation " + Hex16(head.generation) +
                                 ") is missing");
    }
    if (chunks.size() > head.chunks) {
      return core::Status::Error(source + ": checkpoint has " + std::to_string(chunks.size()) + " chunks, its head " +
                                 std::to_string(head.chunks));
    }
    joined.reserve(head.body_size);
    for (uint32_t i = 0; i < head.chunks; ++i) {
      const std::string& c = chunks[i];
      if (c.size() < kChunkHeaderBytes || GetAt<uint64_t>(c, 0) != head.generation || GetAt<uint32_t>(c, 8) != i) {
        return core::Status::Error(source + ": chunk " + std::to_string(i) + " is not chunk " + std::to_string(i) +
                                   " of generation " + Hex16(head.generation));
      }
      joined.append(std::string_view(c).substr(kChunkHeaderBytes));
      if (joined.size() > head.body_size) break;
    }
    if (joined.size() != head.body_size || core::Crc32c(joined) != head.body_crc) {
      return core::Status::Error(source + ": checkpoint chunks do not add up to the body of generation " +
                                 Hex16(head.generation) + " (size or CRC-32C differ)");
    }
    body = &joined;
  }
  auto streams = DecodeSnapshot(*body, source);
  if (!streams.ok()) return streams.status();
  return Checkpoint{head.owner, head.sequence, head.delivered, std::move(streams).value(), head.stream};
}

core::Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source) {
  auto head = DecodeCheckpointHead(bytes, source);
  if (!head.ok()) return head.status();
  if (head->chunked) return core::Status::Error(source + ": checkpoint is chunked; its chunks are needed");
  return AssembleCheckpoint(*head, {}, source);
}

std::string CheckpointChunkKey(const std::string& head_key, uint64_t generation, uint32_t index) {
  return head_key + "." + Hex16(generation) + "." + std::to_string(index);
}

bool ParseCheckpointChunkKey(std::string_view key, std::string_view head_key, uint64_t* generation) {
  if (key.size() < head_key.size() + 19 || key.substr(0, head_key.size()) != head_key ||
      key[head_key.size()] != '.' || key[head_key.size() + 17] != '.') {
    return false;
  }
  uint64_t g = 0;
  for (char c : key.substr(head_key.size() + 1, 16)) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    g = g << 4 | static_cast<uint64_t>(digit);
  }
  *generation = g;
  return true;
}

}  // namespace lstmad::daemon
