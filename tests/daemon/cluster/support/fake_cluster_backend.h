// In-memory fakes of cluster mode's backend (daemon/cluster/cluster_backend.h)
// for the protocol's unit tests: a KV bucket with bucket-wide revisions,
// compare-and-set, delete markers, prefix purges and a TTL driven by a fake
// clock, with injectable faults (a call that never reached the server, or a
// write that happened but whose reply was lost); and a partition's stream
// with one durable consumer (sequences, cumulative acks, redelivery).
//
// Not thread-safe: the tests drive the protocol from one thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster_backend.h"

namespace lstmad::daemon::testing {

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() const { return now_; }
  void Advance(std::chrono::milliseconds d) { now_ += d; }
  ClusterClock AsClusterClock() {
    return [this] { return now_; };
  }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

class FakeKvBucket final : public KvBucket {
 public:
  enum class Fault {
    kUnreachable,  // nothing happens; the caller gets a timeout
    kLostReply,    // the call takes effect; the caller gets a timeout
  };
  // ttl 0: entries never expire. Otherwise an entry (value or marker) is
  // gone ttl after it was written, as with a stream's max age.
  FakeKvBucket(std::string name, const FakeClock* clock, std::chrono::milliseconds ttl = {})
      : name_(std::move(name)), clock_(clock), ttl_(ttl) {}

  // The next `times` calls of `op` ("get", "put", "create", "update",
  // "delete", "keys", "stored_keys", "purge") on a key starting with
  // `key_prefix` fail with `fault`.
  void Inject(std::string op, std::string key_prefix, Fault fault, int times = 1) {
    faults_.push_back({std::move(op), std::move(key_prefix), fault, times});
  }
  // Writes done (each put, create, update and delete), failed or not.
  int writes() const { return writes_; }
  uint64_t last_revision() const { return last_revision_; }
  // Keys with a value (not expired), for assertions.
  std::vector<std::string> ValueKeys(const std::string& prefix = "") {
    std::vector<std::string> out;
    Keys(prefix, &out);
    return out;
  }

  const std::string& name() const override { return name_; }

  BackendStatus Get(const std::string& key, KvEntry* entry) override {
    if (auto f = TakeFault("get", key)) return *f == Fault::kUnreachable ? Unreachable("get") : Lost("get");
    const Record* r = Find(key);
    if (r == nullptr || !r->value) return BackendStatus::NotFound("fake: " + key + " not found");
    entry->value = *r->value;
    entry->revision = r->revision;
    return BackendStatus::Ok();
  }
  BackendStatus Put(const std::string& key, std::string_view value, uint64_t* revision) override {
    return Write("put", key, [&] { return Store(key, std::string(value), revision); });
  }
  BackendStatus Create(const std::string& key, std::string_view value, uint64_t* revision) override {
    return Write("create", key, [&] {
      const Record* r = Find(key);
      if (r != nullptr && r->value) return BackendStatus::Failed("fake: " + key + " exists");
      return Store(key, std::string(value), revision);
    });
  }
  BackendStatus Update(const std::string& key, std::string_view value, uint64_t expected,
                       uint64_t* revision) override {
    return Write("update", key, [&] {
      const Record* r = Find(key);
      const uint64_t have = r == nullptr ? 0 : r->revision;
      if (have != expected) {
        return BackendStatus::Failed("fake: " + key + " is at revision " + std::to_string(have) + ", not " +
                                     std::to_string(expected));
      }
      return Store(key, std::string(value), revision);
    });
  }
  BackendStatus Delete(const std::string& key) override {
    return Write("delete", key, [&] {
      uint64_t revision = 0;
      return Store(key, std::nullopt, &revision);
    });
  }
  BackendStatus Keys(const std::string& prefix, std::vector<std::string>* keys) override {
    return List("keys", prefix, keys, false);
  }
  BackendStatus StoredKeys(const std::string& prefix, std::vector<std::string>* keys) override {
    return List("stored_keys", prefix, keys, true);
  }
  BackendStatus PurgePrefix(const std::string& prefix) override {
    return Write("purge", prefix, [&] {
      Expire();
      std::erase_if(records_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
      return BackendStatus::Ok();
    });
  }

 private:
  struct Record {
    std::optional<std::string> value;  // nullopt: a delete marker
    uint64_t revision = 0;
    std::chrono::steady_clock::time_point written;
  };
  struct Rule {
    std::string op, key_prefix;
    Fault fault;
    int times;
  };

  static BackendStatus Unreachable(const std::string& op) { return BackendStatus::Timeout("fake: " + op + ": timeout"); }
  static BackendStatus Lost(const std::string& op) {
    return BackendStatus::Timeout("fake: " + op + ": timeout (reply lost)");
  }

  std::optional<Fault> TakeFault(const std::string& op, const std::string& key) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (it->op != op || !key.starts_with(it->key_prefix)) continue;
      const Fault f = it->fault;
      if (--it->times == 0) faults_.erase(it);
      return f;
    }
    return std::nullopt;
  }
  template <typename F>
  BackendStatus Write(const std::string& op, const std::string& key, F&& apply) {
    if (op != "purge") ++writes_;
    const auto f = TakeFault(op, key);
    if (f == Fault::kUnreachable) return Unreachable(op);
    BackendStatus s = apply();
    return f == Fault::kLostReply ? Lost(op) : s;
  }
  BackendStatus List(const std::string& op, const std::string& prefix, std::vector<std::string>* keys,
                     bool with_markers) {
    keys->clear();
    if (auto f = TakeFault(op, prefix)) return *f == Fault::kUnreachable ? Unreachable(op) : Lost(op);
    Expire();
    for (const auto& [key, r] : records_) {
      if (key.starts_with(prefix) && (with_markers || r.value)) keys->push_back(key);
    }
    return BackendStatus::Ok();
  }
  BackendStatus Store(const std::string& key, std::optional<std::string> value, uint64_t* revision) {
    Expire();
    *revision = ++last_revision_;
    records_[key] = Record{std::move(value), *revision, clock_->now()};
    return BackendStatus::Ok();
  }
  const Record* Find(const std::string& key) {
    Expire();
    auto it = records_.find(key);
    return it == records_.end() ? nullptr : &it->second;
  }
  void Expire() {
    if (ttl_.count() == 0) return;
    std::erase_if(records_, [&](const auto& kv) { return clock_->now() - kv.second.written >= ttl_; });
  }

