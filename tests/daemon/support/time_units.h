// Test support: time units in the daemon's nanoseconds, for tests that write
// sample times.
#pragma once

#include <cstdint>

namespace lstmad::daemon::testing {

inline constexpr int64_t kS = 1'000'000'000;  // one second

}  // namespace lstmad::daemon::testing
