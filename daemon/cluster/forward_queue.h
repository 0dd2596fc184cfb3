// ForwardQueue: the bounded FIFO between the io thread, which accepts lines
// over TCP, and the ClusterForwarder's publishing thread. TryPush never
// waits: a full queue refuses the item (and, given `on_room`, calls it once
// when an item has left), so a slow or unreachable NATS never stalls the io
// thread (and with it /metrics and the watchdog). PushUntil waits, bounded
// (shutdown). Pop waits; PopUntil waits until a deadline; TryPop does not. Close lets Pop drain what is left,
// then return false.
// `on_size` (optional) sees every new length, under the queue's lock, so a
// gauge fed by it ends at the true length. Thread-safe: any number of
// pushers and poppers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace lstmad::daemon {

// One line to publish (or, once batched, one message): the subject, the
// line itself (or the batch), the Nats-Msg-Id that makes a retried publish
// a duplicate the server drops, the partition its stream maps to, and how
// many samples it carries.
struct ForwardItem {
  std::string subject;
  std::string payload;
  std::string msg_id;
  int partition = 0;
  uint32_t samples = 1;
};

class ForwardQueue {
 public:
  explicit ForwardQueue(size_t capacity, std::function<void(size_t)> on_size = {})
      : capacity_(capacity), on_size_(std::move(on_size)) {}

  // False (item untouched) when full or closed. When full, `on_room` (if
  // set) is kept and called once, from the popping thread, after an item
  // has left (or at Close).
  bool TryPush(ForwardItem& item, const std::function<void()>& on_room = {}) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (items_.size() >= capacity_) {
      if (on_room) room_waiters_.push_back(on_room);
      return false;
    }
    Append(item);
    return true;
  }

  // Waits for room until `deadline`; false (item untouched) if there was
  // none by then or the queue is closed.
  bool PushUntil(ForwardItem& item, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!room_.wait_until(lock, deadline, [this] { return closed_ || items_.size() < capacity_; }) || closed_) {
      return false;
    }
    Append(item);
    return true;
  }

  // The oldest item; waits for one. False once closed and empty.
  bool Pop(ForwardItem* out) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    TakeFront(out, std::move(lock));
    return true;
  }

  // The oldest item, waiting for one until `deadline`. False when none came
  // by then or the queue is closed and empty.
  bool PopUntil(ForwardItem* out, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return closed_ || !items_.empty(); }) || items_.empty()) {
      return false;
    }
    TakeFront(out, std::move(lock));
    return true;
  }

  // The oldest item if there is one; never waits.
  bool TryPop(ForwardItem* out) {
    std::unique_lock lock(mu_);
    if (items_.empty()) return false;
    TakeFront(out, std::move(lock));
    return true;
  }

  void Close() {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      waiters.swap(room_waiters_);
      cv_.notify_all();
      room_.notify_all();
    }
    for (auto& on_room : waiters) on_room();
  }

  bool closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  void Append(ForwardItem& item) {  // under mu_, with room
    items_.push_back(std::move(item));
    if (on_size_) on_size_(items_.size());
    cv_.notify_one();
  }
  // Under `lock`: takes the oldest item, then (unlocked) tells the waiters.
  void TakeFront(ForwardItem* out, std::unique_lock<std::mutex> lock) {
    *out = std::move(items_.front());
    items_.pop_front();
    if (on_size_) on_size_(items_.size());
    room_.notify_one();
    std::vector<std::function<void()>> waiters;
    waiters.swap(room_waiters_);
    lock.unlock();
    for (auto& on_room : waiters) on_room();
  }

  const size_t capacity_;
  const std::function<void(size_t)> on_size_;
  mutable std::mutex mu_;
  std::condition_variable cv_;    // an item arrived, or closed
  std::condition_variable room_;  // an item left, or closed
  std::deque<ForwardItem> items_;
  std::vector<std::function<void()>> room_waiters_;  // TryPush callers refused for lack of room
  bool closed_ = false;
};

}  // namespace lstmad::daemon
