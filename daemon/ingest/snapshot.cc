#include "ingest/snapshot.h"

#include <cstring>
#include <filesystem>

#include "lstmad/core/byte_codec.h"
#include "lstmad/core/crc32c.h"
#include "lstmad/core/files.h"

namespace lstmad::daemon {
namespace {

constexpr std::string_view kMagic = "LSTMADSS";
constexpr uint32_t kVersion = 5;
constexpr uint32_t kMaxDetectorState = 64u << 20;
constexpr uint32_t kMaxDimension = 1 << 20;
constexpr uint32_t kMaxTopFeatures = 1 << 16;

using core::bytes::Get;
using core::bytes::GetString;
using core::bytes::GetValues;
using core::bytes::Put;
using core::bytes::PutString;
using core::bytes::PutValues;

// The event that fired a firing stream's alert (version 3 on).
bool DecodeFired(std::string_view* r, StreamSnapshot* s) {
  uint8_t has_fired = 0;
  if (!Get(r, &has_fired) || has_fired > 1) return false;
  if (has_fired == 0) return true;
  AlertEvent e;
  uint32_t top = 0;
  if (!Get(r, &e.time_ns) || !Get(r, &e.error) || !Get(r, &e.threshold) || !Get(r, &e.window_start_ns) ||
      !Get(r, &e.window_end_ns) || !Get(r, &top) || top > kMaxTopFeatures) {
    return false;
  }
  for (uint32_t i = 0; i < top; ++i) {
    std::pair<std::string, double> feature;
    if (!GetString(r, &feature.first) || !Get(r, &feature.second)) return false;
    e.top_features.push_back(std::move(feature));
  }
  e.kind = "fired";
  e.model = s->model;
  e.stream = s->key;
  s->fired = std::move(e);
  return true;
}

bool DecodeStream(std::string_view* r, uint32_t version, StreamSnapshot* s) {
  uint32_t lookback = 0, features = 0, run = 0;
  uint8_t firing = 0;
  if (!GetString(r, &s->model) || !GetString(r, &s->key) || !Get(r, &lookback) || !Get(r, &features) ||
      !Get(r, &s->samples) || !Get(r, &firing) || !Get(r, &run)) {
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
  if (!GetValues(r, size_t{lookback} * features, &s->values) || !GetValues(r, lookback, &s->times_ns)) return false;
  if (version < 2) return true;
  uint32_t n = 0;
  if (!Get(r, &n) || n > kMaxDetectorState) return false;
  std::vector<char> state;
  if (!GetValues(r, n, &state)) return false;
  s->detector_state.assign(state.begin(), state.end());
  if (version < 3) return true;
  if (!DecodeFired(r, s)) return false;
  if (version < 4) return true;
  uint8_t accepted = 0;
  if (!Get(r, &accepted) || accepted > 1) return false;
  s->alert_accepted = accepted == 1;
  if (version < 5) return true;
  uint8_t has_fingerprint = 0;
  if (!Get(r, &has_fingerprint) || has_fingerprint > 1) return false;
  if (has_fingerprint == 0) return true;
  uint32_t fingerprint = 0;
  if (!Get(r, &fingerprint)) return false;
  s->model_fingerprint = fingerprint;
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
    PutValues(&out, s.values);
    PutValues(&out, s.times_ns);
    PutString(&out, s.detector_state);
    EncodeFired(&out, s.fired);
    Put<uint8_t>(&out, s.alert_accepted ? 1 : 0);
    Put<uint8_t>(&out, s.model_fingerprint ? 1 : 0);
    if (s.model_fingerprint) Put<uint32_t>(&out, *s.model_fingerprint);
  }
  Put<uint32_t>(&out, core::Crc32c(out));
  return out;
}

core::Result<std::vector<StreamSnapshot>> DecodeSnapshot(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kMagic.size() + 12 || bytes.substr(0, kMagic.size()) != kMagic) {
    return core::Status::Error(source + ": not an lstmad snapshot (no LSTMADSS magic)");
  }
  uint32_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
  const std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (core::Crc32c(body) != stored) {
    return core::Status::Error(source + ": corrupt snapshot (checksum mismatch)");
  }
  std::string_view r = body.substr(kMagic.size());
  uint32_t version = 0, count = 0;
  Get(&r, &version);
  if (version < 1 || version > kVersion) {
    return core::Status::Error(source + ": snapshot version " + std::to_string(version) +
                               " is not supported (this lstmad reads versions 1 to 5)");
  }
  if (!Get(&r, &count)) return core::Status::Error(source + ": truncated snapshot");
  std::vector<StreamSnapshot> streams;
  for (uint32_t i = 0; i < count; ++i) {
    StreamSnapshot s;
    if (!DecodeStream(&r, version, &s)) {
      return core::Status::Error(source + ": malformed stream " + std::to_string(i) + " in the snapshot");
    }
    streams.push_back(std::move(s));
  }
  if (!r.empty()) return core::Status::Error(source + ": trailing bytes after the last stream");
  return streams;
}

std::string SnapshotPath(const std::string& state_dir) { return state_dir + "/streams.snapshot"; }

core::Status WriteSnapshot(const std::string& path, const std::vector<StreamSnapshot>& streams) {
  return core::WriteFileAtomically(path, EncodeSnapshot(streams), kSnapshotPermissions);
}

core::Status EnsureStateDirectory(const std::string& state_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(state_dir, ec)) return core::Status::Ok();
  fs::create_directories(state_dir, ec);
  if (ec) return core::Status::Error(state_dir + ": cannot create the state directory: " + ec.message());
  // create_directories used 0777 less the umask.
  fs::permissions(state_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return core::Status::Error(state_dir + ": cannot make the state directory private: " + ec.message());
  }
  return core::Status::Ok();
}

core::Status WriteSnapshotIn(const std::string& state_dir, const std::vector<StreamSnapshot>& streams) {
  LSTMAD_RETURN_IF_ERROR(EnsureStateDirectory(state_dir));
  return WriteSnapshot(SnapshotPath(state_dir), streams);
}

core::Result<std::vector<StreamSnapshot>> ReadSnapshot(const std::string& path) {
  core::Result<std::string> bytes = core::ReadFileBounded(path, kMaxSnapshotBytes);
  if (!bytes.ok()) return bytes.status();
  return DecodeSnapshot(*bytes, path);
}

}  // namespace lstmad::daemon
