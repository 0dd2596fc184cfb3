// Partition checkpoints of cluster mode: round trip of the sequence and the
// streams, refusal of foreign or damaged bytes.
#include <gtest/gtest.h>

#include "cluster_partition.h"
#include "stream_state.h"

namespace lstmad::daemon {
namespace {

std::vector<StreamSnapshot> OneFiringStream() {
  StreamState s("pump,site=a", 2, 1, 0);
  for (int i = 0; i < 3; ++i) {
    const float v = static_cast<float>(i) + 0.5f;
    s.Append(&v, 100 + i);
  }
  s.alert.Restore(true, 1);
  return {s.Save("pump")};
}

TEST(ClusterCheckpointTest, RoundTripKeepsSequenceWindowAndAlert) {
  const std::string bytes = EncodeCheckpoint(0x1234567890ull, OneFiringStream());
  uint64_t seq = 0;
  std::vector<StreamSnapshot> streams;
  ASSERT_TRUE(DecodeCheckpoint(bytes, "c", &seq, &streams).ok());
  EXPECT_EQ(seq, 0x1234567890ull);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].key, "pump,site=a");
  EXPECT_EQ(streams[0].values, (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(streams[0].times_ns, (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(streams[0].samples, 3);
  EXPECT_TRUE(streams[0].firing);
}

TEST(ClusterCheckpointTest, EmptyPartitionRoundTrips) {
  uint64_t seq = 7;
  std::vector<StreamSnapshot> streams(1);
  ASSERT_TRUE(DecodeCheckpoint(EncodeCheckpoint(0, {}), "c", &seq, &streams).ok());
  EXPECT_EQ(seq, 0u);
  EXPECT_TRUE(streams.empty());
}

TEST(ClusterCheckpointTest, RefusesForeignAndDamagedBytes) {
  uint64_t seq = 0;
  std::vector<StreamSnapshot> streams;
  EXPECT_EQ(DecodeCheckpoint("hello", "b/snap.1", &seq, &streams).message(),
            "b/snap.1: not an lstmad partition checkpoint (no LSTMADCP magic)");
  std::string bytes = EncodeCheckpoint(5, OneFiringStream());
  std::string version = bytes;
  version[8] = 9;
  EXPECT_EQ(DecodeCheckpoint(version, "c", &seq, &streams).message(), "c: checkpoint version 9 is not supported");
  // Any flipped byte of the body fails the snapshot's checksum.
  for (size_t i = 20; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    EXPECT_FALSE(DecodeCheckpoint(damaged, "c", &seq, &streams).ok()) << i;
  }
  // Every truncation is refused too.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeCheckpoint(bytes.substr(0, n), "c", &seq, &streams).ok()) << n;
  }
}

}  // namespace
}  // namespace lstmad::daemon
