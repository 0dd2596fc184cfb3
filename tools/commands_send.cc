// `lstmad send`: line-protocol lines to a daemon over TCP, from a flag or from
// standard input, so trying lstmad needs no `nc` (Debian 12 has none by
// default).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "tcp_client.h"

namespace lstmad::tools {
namespace {

// --repeat with standard input keeps the lines in memory; beyond this it is
// not a trial any more.
constexpr size_t kMaxRepeatedBytes = size_t{64} << 20;

}  // namespace

int RunSend(const std::vector<std::string>& args) {
  ArgParser p("send",
              "Send InfluxDB line-protocol lines to a running `lstmad serve` over TCP: the --line flag's,\n"
              "or standard input's, one per line. A line without a timestamp is stamped by the daemon\n"
              "when it arrives. A stream is scored once it has a window's worth of samples (the\n"
              "model's lookback, `lstmad summary`), so send at least that many (--repeat).");
  p.AddOption("connect", "HOST:PORT", "the daemon's ingest address (ingest.listen)", "127.0.0.1:7878");
  p.AddOption("line", "LINE", "the line to send (default: read lines from standard input)");
  p.AddOption("repeat", "N", "send the lines N times", "1");
  p.AddOption("interval", "S", "seconds to wait between two rounds of --repeat", "0");
  if (const int code = ParseArgsOrExit(&p, args, "send"); code >= 0) return code;
  int repeat = 0;
  double interval = 0;
  if (std::string e = IntFlag(p, "repeat", 1, std::numeric_limits<int>::max(), &repeat); !e.empty()) {
    return Fail("send", e);
  }
  if (!ParseDouble(p.Get("interval"), &interval) || interval < 0 || interval > 3600) {
    return Fail("send", "--interval must be from 0 to 3600 seconds");
  }
  std::string error;
  const int fd = ConnectTcp(p.Get("connect"), &error);
  if (fd < 0) return Fail("send", error, kExitFailure);
  int64_t sent = 0;
  auto send = [&](const std::string& text, int64_t lines) {
    if (!SendAll(fd, text)) return false;
    sent += lines;
    return true;
  };
  bool ok = true;
  if (p.Has("line") || repeat > 1) {
    std::string lines, line;
    int64_t count = 0;
    if (p.Has("line")) {
      lines = p.Get("line") + "\n";
      count = 1;
    } else {
      while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        lines += line + "\n";
        ++count;
        if (lines.size() > kMaxRepeatedBytes) {
          close(fd);
          return Fail("send", "--repeat keeps standard input in memory; more than 64 MiB given");
        }
      }
    }
    for (int round = 0; round < repeat && ok; ++round) {
      if (round > 0 && interval > 0) std::this_thread::sleep_for(std::chrono::duration<double>(interval));
      ok = send(lines, count);
    }
  } else {
    // Line by line as they come, so `tail -f sensor.log | lstmad send` works.
    std::string line;
    while (ok && std::getline(std::cin, line)) {
      if (!line.empty()) ok = send(line + "\n", 1);
    }
  }
  close(fd);
  if (!ok) return Fail("send", "the connection to " + p.Get("connect") + " was closed", kExitFailure);
  std::cerr << "send: " << sent << (sent == 1 ? " line" : " lines") << " sent to " << p.Get("connect") << "\n";
  return kExitOk;
}

}  // namespace lstmad::tools
