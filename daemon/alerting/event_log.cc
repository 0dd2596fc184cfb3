#include "alerting/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>

namespace lstmad::daemon {
namespace {

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return core::Status::Error("events file " + path +
                               ": cannot open for appending: " + ErrnoText(errno));
  }
  auto log = std::make_unique<EventLog>();
  log->fd_ = fd;
  log->path_ = path;
  return log;
}

core::Status EventLog::Append(const AlertEvent& event) {
  if (fd_ < 0) return core::Status::Ok();
  const std::string line = AlertEventJson(event) + "\n";
  // One write(2) normally carries the whole line, and O_APPEND places it at the
  // end atomically. A short write (disk filling up, a signal) is finished by
  // further writes; the lock keeps another thread's line from landing between
  // them.
  static std::mutex partial_write_mutex;
  std::lock_guard<std::mutex> lock(partial_write_mutex);
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      return core::Status::Error("events file " + path_ + ": write failed after " +
                                 std::to_string(written) + " of " + std::to_string(line.size()) +
                                 " bytes: " + ErrnoText(error));
    }
    written += static_cast<size_t>(n);
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
