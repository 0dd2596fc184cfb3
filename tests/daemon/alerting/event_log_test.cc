#include "alerting/event_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace lstmad::daemon {
namespace {

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "event_log_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<EventLog> OpenOk(const std::string& path) {
    auto log = EventLog::Open(path);
    EXPECT_TRUE(log.ok()) << log.status().message();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  static std::vector<std::string> Lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    EXPECT_TRUE(all.empty() || all.back() == '\n') << "last line not terminated";
    std::vector<std::string> lines;
    std::string line;
    std::istringstream split(all);
    while (std::getline(split, line)) lines.push_back(line);
    return lines;
  }

  static AlertEvent Event(const std::string& stream, const std::string& kind = "fired") {
    AlertEvent e;
    e.kind = kind;
    e.time_ns = 1714564800000000000;
    e.model = "cpu";
    e.stream = stream;
    e.error = 0.5;
    e.threshold = 0.25;
    e.top_features = {{"usage", 1.0}};
    return e;
  }

  std::string dir_;
};

TEST_F(EventLogTest, AppendsOneWholeLinePerEvent) {
  const std::string path = dir_ + "/events.jsonl";
  auto log = OpenOk(path);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->path(), path);
  const AlertEvent fired = Event("cpu,host=a\nb");  // the newline is escaped, not written
  const AlertEvent resolved = Event("cpu,host=a\nb", "resolved");
  ASSERT_TRUE(log->Append(fired).ok());
  ASSERT_TRUE(log->Append(resolved).ok());
  EXPECT_EQ(Lines(path),
            (std::vector<std::string>{AlertEventJson(fired), AlertEventJson(resolved)}));
}

TEST_F(EventLogTest, SecondOpenAppendsInsteadOfTruncating) {
  const std::string path = dir_ + "/events.jsonl";
  ASSERT_TRUE(OpenOk(path)->Append(Event("first")).ok());
  ASSERT_TRUE(OpenOk(path)->Append(Event("second")).ok());
  // Two logs open on one file at once both append at the end.
  auto a = OpenOk(path);
  auto b = OpenOk(path);
  ASSERT_TRUE(a->Append(Event("third")).ok());
  ASSERT_TRUE(b->Append(Event("fourth")).ok());
  const std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], AlertEventJson(Event("first")));
  EXPECT_EQ(lines[1], AlertEventJson(Event("second")));
  EXPECT_EQ(lines[2], AlertEventJson(Event("third")));
  EXPECT_EQ(lines[3], AlertEventJson(Event("fourth")));
}

TEST_F(EventLogTest, CreatesTheFileWithMode0640) {
  const mode_t old_mask = ::umask(022);
  const std::string path = dir_ + "/events.jsonl";
  auto log = OpenOk(path);
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << std::strerror(errno);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(EventLogTest, DirectoryPathIsAnErrorNamingThePath) {
  auto log = EventLog::Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find(dir_), std::string::npos) << log.status().message();
  EXPECT_NE(log.status().message().find(std::strerror(EISDIR)), std::string::npos)
      << log.status().message();
}

TEST_F(EventLogTest, MissingParentDirectoryIsAnErrorNamingThePath) {
  const std::string path = dir_ + "/no/such/dir/events.jsonl";
  auto log = EventLog::Open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find(path), std::string::npos) << log.status().message();
  EXPECT_NE(log.status().message().find(std::strerror(ENOENT)), std::string::npos)
      << log.status().message();
}

TEST_F(EventLogTest, UncreatableProcFileIsAnError) {
  // No file can be created in /proc, even by root.
  const std::string path = "/proc/self/lstmad-events.jsonl";
  auto log = EventLog::Open(path);
  if (log.ok()) GTEST_SKIP() << path << " could be created here";
  EXPECT_NE(log.status().message().find(path), std::string::npos) << log.status().message();
}

TEST_F(EventLogTest, FailedWriteIsReturnedNotThrown) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no writable /dev/full";
  auto log = OpenOk("/dev/full");
  ASSERT_NE(log, nullptr);
  const core::Status status = log->Append(Event("s"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("/dev/full"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(std::strerror(ENOSPC)), std::string::npos) << status.message();
}

TEST_F(EventLogTest, DisabledLogIgnoresEvents) {
  EventLog disabled;
  EXPECT_TRUE(disabled.Append(Event("s")).ok());
  EXPECT_EQ(disabled.path(), "");
}

TEST_F(EventLogTest, ConcurrentAppendsKeepLinesWhole) {
  const std::string path = dir_ + "/events.jsonl";
  auto log = OpenOk(path);
  ASSERT_NE(log, nullptr);
  constexpr size_t kThreads = 4;
  constexpr int kEach = 250;
  // Long streams, so a torn line would show.
  std::vector<std::string> streams;
  for (size_t t = 0; t < kThreads; ++t)
    streams.push_back(std::string(2000, static_cast<char>('a' + t)));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) EXPECT_TRUE(log->Append(Event(streams[t])).ok());
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int> seen(kThreads);
  for (const std::string& line : Lines(path)) {
    size_t which = kThreads;  // none of the streams
    for (size_t t = 0; t < kThreads; ++t) {
      if (line == AlertEventJson(Event(streams[t]))) which = t;
    }
    ASSERT_NE(which, kThreads) << "torn line: " << line.substr(0, 80);
    ++seen[which];
  }
  EXPECT_EQ(seen, std::vector<int>(kThreads, kEach));
}

}  // namespace
}  // namespace lstmad::daemon
