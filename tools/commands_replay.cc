// `lstmad replay`: a CSV recording (the format `train` reads) streamed into a
// running daemon as line protocol, to try a model on one's own data without
// writing a converter.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "replay.h"
#include "tcp_client.h"

namespace lstmad::tools {
namespace {

// Lines are written in chunks of about this many bytes when not paced.
constexpr size_t kChunkBytes = 256 * 1024;

}  // namespace

int RunReplay(const std::vector<std::string>& args) {
  ArgParser p("replay",
              "Stream a CSV series (header row, optional timestamp column first, as `lstmad train`\n"
              "reads) into a running `lstmad serve` as line protocol: one line per row, every\n"
              "feature column a field. Timestamps come from the CSV's timestamp column (ISO 8601\n"
              "UTC or epoch seconds) in the daemon's --precision; without one the daemon stamps\n"
              "each line on arrival. As fast as the connection takes them, or --rate rows a second.");
  p.AddOption("data", "FILE.csv", "the series");
  p.AddOption("connect", "HOST:PORT", "the daemon's ingest address (ingest.listen)", "127.0.0.1:7878");
  p.AddOption("measurement", "NAME", "the measurement of every line (routes it to a model)");
  p.AddOption("tags", "k=v,...", "tags of every line (the stream's identity)", "");
  p.AddOption("features", "a,b", "the columns to send (default: every non-timestamp column)");
  p.AddOption("rate", "R", "rows a second (default: as fast as possible)");
  p.AddOption("precision", "ns|us|ms|s", "the daemon's ingest.precision", "ns");
  AddFillFlag(&p);
  if (const int code = ParseArgsOrExit(&p, args, "replay"); code >= 0) return code;
  if (!p.Has("data") || !p.Has("measurement")) return Fail("replay", "--data and --measurement are required");
  core::Result<Tags> tags = ParseTags(p.Get("tags"));
  if (!tags.ok()) return Fail("replay", tags.status().message());
  core::Result<int64_t> unit_ns = PrecisionUnitNs(p.Get("precision"));
  if (!unit_ns.ok()) return Fail("replay", unit_ns.status().message());
  double rate = 0;
  if (p.Has("rate") && (!ParseDouble(p.Get("rate"), &rate) || rate <= 0)) {
    return Fail("replay", "--rate must be a positive number of rows a second");
  }
  core::Result<core::EmptyCells> fill = FillOf(p);
  if (!fill.ok()) return Fail("replay", fill.status().message());
  core::Result<core::CsvTable> table =
      LoadCsv(p.Get("data"), p.Has("features") ? SplitList(p.Get("features")) : std::vector<std::string>{}, *fill);
  if (!table.ok()) return Fail("replay", table.status().message());
  // Every timestamp is checked before the first line leaves: a bad row must
  // not leave half a recording in the daemon.
  std::vector<std::optional<int64_t>> stamps;
  stamps.reserve(static_cast<size_t>(table->rows()));
  for (int row = 0; row < table->rows(); ++row) {
    core::Result<std::optional<int64_t>> t = RowTimestamp(*table, row, *unit_ns);
    if (!t.ok()) return Fail("replay", p.Get("data") + ": " + t.status().message());
    stamps.push_back(*t);
  }
  std::string error;
  const int fd = ConnectTcp(p.Get("connect"), &error);
  if (fd < 0) return Fail("replay", error, kExitFailure);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::string chunk;
  bool ok = true;
  for (int row = 0; row < table->rows() && ok; ++row) {
    chunk += LineOf(p.Get("measurement"), *tags, *table, row, stamps[static_cast<size_t>(row)]);
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(row / rate)));
      ok = SendAll(fd, chunk);
      chunk.clear();
    } else if (chunk.size() >= kChunkBytes) {
      ok = SendAll(fd, chunk);
      chunk.clear();
    }
  }
  if (ok && !chunk.empty()) ok = SendAll(fd, chunk);
  close(fd);
  if (!ok) return Fail("replay", "the connection to " + p.Get("connect") + " was closed", kExitFailure);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::cerr << "replay: " << table->rows() << " rows sent to " << p.Get("connect") << " in "
            << std::to_string(seconds).substr(0, 5) << " s\n";
  return kExitOk;
}

}  // namespace lstmad::tools
