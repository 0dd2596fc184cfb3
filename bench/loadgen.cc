// loadgen: a bounded, loopback-only load generator for `lstmad serve`.
//
//   loadgen --connect 127.0.0.1:PORT --streams N --features F [--connections C]
//           [--duration S] [--rate R] [--max-samples M] [--measurement m]
//           [--sndbuf BYTES]
//
// Writes InfluxDB line protocol over C TCP connections for N streams:
//
//   m,s=<k> f0=<v>,f1=<v>,...,f{F-1}=<v>\n
//
// without timestamps (the daemon stamps arrival). Sample i goes to stream
// i mod N, and stream k always to connection k mod C, so each stream's samples
// arrive in order and the streams take turns evenly. Values come from a small
// table of preformatted numbers, so producing a line is a few memcpy's and the
// generator leaves the CPU to the daemon.
//
// Without --rate it saturates: it keeps every socket's send buffer full until
// --duration has passed or --max-samples were written. With --rate R it paces:
// sample i is due at start + i/R, and due samples are written as the clock
// reaches them (at most a millisecond's worth at once), so the load is spread
// evenly rather than sent in bursts. A receiver that falls behind is not
// buffered for without bound: generation pauses while a connection has more
// than kMaxPendingBytes unsent, and the reported rate shows the shortfall.
//
// Prints one JSON object on stdout: samples and bytes fully written (handed to
// the kernel: up to the socket buffers' worth may still be unread by the
// receiver, which is why --sndbuf defaults to a small 64 KiB), the seconds
// from the first write to the last, and the achieved rate. Exit codes:
// 0 done, 1 run-time failure (connect, write), 2 bad arguments or a host that
// is not a loopback address.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lstmad::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Bounds on what one run may do.
constexpr double kMaxDurationS = 600;
constexpr int64_t kMaxStreams = 10'000'000;
constexpr int kMaxConnections = 1024;
constexpr int kMaxFeatures = 256;
constexpr double kMaxRate = 1e8;
constexpr int64_t kMaxSamples = 10'000'000'000;
// Unsent bytes a connection may hold before generation waits for it.
constexpr size_t kMaxPendingBytes = 64 * 1024;
// SO_SNDBUF per connection. Small, so that what a saturating run leaves in the
// kernel when it stops (and the receiver still has to read) is small too.
constexpr int kDefaultSendBuffer = 64 * 1024;
// Samples generated per step in saturation mode.
constexpr int64_t kSaturationChunk = 4096;
// How long the final flush may take once the run is over.
constexpr double kFlushTimeoutS = 5;

constexpr std::string_view kUsage =
    "usage: loadgen --connect HOST:PORT --streams N --features F [--connections C]\n"
    "               [--duration S] [--rate R] [--max-samples M] [--measurement NAME]\n"
    "  --connect      a loopback address only (127.0.0.0/8, ::1, localhost)\n"
    "  --streams      distinct streams (tag s=0..N-1)\n"
    "  --features     fields f0..f{F-1} per line\n"
    "  --connections  TCP connections (default 4)\n"
    "  --duration     seconds, at most 600 (default 10)\n"
    "  --rate         samples/s over all connections; omitted: as fast as possible\n"
    "  --max-samples  stop after this many samples (default: no limit but the duration)\n"
    "  --measurement  measurement name (default m)\n"
    "  --sndbuf       SO_SNDBUF bytes per connection (default 65536; 0: the kernel's)\n";

struct Options {
  std::string host;
  std::string port;
  int64_t streams = 0;
  int features = 0;
  int connections = 4;
  double duration_s = 10;
  double rate = 0;  // 0: saturate
  int64_t max_samples = kMaxSamples;
  std::string measurement = "m";
  int send_buffer = kDefaultSendBuffer;
};

bool Fail(const std::string& message) {
  std::fprintf(stderr, "loadgen: %s\n", message.c_str());
  return false;
}

