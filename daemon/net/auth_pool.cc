#include "net/auth_pool.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lstmad::daemon {

AuthPool::~AuthPool() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  // `dropped` dies here, outside the lock: a job's captures may own a
  // connection whose destructor must not run under it.
}

bool AuthPool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Counted with the running jobs: a job waits only while every thread is
    // busy, whether or not a thread has dequeued it yet.
    if (stopping_ || in_flight_ >= static_cast<size_t>(threads_wanted_) + max_queued_) return false;
    ++in_flight_;
    queue_.push_back(std::move(job));
    while (static_cast<int>(threads_.size()) < threads_wanted_) threads_.emplace_back([this] { Run(); });
  }
  wake_.notify_one();
  return true;
}

size_t AuthPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void AuthPool::Run() {
  pthread_setname_np(pthread_self(), "lstmad-auth");  // for top -H and /proc/PID/task
  // Linux applies a nice value to the calling thread alone. A failure only
  // leaves the thread at the daemon's priority.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
    job = nullptr;  // its captures go before the job counts as done
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
  }
}

}  // namespace lstmad::daemon
