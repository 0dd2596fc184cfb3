// Tests of core/files.h: the bounded read and the atomic write, on a real
// temporary directory.
#include "lstmad/core/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lstmad::core {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lstmad_files_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static void Put(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  static std::string Get(const std::string& path) {
    Result<std::string> bytes = ReadFileBounded(path, 1 << 20);
    EXPECT_TRUE(bytes.ok()) << bytes.status().message();
    return bytes.ok() ? *bytes : std::string();
  }

  fs::path dir_;
};

TEST_F(FilesTest, WriteThenReadRoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 3 * 65536 + 7; ++i) bytes.push_back(static_cast<char>(i * 31));
  const std::string path = Path("data.bin");
  const Status written = WriteFileAtomically(path, bytes);
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(Get(path), bytes);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST_F(FilesTest, WriteReplacesAnExistingFileAndAStaleTmp) {
  const std::string path = Path("out.txt");
  Put(path, "old contents");
  Put(path + ".tmp", "left by a crashed run");
  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());
  EXPECT_EQ(Get(path), "new");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(Get(path), "");
}

TEST_F(FilesTest, AFailedWriteNamesTheTmpPathAndTouchesNothing) {
  // A path under a regular file: open fails (ENOTDIR) even for root.
  const std::string blocker = Path("plain");
  Put(blocker, "x");
  const std::string path = blocker + "/out.txt";
  const Status written = WriteFileAtomically(path, "bytes");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.message(), path + ".tmp: cannot create: Not a directory");
  EXPECT_EQ(Get(blocker), "x");
  // Nothing was created beside the blocking file.
  std::vector<std::string> entries;
  for (const auto& entry : fs::directory_iterator(dir_)) entries.push_back(entry.path().filename());
  EXPECT_EQ(entries, std::vector<std::string>{"plain"});
}

TEST_F(FilesTest, ATmpPathThatCannotBeCreatedLeavesTheOldFileIntact) {
  // A directory squats on the tmp path: it can be neither unlinked nor opened.
  const std::string path = Path("model.lsm");
  Put(path, "old model");
  fs::create_directories(path + ".tmp/inside");
  const Status written = WriteFileAtomically(path, "new model");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.message().rfind(path + ".tmp: cannot create: ", 0), 0u) << written.message();
  EXPECT_EQ(Get(path), "old model");
}

TEST_F(FilesTest, WriteRefusesToReplaceADeviceOrADirectory) {
  const Status device = WriteFileAtomically("/dev/null", "bytes");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.message(),
            "/dev/null: not a regular file (a character device): refusing to replace it");
  EXPECT_FALSE(fs::exists("/dev/null.tmp"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));

  const std::string sub = Path("sub");
  fs::create_directories(sub);
  const Status directory = WriteFileAtomically(sub, "bytes");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.message(), sub + ": not a regular file (a directory): refusing to replace it");
  EXPECT_TRUE(fs::is_directory(sub));
  EXPECT_FALSE(fs::exists(sub + ".tmp"));
}

TEST_F(FilesTest, WriteRefusalIsInvalidInputSoCommandsExitWithTwo) {
  const Status device = WriteFileAtomically("/dev/null", "bytes");
  EXPECT_TRUE(device.IsInvalid());
}

TEST_F(FilesTest, CheckReplaceableAcceptsOnlyAbsentOrRegularPaths) {
  EXPECT_TRUE(CheckReplaceable(Path("absent")).ok());
  const std::string regular = Path("regular");
  Put(regular, "x");
  EXPECT_TRUE(CheckReplaceable(regular).ok());
  // A symlink is judged by its target: whoever names it means the device.
  const std::string link = Path("null-link");
  fs::create_symlink("/dev/null", link);
  const Status via_link = CheckReplaceable(link);
  EXPECT_TRUE(via_link.IsInvalid());
  EXPECT_EQ(via_link.message(), link + ": not a regular file (a character device): refusing to replace it");
  const std::string fifo = Path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Status written = WriteFileAtomically(fifo, "bytes");
  EXPECT_TRUE(written.IsInvalid());
  EXPECT_EQ(written.message(), fifo + ": not a regular file (a FIFO): refusing to replace it");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_FALSE(fs::exists(fifo + ".tmp"));
}

TEST_F(FilesTest, ReadPrefixGivesTheFirstBytesAndTheFileSize) {
  const std::string path = Path("prefix");
  Put(path, "0123456789");
  Result<FilePrefix> head = ReadFilePrefix(path, 4);
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(head->bytes, "0123");
  EXPECT_EQ(head->file_size, 10u);
  head = ReadFilePrefix(path, 64);  // a file shorter than asked
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->bytes, "0123456789");
  Result<FilePrefix> zero = ReadFilePrefix("/dev/zero", 4);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "/dev/zero: not a regular file (a character device)");
}

TEST_F(FilesTest, ReadNamesAMissingFile) {
  const std::string path = Path("absent");
  Result<std::string> bytes = ReadFileBounded(path, 100);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().message(), path + ": cannot open: No such file or directory");
}

TEST_F(FilesTest, ReadRefusesDirectoriesAndDevices) {
  Result<std::string> directory = ReadFileBounded(dir_.string(), 100);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().message(), dir_.string() + ": not a regular file (a directory)");
  Result<std::string> zero = ReadFileBounded("/dev/zero", 100);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "/dev/zero: not a regular file (a character device)");
}

TEST_F(FilesTest, ReadRefusesAFileOverTheLimitBeforeReadingIt) {
  // Sparse: 8 GiB claimed, nothing written, so only the size check can catch it.
  const std::string path = Path("sparse");
  Put(path, "");
  fs::resize_file(path, uint64_t{8} << 30);
  Result<std::string> bytes = ReadFileBounded(path, uint64_t{1} << 20);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().message(), path + ": larger than the 1048576-byte limit");
}

TEST_F(FilesTest, ReadAcceptsAFileExactlyAtTheLimit) {
  const std::string path = Path("ten");
  Put(path, "0123456789");
  Result<std::string> exact = ReadFileBounded(path, 10);
  ASSERT_TRUE(exact.ok()) << exact.status().message();
  EXPECT_EQ(*exact, "0123456789");
  Result<std::string> over = ReadFileBounded(path, 9);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), path + ": larger than the 9-byte limit");
}

TEST_F(FilesTest, ReadStopsAtTheLimitWhenTheSizeIsNotKnownAhead) {
  // /proc files are regular but report size 0: only the check while reading
  // can refuse them.
  ASSERT_EQ(fs::file_size("/proc/self/status"), 0u);
  Result<std::string> bytes = ReadFileBounded("/proc/self/status", 16);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().message(), "/proc/self/status: larger than the 16-byte limit");
  Result<std::string> whole = ReadFileBounded("/proc/self/status", 1 << 20);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->rfind("Name:", 0), 0u);
}

}  // namespace
}  // namespace lstmad::core
