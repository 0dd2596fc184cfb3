// Partition checkpoints of cluster mode: round trip of the owner, the
// sequence and the streams; refusal of foreign or damaged bytes.
#include <gtest/gtest.h>

#include "cluster_checkpoint.h"
#include "stream_table.h"

namespace lstmad::daemon {
namespace {

Checkpoint OneFiringStream() {
  StreamTable table(2, 1);
  const uint32_t id = table.Insert("pump,site=a", StreamTable::Hash("pump,site=a"));
  for (int i = 0; i < 3; ++i) {
    const float v = static_cast<float>(i) + 0.5f;
    table.Append(id, &v, 100 + i);
  }
  table.Scored(id)->alert.Restore(true, 1);
  return {"node-1", 0x1234567890ull, 0x1234567999ull, {table.Save(id, "pump")}};
}

TEST(ClusterCheckpointTest, RoundTripKeepsOwnerSequenceWindowAndAlert) {
  auto decoded = DecodeCheckpoint(EncodeCheckpoint(OneFiringStream()), "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->owner, "node-1");
  EXPECT_EQ(decoded->sequence, 0x1234567890ull);
  EXPECT_EQ(decoded->delivered, 0x1234567999ull);
  ASSERT_EQ(decoded->streams.size(), 1u);
  const StreamSnapshot& s = decoded->streams[0];
  EXPECT_EQ(s.key, "pump,site=a");
  EXPECT_EQ(s.values, (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(s.times_ns, (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(s.samples, 3);
  EXPECT_TRUE(s.firing);
  EXPECT_EQ(s.alert_run, 1);
}

TEST(ClusterCheckpointTest, EmptyPartitionRoundTrips) {
  auto decoded = DecodeCheckpoint(EncodeCheckpoint({}), "c");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->owner, "");
  EXPECT_EQ(decoded->sequence, 0u);
  EXPECT_TRUE(decoded->streams.empty());
}

TEST(ClusterCheckpointTest, RefusesForeignAndDamagedBytes) {
  EXPECT_EQ(DecodeCheckpoint("hello", "b/snap.1").status().message(),
            "b/snap.1: not an lstmad partition checkpoint (no LSTMADCP magic)");
  const std::string bytes = EncodeCheckpoint(OneFiringStream());
  std::string version = bytes;
  version[8] = 9;
  EXPECT_EQ(DecodeCheckpoint(version, "c").status().message(), "c: checkpoint version 9 is not supported");
  // Any flipped bit after the version, header (sequence, owner) or body, is caught by a checksum.
  for (size_t i = 12; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    EXPECT_FALSE(DecodeCheckpoint(damaged, "c").ok()) << i;
  }
  // Every truncation is refused too.
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(DecodeCheckpoint(bytes.substr(0, n), "c").ok()) << n;
}

}  // namespace
}  // namespace lstmad::daemon
