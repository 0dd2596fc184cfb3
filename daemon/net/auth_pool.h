// AuthPool: the threads that check passwords for the metrics port's basic
// auth. A bcrypt check costs ~0.25 s by design; run on the io thread it would
// stall ingestion and the health probes, so the io thread hands checks here
// and gets the verdict back as a handler. The queue is bounded: when
// `max_queued` checks already wait, TrySubmit refuses and the caller answers
// at once (503) instead of letting guessers queue work without bound. The
// threads run at a lower CPU priority than the rest of the daemon, so checks
// yield to scoring. Thread-safe; the destructor drops the checks still
// queued (destroying their jobs) and waits for the running ones.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lstmad::daemon {

class AuthPool {
 public:
  AuthPool(int threads, size_t max_queued) : threads_wanted_(threads), max_queued_(max_queued) {}
  ~AuthPool();
  AuthPool(const AuthPool&) = delete;
  AuthPool& operator=(const AuthPool&) = delete;

  // Queues `job` to run on a pool thread; false (and `job` destroyed) when
  // `threads` jobs run and `max_queued` wait already. Threads start on first use, so
  // a daemon without basic auth runs none.
  bool TrySubmit(std::function<void()> job);
  size_t queued() const;

 private:
  void Run();

  const int threads_wanted_;
  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  size_t in_flight_ = 0;  // queued or running
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace lstmad::daemon
