// Snapshot files: round trip, and refusal of damaged or foreign bytes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "ingest/snapshot.h"
#include "ingest/stream_snapshots.h"
#include "ingest/stream_table.h"
#include "lstmad/core/crc32c.h"

namespace lstmad::daemon {
namespace {

std::vector<StreamSnapshot> Sample() {
  StreamTable table(3, 2);
  StreamStates states;
  const uint32_t full = table.Insert("pump,pump=a", StreamTable::Hash("pump,pump=a"));
  const uint32_t partial = table.Insert("pump,pump=b", StreamTable::Hash("pump,pump=b"));
  for (int i = 0; i < 5; ++i) {
    const float v[2] = {float(i), float(10 * i)};
    table.Append(full, v, 1000 + i);
  }
  const float v[2] = {7, 8};
  table.Append(partial, v, 42);
  StreamScoringState* scored = states.GetOrCreate(full, table.key(full));
  scored->alert.Restore(true, 2, /*accepted=*/true);
  AlertEvent fired;
  fired.kind = "fired";
  fired.time_ns = 1700000000123456789;
  fired.model = "pump";
  fired.stream = "pump,pump=a";
  fired.error = 0.75;
  fired.threshold = 0.25;
  fired.window_start_ns = 1002;
  fired.window_end_ns = 1004;
  fired.top_features = {{"flow", 0.625}, {"pressure", 0.375}};
  scored->fired = std::make_shared<const AlertEvent>(fired);
  scored->detector.emplace(core::DetectorOptions{}, 0.5, 3);
  for (int i = 0; i < 20; ++i) scored->detector->Observe(0.1 * i);
  scored->detector_fingerprint = 0xC0FFEEu;  // the model whose errors it judged
  return {SaveStream(table, states, full, "pump"), SaveStream(table, states, partial, "pump")};
}

TEST(SnapshotTest, RoundTripKeepsWindowsTimesAndAlertState) {
  const std::vector<StreamSnapshot> saved = Sample();
  EXPECT_EQ(saved[0].values, (std::vector<float>{2, 20, 3, 30, 4, 40}));  // oldest first
  EXPECT_EQ(saved[0].times_ns, (std::vector<int64_t>{1002, 1003, 1004}));
  EXPECT_FALSE(saved[0].detector_state.empty());
  EXPECT_TRUE(saved[1].detector_state.empty());
  auto loaded = DecodeSnapshot(EncodeSnapshot(saved), "s");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].detector_state, saved[0].detector_state);
  EXPECT_TRUE((*loaded)[1].detector_state.empty());
  // The firing alert's event, for re-announcing it: exactly as it fired.
  ASSERT_TRUE((*loaded)[0].fired.has_value());
  const AlertEvent& fired = *(*loaded)[0].fired;
  EXPECT_EQ(fired.kind, "fired");
  EXPECT_EQ(fired.time_ns, 1700000000123456789);
  EXPECT_EQ(fired.model, "pump");
  EXPECT_EQ(fired.stream, "pump,pump=a");
  EXPECT_EQ(fired.error, 0.75);
  EXPECT_EQ(fired.threshold, 0.25);
  EXPECT_EQ(fired.window_start_ns, 1002);
  EXPECT_EQ(fired.window_end_ns, 1004);
  EXPECT_EQ(fired.top_features, (std::vector<std::pair<std::string, double>>{{"flow", 0.625}, {"pressure", 0.375}}));
  EXPECT_FALSE((*loaded)[1].fired.has_value());
  EXPECT_TRUE((*loaded)[0].alert_accepted);  // its resolution will say the change was accepted
  EXPECT_FALSE((*loaded)[1].alert_accepted);
  EXPECT_EQ((*loaded)[0].model_fingerprint,
            std::optional<uint32_t>(0xC0FFEEu));             // restores its detector under that model only
  EXPECT_FALSE((*loaded)[1].model_fingerprint.has_value());  // no detector
  StreamTable table(3, 2);
  StreamStates states;
  const uint32_t full = table.Insert((*loaded)[0].key, StreamTable::Hash((*loaded)[0].key));
  const uint32_t partial = table.Insert((*loaded)[1].key, StreamTable::Hash((*loaded)[1].key));
  LoadStream((*loaded)[0], full, &table, &states);
  LoadStream((*loaded)[1], partial, &table, &states);
  ASSERT_NE(states.Find(full), nullptr);
  EXPECT_TRUE(states.Find(full)->alert.firing());
  EXPECT_EQ(states.Find(full)->alert.run(), 2);
  EXPECT_TRUE(states.Find(full)->alert.accepted());
  ASSERT_NE(states.Find(full)->fired, nullptr);
  EXPECT_EQ(states.Find(full)->fired->time_ns, 1700000000123456789);
  EXPECT_EQ(states.Find(partial), nullptr);  // no alert state to restore: stays light
  float window[6];
  table.CopyWindow(full, window);
  EXPECT_EQ(std::vector<float>(window, window + 6), (std::vector<float>{2, 20, 3, 30, 4, 40}));
  // The partial stream completes its first window after two more samples.
  const float v[2] = {1, 1};
  EXPECT_FALSE(table.Append(partial, v, 43));
  EXPECT_TRUE(table.Append(partial, v, 44));
  table.CopyWindow(partial, window);
  EXPECT_EQ(window[0], 7);
  EXPECT_EQ(table.window_start_ns(partial), 42);
  EXPECT_EQ(table.window_end_ns(partial), 44);
}