  const std::string name_;
  const FakeClock* clock_;
  const std::chrono::milliseconds ttl_;
  std::map<std::string, Record> records_;
  std::deque<Rule> faults_;
  uint64_t last_revision_ = 0;
  int writes_ = 0;
};

// One partition's messages (stream sequence -> payload) and its durable
// consumer. Deliveries count 1, 2, 3... per consumer; an ack covers every
// earlier delivery; Redeliver() sends again what is not acknowledged (as
// the server does after ack_wait).
class FakePartitionConsumer final : public PartitionConsumer {
 public:
  void Publish(uint64_t stream_sequence, std::string data) { messages_[stream_sequence] = std::move(data); }
  bool exists() const { return exists_; }
  uint64_t ack_floor() const { return ack_floor_; }
  // The next delivery is never received (lost in flight): a gap in the
  // consumer sequence.
  void LoseNextDelivery() { lose_next_ = true; }
  void Redeliver() { delivered_ = ack_floor_; }
  // Other partitions' messages in the same stream, up to stream sequence
  // `last`: as nats-server does, a fetch that finds no more of this
  // partition's messages moves the delivered stream sequence on to it.
  void OthersPublishedUpTo(uint64_t last) { stream_last_ = last; }
  // A consumer a previous owner left behind.
  void SetExisting(uint64_t delivered, uint64_t ack_floor) {
    exists_ = true;
    delivered_ = delivered;
    ack_floor_ = ack_floor;
  }

  BackendStatus GetState(State* state) override {
    if (!exists_) return BackendStatus::NotFound("fake: no consumer");
    state->delivered = delivered_;
    state->deliveries = consumer_sequence_;
    state->ack_floor = ack_floor_;
    return BackendStatus::Ok();
  }
  BackendStatus Remove() override {
    exists_ = subscribed_ = false;
    return BackendStatus::Ok();
  }
  BackendStatus Create(uint64_t start_after) override {
    exists_ = subscribed_ = true;
    delivered_ = ack_floor_ = start_after;
    consumer_sequence_ = 0;
    return BackendStatus::Ok();
  }
  BackendStatus Fetch(int max, std::chrono::milliseconds, std::vector<ConsumedMessage>* out) override {
    out->clear();
    if (!subscribed_) return BackendStatus::Failed("fake: not subscribed");
    for (auto it = messages_.upper_bound(delivered_); it != messages_.end() && static_cast<int>(out->size()) < max;
         ++it) {
      delivered_ = it->first;
      ++consumer_sequence_;
      if (std::exchange(lose_next_, false)) continue;
      auto payload = std::make_shared<const std::string>(it->second);
      ConsumedMessage m;
      m.sequenced = true;
      m.stream_sequence = it->first;
      m.consumer_sequence = consumer_sequence_;
      m.data = *payload;
      m.handle = payload;
      out->push_back(std::move(m));
    }
    if (messages_.upper_bound(delivered_) == messages_.end()) delivered_ = std::max(delivered_, stream_last_);
    return out->empty() ? BackendStatus::Timeout("fake: no messages") : BackendStatus::Ok();
  }
  BackendStatus Ack(const ConsumedMessage& message) override {
    ack_floor_ = std::max(ack_floor_, message.stream_sequence);
    return BackendStatus::Ok();
  }
  void Unsubscribe() override { subscribed_ = false; }

 private:
  std::map<uint64_t, std::string> messages_;
  bool exists_ = false, subscribed_ = false, lose_next_ = false;
  uint64_t delivered_ = 0, ack_floor_ = 0, consumer_sequence_ = 0, stream_last_ = 0;
};

}  // namespace lstmad::daemon::testing
