// AlertDispatcher: every transition is logged and appended to the events
// file; a failing events file is counted and logged, and the others go on.
// The log lines are rate-limited (the events file still gets every one), and
// a resolution without a window says why.
#include "alerting/alert_dispatcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace lstmad::daemon {
namespace {

// Records the lines logged while it lives (obs/logging.h's writer), each
// prefixed by its level ("warn ", "error ", "info ").
class LeveledLogCapture final : public LogWriter {
 public:
  LeveledLogCapture() { SetLogWriter(this); }
  ~LeveledLogCapture() override { SetLogWriter(nullptr); }
  void Write(LogLevel level, std::string_view line) override {
    std::lock_guard lock(mutex_);
    text_ += (level == LogLevel::kWarn ? "warn " : level == LogLevel::kError ? "error " : "info ");
    text_.append(line).append("\n");
  }
  void Flush() override {}
  std::string Text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

AlertEvent Fired() {
  AlertEvent event;
  event.kind = "fired";
  event.time_ns = 1700000000000000000;
  event.model = "pump";
  event.stream = "pump,pump=p0001";
  event.error = 0.75;
  event.threshold = 0.25;
  event.window_start_ns = 1000;
  event.window_end_ns = 2000;
  event.top_features = {{"flow", 0.625}, {"pressure", 0.375}};
  return event;
}

// The exposition's text of a series' value, or "absent".
std::string Value(const Metrics& metrics, const std::string& series) {
  const std::string text = "\n" + metrics.Scrape();
  const std::string key = "\n" + series + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return "absent";
  const size_t value = at + key.size();
  return text.substr(value, text.find('\n', value) - value);
}

TEST(AlertDispatcherTest, LogsAndAppendsEachTransition) {
  std::string dir = ::testing::TempDir() + "alert_dispatcher_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr) << std::strerror(errno);
  const std::string path = dir + "/events.jsonl";
  auto events = EventLog::Open(path);
  ASSERT_TRUE(events.ok()) << events.status().message();
  Metrics metrics("test");
  AlertDispatcher dispatcher(&metrics);
  dispatcher.SetEventLog(std::shared_ptr<EventLog>(std::move(events).value()));
  LeveledLogCapture log;
  AlertEvent fired = Fired();
  dispatcher.OnAlert(fired);
  AlertEvent resolved = fired;
  resolved.kind = "resolved";
  dispatcher.OnAlert(resolved);

  std::ifstream in(path);
  std::stringstream lines;
  lines << in.rdbuf();
  EXPECT_EQ(lines.str(), AlertEventJson(fired) + "\n" + AlertEventJson(resolved) + "\n");
  const std::string text = log.Text();
  EXPECT_NE(text.find("warn alert fired model=pump stream=\"pump,pump=p0001\" error=0.75 threshold=0.25 "
                      "window_start=1970-01-01T00:00:00.000001000Z window_end=1970-01-01T00:00:00.000002000Z top_features=flow:0.62,pressure:0.38\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("info alert resolved model=pump"), std::string::npos) << text;
  EXPECT_EQ(Value(metrics, "lstmad_event_write_failures_total"), "0");
  std::filesystem::remove_all(dir);
}

TEST(AlertDispatcherTest, AFailingEventsFileIsCountedAndLoggedAndTheAlertStillLogged) {
  // /dev/full takes the open and fails every write (ENOSPC): a full disk.
  auto events = EventLog::Open("/dev/full");
  ASSERT_TRUE(events.ok()) << events.status().message();
  Metrics metrics("test");
  AlertDispatcher dispatcher(&metrics);
  dispatcher.SetEventLog(std::shared_ptr<EventLog>(std::move(events).value()));
  LeveledLogCapture log;
  dispatcher.OnAlert(Fired());
  dispatcher.OnAlert(Fired());
  EXPECT_EQ(Value(metrics, "lstmad_event_write_failures_total"), "2");
  const std::string text = log.Text();
  EXPECT_NE(text.find("warn alert fired model=pump"), std::string::npos) << text;
  EXPECT_NE(text.find("error writing the events file failed"), std::string::npos) << text;
}

TEST(AlertDispatcherTest, WithoutAnEventsFileOnlyLogs) {
  Metrics metrics("test");
  AlertDispatcher dispatcher(&metrics);
  LeveledLogCapture log;
  dispatcher.OnAlert(Fired());
  EXPECT_NE(log.Text().find("alert fired"), std::string::npos);
  EXPECT_EQ(Value(metrics, "lstmad_event_write_failures_total"), "0");
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The sum of every " suppressed=N" the log lines carry.
size_t SumOfSuppressed(const std::string& text) {
  const std::string key = " suppressed=";
  size_t sum = 0;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    sum += std::stoul(text.substr(at + key.size()));
  }
  return sum;
}

TEST(AlertDispatcherTest, AlertLogLinesAreRateLimitedButEveryEventIsWritten) {
  std::string dir = ::testing::TempDir() + "alert_dispatcher_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr) << std::strerror(errno);
  const std::string path = dir + "/events.jsonl";
  auto events = EventLog::Open(path);
  ASSERT_TRUE(events.ok()) << events.status().message();
  Metrics metrics("test");
  AlertDispatcher dispatcher(&metrics);
  dispatcher.SetEventLog(std::shared_ptr<EventLog>(std::move(events).value()));
  LeveledLogCapture log;
  constexpr int kFlood = 500;
  const auto flood_start = std::chrono::steady_clock::now();
  for (int i = 0; i < kFlood; ++i) dispatcher.OnAlert(Fired());
  const auto flood_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - flood_start)
          .count();
  // The limiter's window is a whole second: a flood that straddles n seconds'
  // boundaries (a loaded CI machine) gets n + 1 windows' worth.
  const size_t logged = Count(log.Text(), "alert fired");
  EXPECT_GE(logged, static_cast<size_t>(AlertDispatcher::kLogLinesPerSecond));
  EXPECT_LE(logged, static_cast<size_t>((flood_seconds + 2) * AlertDispatcher::kLogLinesPerSecond));
  std::ifstream in(path);
  std::string line;
  int written = 0;
  while (std::getline(in, line)) written += line == AlertEventJson(Fired()) ? 1 : 0;
  EXPECT_EQ(written, kFlood);
  // The next line allowed counts the ones left out (a second later: a new
  // window). Between them, the lines that say how many were left out account
  // for every one, however many windows the flood straddled.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  dispatcher.OnAlert(Fired());
  const std::string text = log.Text();
  EXPECT_EQ(SumOfSuppressed(text), kFlood - logged) << text;
  // The line after the flood is one that says so.
  EXPECT_NE(text.substr(text.rfind("warn alert fired")).find(" suppressed="), std::string::npos) << text;
  EXPECT_EQ(Count(text, "alert fired"), logged + 1);
  std::filesystem::remove_all(dir);
}

TEST(AlertDispatcherTest, AResolutionWithoutAWindowLogsItsReason) {
  Metrics metrics("test");
  AlertDispatcher dispatcher(&metrics);
  LeveledLogCapture log;
  AlertEvent event = Fired();
  event.kind = "resolved";
  event.reason = "stream_expired";
  dispatcher.OnAlert(event);
  EXPECT_NE(log.Text().find("info alert resolved model=pump stream=\"pump,pump=p0001\""), std::string::npos);
  EXPECT_NE(log.Text().find(" reason=stream_expired\n"), std::string::npos) << log.Text();
}

}  // namespace
}  // namespace lstmad::daemon
