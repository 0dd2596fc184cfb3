// `lstmad simulate`: stream simulated pumps to a daemon over TCP in line
// protocol, with occasional injected faults; or write one pump's normal
// series as CSV (--csv) to train the demo model on.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "lstmad/core/files.h"
#include "simulator.h"
#include "tcp_client.h"

namespace lstmad::tools {
namespace {

int WriteCsv(const std::string& path, int samples, uint64_t seed) {
  std::string csv = CsvHeader();
  SimulatedPump pump(0, seed);
  for (int i = 0; i < samples; ++i) csv += CsvRow(pump.Next());
  const core::Status written = core::WriteFileAtomically(path, csv);
  return written.ok() ? kExitOk : FailWrite("simulate", written);
}

}  // namespace

int RunSimulate(const std::vector<std::string>& args) {
  ArgParser p("simulate",
              "Stream simulated pumps (features temperature, pressure, vibration, flow; tag pump=pNNNN)\n"
              "to lstmad in InfluxDB line protocol, with nanosecond timestamps, injecting a fault\n"
              "(spike, level shift or frozen sensor) into a random pump every --fault-every seconds.");
  p.AddOption("connect", "HOST:PORT", "the daemon's ingest address");
  p.AddOption("streams", "N", "number of pumps", "10");
  p.AddOption("rate", "SAMPLES_PER_S", "samples per second over all pumps", "100");
  p.AddOption("duration", "S", "stop after S seconds (0: run until interrupted)", "0");
  p.AddOption("fault-every", "S", "inject a fault every S seconds (0: never)", "0");
  p.AddOption("measurement", "NAME", "the measurement to write", "pump");
  p.AddOption("seed", "S", "random seed", "1");
  p.AddOption("csv", "FILE", "instead of streaming, write one pump's normal series as CSV");
  p.AddOption("samples", "N", "rows to write with --csv", "5000");
  if (const int code = ParseArgsOrExit(&p, args, "simulate"); code >= 0) return code;
  std::string error;
  int streams = 0, samples = 0;
  double rate = 0, duration = 0, fault_every = 0;
  uint64_t seed = 0;
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "streams", 1, kMax, &streams); !e.empty()) return Fail("simulate", e);
  if (!ParseDouble(p.Get("rate"), &rate) || rate <= 0) return Fail("simulate", "--rate must be > 0");
  if (!ParseDouble(p.Get("duration"), &duration) || duration < 0) return Fail("simulate", "--duration must be >= 0");
  if (!ParseDouble(p.Get("fault-every"), &fault_every) || fault_every < 0) {
    return Fail("simulate", "--fault-every must be >= 0");
  }
  if (std::string e = Uint64Flag(p, "seed", &seed); !e.empty()) return Fail("simulate", e);
  if (std::string e = IntFlag(p, "samples", 1, kMax, &samples); !e.empty()) return Fail("simulate", e);
  if (p.Has("csv")) return WriteCsv(p.Get("csv"), samples, seed);
  if (!p.Has("connect")) return Fail("simulate", "--connect (or --csv) is required");

  const int fd = ConnectTcp(p.Get("connect"), &error);
  if (fd < 0) return Fail("simulate", error, kExitFailure);
  std::vector<SimulatedPump> pumps;
  for (int i = 0; i < streams; ++i) pumps.emplace_back(i, seed);
  std::mt19937_64 rng(seed);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto tick = std::chrono::duration<double>(streams / rate);
  auto next_fault = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(fault_every));
  std::string batch;
  for (int64_t round = 0;; ++round) {
    const auto now = Clock::now();
    if (duration > 0 && now - start >= std::chrono::duration<double>(duration)) break;
    if (fault_every > 0 && now >= next_fault) {
      const int target = static_cast<int>(rng() % static_cast<uint64_t>(streams));
      const auto kind = static_cast<FaultKind>(rng() % 3);
      const int feature = static_cast<int>(rng() % 4);
      pumps[static_cast<size_t>(target)].InjectFault(kind, feature, 2 * kSimulatedPeriod);
      // Named as the lines name the pump (p0008), so the log and the alerts agree.
      char pump[16];
      std::snprintf(pump, sizeof pump, "p%04d", target);
      std::cerr << "simulate: injecting " << FaultName(kind) << " into pump=" << pump << " "
                << kSimulatedFeatures[static_cast<size_t>(feature)] << "\n";
      next_fault += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(fault_every));
    }
    batch.clear();
    const int64_t time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    for (int i = 0; i < streams; ++i) {
      batch += LineProtocol(p.Get("measurement"), i, pumps[static_cast<size_t>(i)].Next(), time_ns);
    }
    if (!SendAll(fd, batch)) {
      close(fd);
      return Fail("simulate", "the connection to " + p.Get("connect") + " was closed", kExitFailure);
    }
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(tick * (round + 1)));
  }
  close(fd);
  return kExitOk;
}

}  // namespace lstmad::tools
