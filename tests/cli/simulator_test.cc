// The simulated pumps: deterministic for a seed, the line protocol and CSV
// lines they are written as, and faults that change only the stated feature.
#include "simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace lstmad::tools {
namespace {

TEST(SimulatorTest, SameSeedAndIndexGiveTheSameSeries) {
  SimulatedPump a(3, 42), b(3, 42), other_seed(3, 43), other_pump(4, 42);
  bool seed_differs = false, pump_differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto va = a.Next();
    EXPECT_EQ(va, b.Next()) << "sample " << i;
    seed_differs = seed_differs || va != other_seed.Next();
    pump_differs = pump_differs || va != other_pump.Next();
  }
  EXPECT_TRUE(seed_differs);
  EXPECT_TRUE(pump_differs);
}

TEST(SimulatorTest, LineProtocolFormat) {
  EXPECT_EQ(LineProtocol("pump", 7, {61.25, 4.5, 0.5, 120}, 1700000000123456789),
            "pump,pump=p0007 temperature=61.25,pressure=4.5,vibration=0.5,flow=120 "
            "1700000000123456789\n");
  EXPECT_EQ(LineProtocol("m", 12345, {1.0 / 3.0, -2, 1e-7, 1234567.8}, 0),
            "m,pump=p12345 temperature=0.333333,pressure=-2,vibration=1e-07,flow=1.23457e+06 0\n");
}

TEST(SimulatorTest, CsvFormat) {
  EXPECT_EQ(CsvHeader(), "temperature,pressure,vibration,flow\n");
  EXPECT_EQ(CsvRow({61.25, 4.5, 1.0 / 3.0, 120}), "61.25,4.5,0.333333,120\n");
}

// Runs a faulty and a clean pump side by side for `samples` samples after
// injecting `kind` into `feature` of the faulty one; returns the differences.
std::array<double, 4> MaxDifference(FaultKind kind, int feature, int samples, int check) {
  SimulatedPump clean(0, 9), faulty(0, 9);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(clean.Next(), faulty.Next());
  faulty.InjectFault(kind, feature, samples);
  EXPECT_TRUE(faulty.faulty());
  std::array<double, 4> diff{};
  for (int i = 0; i < check; ++i) {
    const auto c = clean.Next(), f = faulty.Next();
    for (size_t k = 0; k < 4; ++k) diff[k] = std::max(diff[k], std::abs(f[k] - c[k]));
  }
  return diff;
}

TEST(SimulatorTest, LevelShiftMovesOnlyTheStatedFeature) {
  const auto diff = MaxDifference(FaultKind::kLevelShift, 2, 5, 5);
  EXPECT_NEAR(diff[2], 3 * 0.2, 1e-12);  // three of the feature's cycle amplitudes
  EXPECT_EQ(diff[0], 0.0);
  EXPECT_EQ(diff[1], 0.0);
  EXPECT_EQ(diff[3], 0.0);
}

TEST(SimulatorTest, SpikeLastsOneSample) {
  SimulatedPump clean(1, 5), faulty(1, 5);
  faulty.InjectFault(FaultKind::kSpike, 3, 80);
  const auto c0 = clean.Next(), f0 = faulty.Next();
  EXPECT_NEAR(f0[3] - c0[3], 6 * 25.0, 1e-9);
  EXPECT_FALSE(faulty.faulty());
  EXPECT_EQ(clean.Next(), faulty.Next());
}

TEST(SimulatorTest, FrozenSensorRepeatsItsLastValue) {
  SimulatedPump pump(2, 11);
  double last = 0;
  for (int i = 0; i < 5; ++i) last = pump.Next()[0];
  pump.InjectFault(FaultKind::kFrozen, 0, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pump.Next()[0], last) << "sample " << i;
  EXPECT_FALSE(pump.faulty());
  EXPECT_NE(pump.Next()[0], last);
}

TEST(SimulatorTest, FaultNames) {
  EXPECT_STREQ(FaultName(FaultKind::kSpike), "spike");
  EXPECT_STREQ(FaultName(FaultKind::kLevelShift), "level_shift");
  EXPECT_STREQ(FaultName(FaultKind::kFrozen), "frozen");
}

}  // namespace
}  // namespace lstmad::tools
