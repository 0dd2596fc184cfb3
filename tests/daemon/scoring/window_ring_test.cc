// WindowRing keeps the newest `capacity` windows and hands them back oldest
// first in the network's window layout.
#include "scoring/window_ring.h"

#include <gtest/gtest.h>

namespace lstmad::daemon {
namespace {

// Window n of T=2, F=3: value 100n + 10t + f at step t, feature f.
std::vector<float> Window(int n) {
  std::vector<float> w;
  for (int t = 0; t < 2; ++t) {
    for (int f = 0; f < 3; ++f) w.push_back(static_cast<float>(100 * n + 10 * t + f));
  }
  return w;
}

void Append(WindowRing* ring, int first, int count) {
  std::vector<std::vector<float>> windows;
  std::vector<const float*> pointers;
  for (int n = first; n < first + count; ++n) windows.push_back(Window(n));
  for (const auto& w : windows) pointers.push_back(w.data());
  ring->Append(pointers.data(), count);
}

void ExpectWindows(const core::WindowSet<float>& set, int first, int count) {
  ASSERT_EQ(set.count, count);
  ASSERT_EQ(set.data.rows(), 3);
  ASSERT_EQ(set.data.cols(), 2 * count);
  for (int k = 0; k < count; ++k) {
    for (int t = 0; t < 2; ++t) {
      for (int f = 0; f < 3; ++f) {
        EXPECT_EQ(set.data(f, 2 * k + t), static_cast<float>(100 * (first + k) + 10 * t + f)) << k << t << f;
      }
    }
  }
}

TEST(WindowRingTest, HoldsTheNewestOldestFirstAcrossTheWrap) {
  WindowRing ring(2, 3, 4);
  ExpectWindows(ring.Snapshot(), 0, 0);
  Append(&ring, 0, 3);
  EXPECT_EQ(ring.size(), 3);
  ExpectWindows(ring.Snapshot(), 0, 3);
  Append(&ring, 3, 3);  // 0 and 1 overwritten
  EXPECT_EQ(ring.size(), 4);
  ExpectWindows(ring.Snapshot(), 2, 4);
  Append(&ring, 6, 9);  // more than the capacity in one batch
  ExpectWindows(ring.Snapshot(), 11, 4);
  ring.Clear();
  EXPECT_EQ(ring.size(), 0);
  Append(&ring, 20, 1);
  ExpectWindows(ring.Snapshot(), 20, 1);
}

}  // namespace
}  // namespace lstmad::daemon