// `saved` as a file of an older `version` writes it: each stream's fields
// up to that version's last, its own checksum.
std::string AsVersion(const std::vector<StreamSnapshot>& saved, uint32_t version) {
  std::string now = EncodeSnapshot(saved);
  now.resize(now.size() - 4);  // the checksum
  std::string old = now.substr(0, 8);
  old.append(reinterpret_cast<const char*>(&version), 4);
  old.append(now, 12, 4);  // the stream count
  size_t at = 16;
  for (const StreamSnapshot& s : saved) {
    const size_t head = 4 + s.model.size() + 4 + s.key.size() + 4 + 4 + 8 + 1 + 4 + s.values.size() * 4 +
                        s.times_ns.size() * 8;
    const size_t detector = 4 + s.detector_state.size();  // version 2 on
    size_t fired = 1;                                     // version 3 on
    if (s.fired) {
      fired += 8 + 8 + 8 + 8 + 8 + 4;
      for (const auto& [name, share] : s.fired->top_features) fired += 4 + name.size() + 8;
    }
    const size_t accepted = 1;                                     // version 4 on
    const size_t fingerprint = 1 + (s.model_fingerprint ? 4 : 0);  // version 5 on
    old.append(
        now, at,
        head + (version >= 2 ? detector : 0) + (version >= 3 ? fired : 0) + (version >= 4 ? accepted : 0));
    at += head + detector + fired + accepted + fingerprint;
  }
  EXPECT_EQ(at, now.size());
  const uint32_t crc = core::Crc32c(old);
  old.append(reinterpret_cast<const char*>(&crc), 4);
  return old;
}

// A version 1 file (before detector state and fired events) still loads.
TEST(SnapshotTest, ReadsVersionOneFiles) {
  const std::vector<StreamSnapshot> saved = Sample();
  const std::string v1 = AsVersion(saved, 1);
  auto loaded = DecodeSnapshot(v1, "old");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].values, saved[0].values);
  EXPECT_EQ((*loaded)[1].key, saved[1].key);
  EXPECT_TRUE((*loaded)[0].detector_state.empty());
  EXPECT_FALSE((*loaded)[0].fired.has_value());
  // Version 2: the detector's state too, no fired event.
  auto v2 = DecodeSnapshot(AsVersion(saved, 2), "old");
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ((*v2)[0].detector_state, saved[0].detector_state);
  EXPECT_FALSE((*v2)[0].fired.has_value());
  EXPECT_TRUE((*v2)[0].firing);
  std::string v6 = v1.substr(0, v1.size() - 4);
  v6[8] = 6;
  const uint32_t crc6 = core::Crc32c(v6);
  v6.append(reinterpret_cast<const char*>(&crc6), 4);
  EXPECT_NE(DecodeSnapshot(v6, "new").status().message().find("version 6 is not supported"),
            std::string::npos);
}

