// Where a sample goes in cluster mode (docs/cluster.md, "Streams and
// partitions"): the partition of a stream's subject tokens, as the NATS
// servers' partition(P,1,2) mapping computes it, and the JetStream stream a
// partition is in. Pure functions; no thread affinity.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lstmad::daemon {

// nats-server's partition(P,1,2): FNV-1a (32 bits) of the two subject
// tokens concatenated without a separator, modulo P. Checked against a
// running nats-server by tests/integration/test_cluster_streams.py.
inline int SubjectPartition(std::string_view measurement_token, std::string_view key_token, int partitions) {
  uint32_t h = 2166136261u;
  for (std::string_view token : {measurement_token, key_token}) {
    for (const char c : token) {
      h ^= static_cast<unsigned char>(c);
      h *= 16777619u;
    }
  }
  return static_cast<int>(h % static_cast<uint32_t>(partitions));
}

// nats.streams N = 1: the one stream `stream`; otherwise `stream`_<index>.
inline std::string StreamName(const std::string& stream, int streams, int index) {
  return streams == 1 ? stream : stream + "_" + std::to_string(index);
}

// Partition n is in stream n mod N.
inline std::string PartitionStream(const std::string& stream, int streams, int partition) {
  return StreamName(stream, streams, partition % streams);
}

}  // namespace lstmad::daemon
