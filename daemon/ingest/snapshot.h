// Snapshots of every stream's window and alert state, so a restart resumes
// scoring at the first new sample instead of after T new ones.
//
// File format (little-endian): "LSTMADSS", u32 version (5), u32 stream count,
// then per stream: u32+bytes model name, u32+bytes stream key, u32 lookback,
// u32 features, i64 samples seen, u8 firing, u32 alert run, lookback*features
// f32 raw values (oldest sample first), lookback i64 timestamps (ns),
// (version 2 on) u32+bytes of the anomaly-score detector's state
// (core::StreamDetector::SaveState; empty when none), (version 3 on) u8 and,
// when 1, the event that fired the alert, (version 4 on) u8 whether the alert
// saw a change accepted as the new normal, (version 5 on) u8 whether a
// model fingerprint follows and, when 1, u32 the fingerprint of the model
// whose errors the detector state learned; then a u32 CRC-32C of everything
// before it. Older versions are read too. Written atomically (temporary
// file, fsync, rename, fsync of the directory). Decoding never trusts the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "alerting/alerts.h"

namespace lstmad::daemon {

struct StreamSnapshot {
  std::string model;
  std::string key;
  int lookback = 0;
  int features = 0;
  int64_t samples = 0;       // samples seen; the window is complete when >= lookback
  bool firing = false;
  int alert_run = 0;
  std::vector<float> values;      // [lookback * features], oldest sample first (raw units)
  std::vector<int64_t> times_ns;  // [lookback], oldest first
  std::string detector_state;     // StreamDetector::SaveState(), or empty
  // While firing: the event that fired the alert (version 3 on), so that
  // whoever restores the stream re-announces it to Alertmanager with its
  // original startsAt and annotations.
  std::optional<AlertEvent> fired;
  // The alert saw a window the detector accepted as the new normal
  // (core::AlertState::accepted; version 4 on), so that its resolution says so.
  bool alert_accepted = false;
  // With a detector state: core::ModelFingerprint of the model whose errors
  // the detector judged last (the stream's own model's, under retrain.scope
  // stream; version 5 on). The state is restored only under a model with the
  // same one. Absent: no detector, or an older snapshot (restored as before).
  std::optional<uint32_t> model_fingerprint;
};

std::string EncodeSnapshot(const std::vector<StreamSnapshot>& streams);
core::Result<std::vector<StreamSnapshot>> DecodeSnapshot(std::string_view bytes, const std::string& source);

// The snapshot's file inside the state directory.
std::string SnapshotPath(const std::string& state_dir);

// The snapshot holds the streams' recent samples: readable by the daemon's
// user only (docs/threat-model.md).
inline constexpr uint32_t kSnapshotPermissions = 0600;
// A snapshot larger than this is refused rather than read (the daemon then
// starts with empty windows). 10,000 streams (limits.max_streams' default)
// of 1,000 samples of 100 features are about 4 GB; the limit keeps a wrong
// or hostile file from exhausting memory.
inline constexpr uint64_t kMaxSnapshotBytes = uint64_t{16} << 30;

// Writes the snapshot to `path` atomically (core::WriteFileAtomically: a
// crash leaves the old snapshot or the new one), with kSnapshotPermissions.
core::Status WriteSnapshot(const std::string& path, const std::vector<StreamSnapshot>& streams);
// Creates `state_dir` (0700: it holds the streams' samples) with its parents
// when it is not a directory yet; an existing one is left as it is.
core::Status EnsureStateDirectory(const std::string& state_dir);
// Writes the snapshot to SnapshotPath(`state_dir`), first calling
// EnsureStateDirectory: a state directory removed, or a volume remounted
// empty, heals at the next snapshot instead of failing every one until a
// restart. Refuses, like WriteSnapshot, a snapshot path that is not a
// regular file.
core::Status WriteSnapshotIn(const std::string& state_dir, const std::vector<StreamSnapshot>& streams);
// Reads and decodes the snapshot at `path` (at most kMaxSnapshotBytes).
core::Result<std::vector<StreamSnapshot>> ReadSnapshot(const std::string& path);

}  // namespace lstmad::daemon
