// Snapshot files: round trip, and refusal of damaged or foreign bytes.
#include <gtest/gtest.h>

#include "snapshot.h"
#include "stream_state.h"

namespace lstmad::daemon {
namespace {

std::vector<StreamSnapshot> Sample() {
  StreamState full("pump,pump=a", 3, 2, 0), partial("pump,pump=b", 3, 2, 0);
  for (int i = 0; i < 5; ++i) {
    const float v[2] = {float(i), float(10 * i)};
    full.Append(v, 1000 + i);
  }
  const float v[2] = {7, 8};
  partial.Append(v, 42);
  full.alert.Restore(true, 2);
  return {full.Save("pump"), partial.Save("pump")};
}

TEST(SnapshotTest, RoundTripKeepsWindowsTimesAndAlertState) {
  const std::vector<StreamSnapshot> saved = Sample();
  EXPECT_EQ(saved[0].values, (std::vector<float>{2, 20, 3, 30, 4, 40}));  // oldest first
  EXPECT_EQ(saved[0].times_ns, (std::vector<int64_t>{1002, 1003, 1004}));
  auto loaded = DecodeSnapshot(EncodeSnapshot(saved), "s");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  StreamState full("pump,pump=a", 3, 2, 0), partial("pump,pump=b", 3, 2, 0);
  full.Load((*loaded)[0]);
  partial.Load((*loaded)[1]);
  EXPECT_TRUE(full.alert.firing());
  EXPECT_EQ(full.alert.run(), 2);
  float window[6];
  full.CopyWindow(window);
  EXPECT_EQ(std::vector<float>(window, window + 6), (std::vector<float>{2, 20, 3, 30, 4, 40}));
  // The partial stream completes its first window after two more samples.
  const float v[2] = {1, 1};
  EXPECT_FALSE(partial.Append(v, 43));
  EXPECT_TRUE(partial.Append(v, 44));
  partial.CopyWindow(window);
  EXPECT_EQ(window[0], 7);
  EXPECT_EQ(partial.window_start_ns(), 42);
}

TEST(SnapshotTest, RefusesDamagedAndForeignBytes) {
  const std::string good = EncodeSnapshot(Sample());
  EXPECT_FALSE(DecodeSnapshot("", "s").ok());
  EXPECT_NE(DecodeSnapshot("NOTASNAPSHOT....", "s").status().message().find("not an lstmad snapshot"),
            std::string::npos);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeSnapshot(good.substr(0, n), "s").ok()) << n;
  }
  for (size_t i = 8; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    const auto r = DecodeSnapshot(bad, "s");
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().message().rfind("s: ", 0), 0u);
  }
}

}  // namespace
}  // namespace lstmad::daemon