template <typename T>
bool ParseNumber(std::string_view flag, std::string_view text, T lo, T hi, T* out) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= lo && value <= hi)) {
    return Fail(std::string(flag) + ": '" + std::string(text) + "' is not a number in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  }
  *out = value;
  return true;
}

bool SplitHostPort(std::string_view text, Options* options) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return Fail("--connect: expected HOST:PORT, got '" + std::string(text) + "'");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  options->host = std::string(host);
  options->port = std::string(text.substr(colon + 1));
  return true;
}

bool ParseArgs(int argc, char** argv, Options* options) {
  bool have_connect = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::fputs(kUsage.data(), stdout);
      std::exit(kExitOk);
    }
    if (i + 1 >= argc) return Fail(std::string(flag) + ": missing value (try --help)");
    const std::string_view value = argv[++i];
    bool ok = true;
    if (flag == "--connect") {
      ok = have_connect = SplitHostPort(value, options);
    } else if (flag == "--streams") {
      ok = ParseNumber<int64_t>(flag, value, 1, kMaxStreams, &options->streams);
    } else if (flag == "--features") {
      ok = ParseNumber<int>(flag, value, 1, kMaxFeatures, &options->features);
    } else if (flag == "--connections") {
      ok = ParseNumber<int>(flag, value, 1, kMaxConnections, &options->connections);
    } else if (flag == "--duration") {
      ok = ParseNumber<double>(flag, value, 0.001, kMaxDurationS, &options->duration_s);
    } else if (flag == "--rate") {
      ok = ParseNumber<double>(flag, value, 1, kMaxRate, &options->rate);
    } else if (flag == "--max-samples") {
      ok = ParseNumber<int64_t>(flag, value, 1, kMaxSamples, &options->max_samples);
    } else if (flag == "--sndbuf") {
      ok = ParseNumber<int>(flag, value, 0, 64 << 20, &options->send_buffer);
    } else if (flag == "--measurement") {
      options->measurement = std::string(value);
      ok = !value.empty() && value.find_first_of(" ,=\\\n") == std::string_view::npos;
      if (!ok) Fail("--measurement: must be non-empty, without spaces, commas, '=' or '\\'");
    } else {
      return Fail("unknown argument '" + std::string(flag) + "' (try --help)");
    }
    if (!ok) return false;
  }
  if (!have_connect) return Fail("--connect is required (try --help)");
  if (options->streams == 0) return Fail("--streams is required (try --help)");
  if (options->features == 0) return Fail("--features is required (try --help)");
  return true;
}

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

// Resolves the host and refuses it unless every address it names is loopback,
// so a mistyped host can never point the generator at another machine.
bool ResolveLoopback(const Options& options, sockaddr_storage* out, socklen_t* out_len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &found); rc != 0) {
    return Fail("cannot resolve '" + options.host + ":" + options.port + "': " + gai_strerror(rc));
  }
  bool all_loopback = found != nullptr;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) all_loopback = all_loopback && IsLoopback(a->ai_addr);
  if (all_loopback) {
    std::memcpy(out, found->ai_addr, found->ai_addrlen);
    *out_len = found->ai_addrlen;
  }
  freeaddrinfo(found);
  if (!all_loopback) {
    return Fail("'" + options.host + "' is not a loopback address; loadgen only targets 127.0.0.0/8 or ::1");
  }
  return true;
}

// One TCP connection with the bytes generated for it but not yet written.
struct Connection {
  int fd = -1;
  std::string pending;
  size_t offset = 0;          // pending[0, offset) is already written
  int64_t lines_written = 0;  // complete lines written
  uint64_t bytes_written = 0;

  size_t unsent() const { return pending.size() - offset; }
};

