// Test support: LogWriter fakes (obs/logging.h) for tests that read back what
// the daemon logged, or that keep its logging quiet. Thread-safe (workers log
// from their own threads).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "obs/logging.h"

namespace lstmad::daemon::testing {

// Records every log line while it lives, installing itself as the process-wide
// writer; the default writer is restored after. One capture at a time.
class LogCapture final : public LogWriter {
 public:
  LogCapture() { SetLogWriter(this); }
  ~LogCapture() override { SetLogWriter(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  void Write(LogLevel /*level*/, std::string_view line) override {
    std::lock_guard lock(mutex_);
    text_.append(line).append("\n");
  }
  void Flush() override {}

  // Every line logged so far, each ended by "\n".
  std::string Text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }

  // Whether `needle` is logged within `timeout`.
  bool WaitFor(std::string_view needle, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Text().find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
};

// Records every line it is given; the test installs it (SetLogWriter).
class CapturingLog final : public LogWriter {
 public:
  void Write(LogLevel, std::string_view line) override {
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
  }
  void Flush() override {}

  // Every line logged so far, each ended by "\n".
  std::string All() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

  // How many lines hold `needle`.
  int Count(std::string_view needle) const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& l : lines_) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// Drops every line; the test installs it (SetLogWriter).
class SilentLog final : public LogWriter {
 public:
  void Write(LogLevel, std::string_view) override {}
  void Flush() override {}
};

}  // namespace lstmad::daemon::testing
