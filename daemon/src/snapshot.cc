#include "snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lstmad/core/model_file_format.h"

namespace lstmad::daemon {
namespace {

constexpr std::string_view kMagic = "LSTMADSS";
constexpr uint32_t kVersion = 3;
constexpr uint32_t kMaxDetectorState = 64u << 20;
constexpr uint32_t kMaxDimension = 1 << 20;
constexpr uint32_t kMaxTopFeatures = 1 << 16;

template <typename T>
void Put(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only (x86-64, arm64)
  out->append(bytes, sizeof(T));
}

void PutString(std::string* out, const std::string& s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Get(T* value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetString(std::string* s) {
    uint32_t n = 0;
    if (!Get(&n) || n > bytes_.size()) return false;
    s->assign(bytes_.substr(0, n));
    bytes_.remove_prefix(n);
    return true;
  }
  template <typename T>
  bool GetArray(size_t count, std::vector<T>* out) {
    if (count > bytes_.size() / sizeof(T)) return false;
    out->resize(count);
    if (count != 0) std::memcpy(out->data(), bytes_.data(), count * sizeof(T));  // data() may be null when empty
    bytes_.remove_prefix(count * sizeof(T));
    return true;
  }
  size_t remaining() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

bool DecodeStream(Reader* r, uint32_t version, StreamSnapshot* s) {
  uint32_t lookback = 0, features = 0, run = 0;
  uint8_t firing = 0;
  if (!r->GetString(&s->model) || !r->GetString(&s->key) || !r->Get(&lookback) || !r->Get(&features) ||
      !r->Get(&s->samples) || !r->Get(&firing) || !r->Get(&run)) {
    return false;
  }
  if (lookback == 0 || features == 0 || lookback > kMaxDimension || features > kMaxDimension ||
      firing > 1 || s->samples < 0 || run > kMaxDimension) {
    return false;
  }
  s->lookback = static_cast<int>(lookback);
  s->features = static_cast<int>(features);
  s->firing = firing == 1;
  s->alert_run = static_cast<int>(run);
  if (!r->GetArray(size_t{lookback} * features, &s->values) || !r->GetArray(lookback, &s->times_ns)) return false;
  if (version < 2) return true;
  uint32_t n = 0;
  if (!r->Get(&n) || n > kMaxDetectorState) return false;
  std::vector<char> state;
  if (!r->GetArray(n, &state)) return false;
  s->detector_state.assign(state.begin(), state.end());
  if (version < 3) return true;
  uint8_t has_fired = 0;
  if (!r->Get(&has_fired) || has_fired > 1) return false;
  if (has_fired == 0) return true;
  AlertEvent e;
  uint32_t top = 0;
  if (!r->Get(&e.time_ns) || !r->Get(&e.error) || !r->Get(&e.threshold) || !r->Get(&e.window_start_ns) ||
      !r->Get(&e.window_end_ns) || !r->Get(&top) || top > kMaxTopFeatures) {
    return false;
  }
  for (uint32_t i = 0; i < top; ++i) {
    std::pair<std::string, double> feature;
    if (!r->GetString(&feature.first) || !r->Get(&feature.second)) return false;
    e.top_features.push_back(std::move(feature));
  }
  e.kind = "fired";
  e.model = s->model;
  e.stream = s->key;
  s->fired = std::move(e);
  return true;
}

void EncodeFired(std::string* out, const std::optional<AlertEvent>& fired) {
  Put<uint8_t>(out, fired ? 1 : 0);
  if (!fired) return;
  Put<int64_t>(out, fired->time_ns);
  Put<double>(out, fired->error);
  Put<double>(out, fired->threshold);
  Put<int64_t>(out, fired->window_start_ns);
  Put<int64_t>(out, fired->window_end_ns);
  Put<uint32_t>(out, static_cast<uint32_t>(fired->top_features.size()));
  for (const auto& [name, share] : fired->top_features) {
    PutString(out, name);
    Put<double>(out, share);
  }
}

}  // namespace

std::string EncodeSnapshot(const std::vector<StreamSnapshot>& streams) {
  std::string out(kMagic);
  Put<uint32_t>(&out, kVersion);
  Put<uint32_t>(&out, static_cast<uint32_t>(streams.size()));
  for (const StreamSnapshot& s : streams) {
    PutString(&out, s.model);
    PutString(&out, s.key);
    Put<uint32_t>(&out, static_cast<uint32_t>(s.lookback));
    Put<uint32_t>(&out, static_cast<uint32_t>(s.features));
    Put<int64_t>(&out, s.samples);
    Put<uint8_t>(&out, s.firing ? 1 : 0);
    Put<uint32_t>(&out, static_cast<uint32_t>(s.alert_run));
    out.append(reinterpret_cast<const char*>(s.values.data()), s.values.size() * sizeof(float));
    out.append(reinterpret_cast<const char*>(s.times_ns.data()), s.times_ns.size() * sizeof(int64_t));
    PutString(&out, s.detector_state);
    EncodeFired(&out, s.fired);
  }
  Put<uint32_t>(&out, core::model_file::Crc32c(out));
  return out;
}

core::Result<std::vector<StreamSnapshot>> DecodeSnapshot(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kMagic.size() + 12 || bytes.substr(0, kMagic.size()) != kMagic) {
    return core::Status::Error(source + ": not an lstmad snapshot (no LSTMADSS magic)");
  }
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (core::model_file::Crc32c(body) != stored) {
    return core::Status::Error(source + ": corrupt snapshot (checksum mismatch)");
  }
  Reader r(body.substr(kMagic.size()));
  uint32_t version = 0, count = 0;
  r.Get(&version);
  if (version < 1 || version > kVersion) {
    return core::Status::Error(source + ": snapshot version " + std::to_string(version) +
                               " is not supported (this lstmad reads versions 1 to 3)");
  }
  if (!r.Get(&count)) return core::Status::Error(source + ": truncated snapshot");
  std::vector<StreamSnapshot> streams;
  for (uint32_t i = 0; i < count; ++i) {
    StreamSnapshot s;
    if (!DecodeStream(&r, version, &s)) {
      return core::Status::Error(source + ": malformed stream " + std::to_string(i) + " in the snapshot");
    }
    streams.push_back(std::move(s));
  }
  if (r.remaining() != 0) return core::Status::Error(source + ": trailing bytes after the last stream");
  return streams;
}

std::string SnapshotPath(const std::string& state_dir) { return state_dir + "/streams.snapshot"; }

core::Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return core::Status::Error(tmp + ": cannot create: " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string error = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return core::Status::Error(tmp + ": write failed: " + error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return core::Status::Error(tmp + ": fsync failed: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::Status::Error(path + ": rename failed: " + std::strerror(errno));
  }
  // The rename itself is durable only once the directory is synced.
  const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