// A version 3 file (before the accepted-change byte) loads as no change
// accepted, the rest as it was.
TEST(SnapshotTest, ReadsVersionThreeFiles) {
  const std::vector<StreamSnapshot> saved = Sample();
  ASSERT_TRUE(saved[0].alert_accepted);
  auto loaded = DecodeSnapshot(AsVersion(saved, 3), "old");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_FALSE((*loaded)[0].alert_accepted);
  EXPECT_TRUE((*loaded)[0].firing);
  ASSERT_TRUE((*loaded)[0].fired.has_value());
  EXPECT_EQ((*loaded)[0].fired->top_features, saved[0].fired->top_features);
  EXPECT_EQ((*loaded)[0].detector_state, saved[0].detector_state);
}

// A version 4 file (before the model's fingerprint) loads without one: its
// detector states are restored as before, whatever the model.
TEST(SnapshotTest, ReadsVersionFourFiles) {
  const std::vector<StreamSnapshot> saved = Sample();
  ASSERT_TRUE(saved[0].model_fingerprint.has_value());
  auto loaded = DecodeSnapshot(AsVersion(saved, 4), "old");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_FALSE((*loaded)[0].model_fingerprint.has_value());
  EXPECT_TRUE((*loaded)[0].alert_accepted);
  EXPECT_EQ((*loaded)[0].detector_state, saved[0].detector_state);
  EXPECT_EQ((*loaded)[1].key, saved[1].key);
}

TEST(SnapshotTest, RefusesDamagedAndForeignBytes) {
  const std::string good = EncodeSnapshot(Sample());
  EXPECT_FALSE(DecodeSnapshot("", "s").ok());
  EXPECT_NE(DecodeSnapshot("NOTASNAPSHOT....", "s").status().message().find("not an lstmad snapshot"),
            std::string::npos);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeSnapshot(good.substr(0, n), "s").ok()) << n;
  }
  for (size_t i = 8; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    const auto r = DecodeSnapshot(bad, "s");
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().message().rfind("s: ", 0), 0u);
  }
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lstmad_snapshot_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SnapshotFileTest, WritesOnlyTheOwnerMayReadAndReadsBack) {
  const std::string path = SnapshotPath(dir_.string());
  { std::ofstream(path) << "the previous snapshot"; }
  ASSERT_TRUE(WriteSnapshot(path, Sample()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"streams.snapshot"});  // no .tmp left
  auto read = ReadSnapshot(path);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(EncodeSnapshot(*read), EncodeSnapshot(Sample()));
}

TEST_F(SnapshotFileTest, RefusesWhatIsNotASnapshotFile) {
  EXPECT_NE(ReadSnapshot(dir_.string()).status().message().find("not a regular file"), std::string::npos);
  const std::string path = (dir_ / "foreign").string();
  { std::ofstream(path) << "not a snapshot at all"; }
  EXPECT_NE(ReadSnapshot(path).status().message().find("not an lstmad snapshot"), std::string::npos);
}

TEST_F(SnapshotFileTest, WriteInCreatesAMissingStateDirectoryOwnerOnly) {
  // The state directory vanished while the daemon ran (issue 18, finding 10).
  const std::filesystem::path state = dir_ / "gone" / "state";
  ASSERT_TRUE(WriteSnapshotIn(state.string(), Sample()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto read = ReadSnapshot(SnapshotPath(state.string()));
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(EncodeSnapshot(*read), EncodeSnapshot(Sample()));
}

TEST_F(SnapshotFileTest, WriteInNamesAStateDirectoryItCannotCreate) {
  const std::string squatter = (dir_ / "state").string();
  { std::ofstream(squatter) << "a file where the directory should be"; }
  const core::Status written = WriteSnapshotIn(squatter, Sample());
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.message(), squatter + ": cannot create the state directory: Not a directory");
}

TEST_F(SnapshotFileTest, NeverReplacesADeviceAtTheSnapshotPath) {
  const std::string path = SnapshotPath(dir_.string());
  std::filesystem::create_symlink("/dev/null", path);
  const core::Status written = WriteSnapshotIn(dir_.string(), Sample());
  EXPECT_TRUE(written.IsInvalid());
  EXPECT_EQ(written.message(), path + ": not a regular file (a character device): refusing to replace it");
  EXPECT_EQ(std::filesystem::read_symlink(path), "/dev/null");
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace lstmad::daemon
