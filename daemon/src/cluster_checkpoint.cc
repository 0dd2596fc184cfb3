#include "cluster_checkpoint.h"

#include <cstring>

#include "lstmad/core/model_file_format.h"

namespace lstmad::daemon {
namespace {

constexpr std::string_view kCheckpointMagic = "LSTMADCP";
constexpr uint32_t kCheckpointVersion = 1;

template <typename T>
void Put(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts, as snapshot.cc
  out->append(bytes, sizeof(T));
}

template <typename T>
T Get(std::string_view bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  std::string out(kCheckpointMagic);
  Put<uint32_t>(&out, kCheckpointVersion);
  Put<uint64_t>(&out, checkpoint.sequence);
  Put<uint64_t>(&out, checkpoint.delivered);
  Put<uint32_t>(&out, static_cast<uint32_t>(checkpoint.owner.size()));
  out += checkpoint.owner;
  Put<uint32_t>(&out, core::model_file::Crc32c(out));
  out += EncodeSnapshot(checkpoint.streams);
  return out;
}

core::Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source) {
  const size_t fixed = kCheckpointMagic.size() + 4 + 8 + 8 + 4;
  if (bytes.size() < fixed || bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    return core::Status::Error(source + ": not an lstmad partition checkpoint (no LSTMADCP magic)");
  }
  const auto version = Get<uint32_t>(bytes, kCheckpointMagic.size());
  if (version != kCheckpointVersion) {
    return core::Status::Error(source + ": checkpoint version " + std::to_string(version) + " is not supported");
  }
  const auto owner_len = Get<uint32_t>(bytes, fixed - 4);
  if (owner_len > bytes.size() - fixed || bytes.size() - fixed - owner_len < 4 ||
      Get<uint32_t>(bytes, fixed + owner_len) != core::model_file::Crc32c(bytes.substr(0, fixed + owner_len))) {
    return core::Status::Error(source + ": corrupt checkpoint header");
  }
  Checkpoint out;
  out.sequence = Get<uint64_t>(bytes, kCheckpointMagic.size() + 4);
  out.delivered = Get<uint64_t>(bytes, kCheckpointMagic.size() + 12);
  out.owner.assign(bytes.substr(fixed, owner_len));
  auto streams = DecodeSnapshot(bytes.substr(fixed + owner_len + 4), source);
  if (!streams.ok()) return streams.status();
  out.streams = std::move(streams).value();
  return out;
}

}  // namespace lstmad::daemon
