// Simulated multi-sensor pumps for the demo, the tests and load generation:
// four correlated features (temperature, pressure, vibration, flow) with a
// daily-like cycle and noise, and injectable faults (spike, level shift,
// frozen sensor). Deterministic for a seed. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace lstmad::tools {

constexpr std::array<const char*, 4> kSimulatedFeatures = {"temperature", "pressure", "vibration", "flow"};
constexpr int kSimulatedPeriod = 40;  // samples per cycle

enum class FaultKind { kSpike, kLevelShift, kFrozen };
const char* FaultName(FaultKind kind);

// One sample of pump `stream` as a line of InfluxDB line protocol:
// "MEASUREMENT,pump=pNNNN temperature=V,pressure=V,vibration=V,flow=V TIME_NS\n",
// values with six significant digits.
std::string LineProtocol(const std::string& measurement, int stream, const std::array<double, 4>& v,
                         int64_t time_ns);

// The --csv output: a header naming the features, then one row per sample.
std::string CsvHeader();
std::string CsvRow(const std::array<double, 4>& v);

class SimulatedPump {
 public:
  SimulatedPump(int index, uint64_t seed);

  // The next sample's four values.
  std::array<double, 4> Next();
  // Starts a fault on one feature for `samples` samples (a spike lasts one).
  void InjectFault(FaultKind kind, int feature, int samples);
  bool faulty() const { return fault_left_ > 0; }

 private:
  std::mt19937_64 rng_;
  double phase_;
  int64_t step_ = 0;
  FaultKind fault_ = FaultKind::kSpike;
  int fault_feature_ = 0;
  int fault_left_ = 0;
  std::array<double, 4> last_{};
};

}  // namespace lstmad::tools