bool Connect(const sockaddr_storage& address, socklen_t length, int send_buffer, Connection* c) {
  c->fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return Fail(std::string("socket: ") + std::strerror(errno));
  if (send_buffer > 0) setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  if (connect(c->fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    return Fail(std::string("connect: ") + std::strerror(errno));
  }
  const int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == 0 ||
         Fail(std::string("fcntl: ") + std::strerror(errno));
}

// Writes what the socket takes now. False on a write error (peer gone).
bool Flush(Connection* c) {
  while (c->unsent() > 0) {
    const ssize_t n = send(c->fd, c->pending.data() + c->offset, c->unsent(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return Fail(std::string("send: ") + std::strerror(errno));
    }
    const char* begin = c->pending.data() + c->offset;
    c->lines_written += std::count(begin, begin + n, '\n');
    c->bytes_written += static_cast<uint64_t>(n);
    c->offset += static_cast<size_t>(n);
  }
  if (c->offset == c->pending.size()) {
    c->pending.clear();
    c->offset = 0;
  } else if (c->offset > kMaxPendingBytes) {
    c->pending.erase(0, c->offset);
    c->offset = 0;
  }
  return true;
}

// Produces the lines. Everything that varies is preformatted, so a line costs
// a few appends.
class LineMaker {
 public:
  explicit LineMaker(const Options& options) : options_(options) {
    for (int j = 0; j < kValues; ++j) {
      char buf[32];
      // A smooth, bounded series; its exact values do not matter.
      std::snprintf(buf, sizeof buf, "%.4f", std::sin(2 * std::numbers::pi * j / kValues) * 10 + 20);
      values_[static_cast<size_t>(j)] = buf;
    }
    for (int f = 0; f < options.features; ++f) field_names_.push_back((f == 0 ? " f" : ",f") + std::to_string(f) + "=");
  }

  // Appends sample `i` (stream i mod N, the stream's (i div N)-th sample).
  void Append(int64_t i, std::string* out) const {
    const int64_t stream = i % options_.streams, step = i / options_.streams;
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, stream);
    out->append(options_.measurement).append(",s=").append(digits, end);
    for (int f = 0; f < options_.features; ++f) {
      out->append(field_names_[static_cast<size_t>(f)]);
      out->append(values_[static_cast<size_t>((step + 3 * f + stream) % kValues)]);
    }
    out->push_back('\n');
  }

  int ConnectionOf(int64_t i) const { return static_cast<int>((i % options_.streams) % options_.connections); }

 private:
  static constexpr int kValues = 64;
  const Options& options_;
  std::string values_[kValues];
  std::vector<std::string> field_names_;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Generator {
 public:
  Generator(const Options& options, std::vector<Connection>* connections)
      : options_(options), lines_(options), connections_(*connections) {}

  bool Run() {
    start_ = last_write_ = Clock::now();
    const Clock::time_point deadline =
        start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.duration_s));
    while (generated_ < options_.max_samples && Clock::now() < deadline) {
      const int64_t want = options_.rate > 0 ? DueNow() : kSaturationChunk;
      const bool backed_up = !Generate(std::min(want, options_.max_samples - generated_));
      if (!FlushAll()) return false;
      if (options_.rate > 0 && !backed_up) {
        SleepUntilNextDue(deadline);
      } else if (!WaitWritable(deadline)) {
        return false;
      }
    }
    // The run is over; hand the last generated lines to the kernel.
    const Clock::time_point flush_deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kFlushTimeoutS));
    while (AnyUnsent() && Clock::now() < flush_deadline) {
      if (!FlushAll() || !WaitWritable(flush_deadline, /*any_unsent=*/true)) return false;
    }
    return true;
  }

  void PrintJson() const {
    int64_t samples = 0;
    uint64_t bytes = 0;
    for (const Connection& c : connections_) {
      samples += c.lines_written;
      bytes += c.bytes_written;
    }
    const double seconds = Seconds(last_write_ - start_);
    std::printf(
        "{\"mode\": \"%s\", \"streams\": %lld, \"features\": %d, \"connections\": %d, "
        "\"target_rate\": %.0f, \"samples\": %lld, \"bytes\": %llu, \"seconds\": %.6f, "
        "\"rate\": %.1f}\n",
        options_.rate > 0 ? "paced" : "saturate", static_cast<long long>(options_.streams), options_.features,
        options_.connections, options_.rate, static_cast<long long>(samples), static_cast<unsigned long long>(bytes),
        seconds, seconds > 0 ? static_cast<double>(samples) / seconds : 0.0);
  }

 private:
  // Samples due by now in paced mode, at most a millisecond's worth.
  int64_t DueNow() const {
    const double due = std::floor(Seconds(Clock::now() - start_) * options_.rate) + 1;
    const auto cap = static_cast<int64_t>(std::ceil(options_.rate / 1000));
    return std::clamp(static_cast<int64_t>(due) - generated_, int64_t{0}, cap);
  }

  void SleepUntilNextDue(Clock::time_point deadline) const {
    const auto next = start_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(generated_) / options_.rate));
    const auto wake = std::min(next, deadline);
    if (wake > Clock::now()) std::this_thread::sleep_until(wake);
  }

  // Appends up to `count` samples; false when it stopped early because the
  // next sample's connection is backed up (the receiver is behind).
  bool Generate(int64_t count) {
    for (int64_t k = 0; k < count; ++k) {
      Connection& c = connections_[static_cast<size_t>(lines_.ConnectionOf(generated_))];
      if (c.unsent() >= kMaxPendingBytes) return false;
      lines_.Append(generated_, &c.pending);
      ++generated_;
    }
    return true;
  }

  bool FlushAll() {
    for (Connection& c : connections_) {
      const uint64_t before = c.bytes_written;
      if (!Flush(&c)) return false;
      if (c.bytes_written != before) last_write_ = Clock::now();
    }
    return true;
  }

  bool AnyUnsent() const {
    return std::any_of(connections_.begin(), connections_.end(), [](const Connection& c) { return c.unsent() > 0; });
  }

  // Waits (up to 100 ms, and never past the deadline) until a backed-up
  // connection (with `any_unsent`, any with unsent bytes) can take more;
  // returns at once when there is none.
  bool WaitWritable(Clock::time_point deadline, bool any_unsent = false) {
    poll_fds_.clear();
    for (const Connection& c : connections_) {
      const size_t floor = any_unsent || generated_ >= options_.max_samples ? 1 : kMaxPendingBytes / 2;
      if (c.unsent() >= floor) {
        poll_fds_.push_back({c.fd, POLLOUT, 0});
      }
    }
    if (poll_fds_.empty()) return true;
    const double left_ms = std::clamp(Seconds(deadline - Clock::now()) * 1000, 0.0, 100.0);
    if (poll(poll_fds_.data(), poll_fds_.size(), static_cast<int>(std::ceil(left_ms))) < 0 && errno != EINTR) {
      return Fail(std::string("poll: ") + std::strerror(errno));
    }
    return true;
  }

  const Options& options_;
  LineMaker lines_;
  std::vector<Connection>& connections_;
  std::vector<pollfd> poll_fds_;
  int64_t generated_ = 0;
  Clock::time_point start_, last_write_;
};

int Main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, &options)) return kExitUsage;
  sockaddr_storage address{};
  socklen_t length = 0;
  if (!ResolveLoopback(options, &address, &length)) return kExitUsage;
  std::vector<Connection> connections(static_cast<size_t>(options.connections));
  int rc = kExitOk;
  for (Connection& c : connections) {
    if (!Connect(address, length, options.send_buffer, &c)) {
      rc = kExitFailure;
      break;
    }
  }
  if (rc == kExitOk) {
    Generator generator(options, &connections);
    if (!generator.Run()) rc = kExitFailure;
    generator.PrintJson();
  }
  for (Connection& c : connections) {
    if (c.fd >= 0) close(c.fd);
  }
  return rc;
}

}  // namespace
}  // namespace lstmad::bench

int main(int argc, char** argv) { return lstmad::bench::Main(argc, argv); }
