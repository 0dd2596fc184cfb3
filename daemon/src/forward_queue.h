// ForwardQueue: the bounded FIFO between the io thread, which accepts lines
// over TCP, and the ClusterForwarder's publishing thread. TryPush never
// waits: a full queue refuses the item and the caller counts it, so a slow or
// unreachable NATS never stalls the io thread (and with it /metrics and the
// watchdog). Pop waits; TryPop does not. Close lets Pop drain what is left,
// then return false.
// `on_size` (optional) sees every new length, under the queue's lock, so a
// gauge fed by it ends at the true length. Thread-safe: any number of
// pushers and poppers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace lstmad::daemon {

// One line to publish: the subject (which decides the partition), the line
// itself, and the Nats-Msg-Id that makes a retried publish a duplicate the
// server drops.
struct ForwardItem {
  std::string subject;
  std::string payload;
  std::string msg_id;
};

class ForwardQueue {
 public:
  explicit ForwardQueue(size_t capacity, std::function<void(size_t)> on_size = {})
      : capacity_(capacity), on_size_(std::move(on_size)) {}

  // False (item untouched) when full or closed.
  bool TryPush(ForwardItem& item) {
    std::lock_guard lock(mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(item));
    if (on_size_) on_size_(items_.size());
    cv_.notify_one();
    return true;
  }

  // The oldest item; waits for one. False once closed and empty.
  bool Pop(ForwardItem* out) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    *out = std::move(items_.front());
    items_.pop_front();
    if (on_size_) on_size_(items_.size());
    return true;
  }

  // The oldest item if there is one; never waits.
  bool TryPop(ForwardItem* out) {
    std::lock_guard lock(mu_);
    if (items_.empty()) return false;
    *out = std::move(items_.front());
    items_.pop_front();
    if (on_size_) on_size_(items_.size());
    return true;
  }

  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  const std::function<void(size_t)> on_size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ForwardItem> items_;
  bool closed_ = false;
};

}  // namespace lstmad::daemon
