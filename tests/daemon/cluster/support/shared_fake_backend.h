// A ClusterBackend over the in-memory fakes (fake_cluster_backend.h) for
// tests that run the real partition worker and coordinator threads: every
// call on the buckets and the partitions' consumers is serialised by one
// mutex (the fakes themselves are single-threaded), and the order of what
// matters to the protocol is recorded as a trace: each checkpoint head the
// state bucket stored (with the sequence it covers and its owner) and each
// acknowledgement a consumer received.
//
// Each partition has one fake stream with one durable consumer; every
// handle Consumer(p) returns reaches the same one, as every instance's
// handle reaches the same JetStream consumer.
//
// Thread-safety: all of it (one mutex); With() runs test code under it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_backend.h"
#include "cluster/cluster_checkpoint.h"
#include "daemon/cluster/support/fake_cluster_backend.h"

namespace lstmad::daemon::testing {

// One protocol step, in the order the backend saw it.
struct TraceEvent {
  enum class Kind { kCheckpoint, kAck };
  Kind kind;
  int partition;
  uint64_t sequence;  // kCheckpoint: the last applied sequence it covers; kAck: the acked message's
  std::string owner;  // kCheckpoint only
};

class SharedFakeBackend final : public ClusterBackend {
 public:
  SharedFakeBackend(int partitions, std::chrono::milliseconds lease_ttl)
      : leases_("leases", &clock_, lease_ttl),
        state_("state", &clock_),
        lease_view_(this, &leases_),
        state_view_(this, &state_),
        consumers_(static_cast<size_t>(partitions)),
        fail_acks_(static_cast<size_t>(partitions), 0) {}

  KvBucket* leases() override { return &lease_view_; }
  KvBucket* state() override { return &state_view_; }
  std::unique_ptr<PartitionConsumer> Consumer(int partition) override {
    return std::make_unique<ConsumerView>(this, partition);
  }
  bool connected() const override { return true; }
  int64_t max_payload() const override { return int64_t{1} << 20; }

  // Runs `f(leases, state)` with the lock held.
  template <typename F>
  auto With(F&& f) {
    std::lock_guard lock(mu_);
    return f(leases_, state_);
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    clock_.Advance(d);
  }
  ClusterClock Clock() {
    return [this] {
      std::lock_guard lock(mu_);
      return clock_.now();
    };
  }
  // Appends messages to the partition's stream, all at once (a fetch sees
  // all of them or none).
  void Publish(int partition, const std::map<uint64_t, std::string>& messages) {
    std::lock_guard lock(mu_);
    for (const auto& [seq, data] : messages) consumers_[Index(partition)].Publish(seq, data);
  }
  // From now on each stored checkpoint head moves the clock on by `d`: a
  // checkpoint as slow as a large one on a loaded machine.
  void SlowCheckpoints(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    checkpoint_duration_ = d;
  }
  // The partition's next `times` acks fail without reaching the server.
  void FailAcks(int partition, int times) {
    std::lock_guard lock(mu_);
    fail_acks_[Index(partition)] = times;
  }
  // Runs `f(consumer)` on the partition's fake consumer with the lock held.
  template <typename F>
  auto WithConsumer(int partition, F&& f) {
    std::lock_guard lock(mu_);
    return f(consumers_[Index(partition)]);
  }
  std::vector<TraceEvent> Trace() {
    std::lock_guard lock(mu_);
    return trace_;
  }

 private:
  static size_t Index(int partition) { return static_cast<size_t>(partition); }

  class BucketView final : public KvBucket {
   public:
    BucketView(SharedFakeBackend* backend, FakeKvBucket* bucket) : backend_(backend), bucket_(bucket) {}
    const std::string& name() const override { return bucket_->name(); }
    BackendStatus Get(const std::string& key, KvEntry* entry) override {
      std::lock_guard lock(backend_->mu_);
      return bucket_->Get(key, entry);
    }
    BackendStatus Put(const std::string& key, std::string_view value, uint64_t* revision) override {
      std::lock_guard lock(backend_->mu_);
      return Recorded(key, value, bucket_->Put(key, value, revision));
    }
    BackendStatus Create(const std::string& key, std::string_view value, uint64_t* revision) override {
      std::lock_guard lock(backend_->mu_);
      return Recorded(key, value, bucket_->Create(key, value, revision));
    }
    BackendStatus Update(const std::string& key, std::string_view value, uint64_t expected,
                         uint64_t* revision) override {
      std::lock_guard lock(backend_->mu_);
      return Recorded(key, value, bucket_->Update(key, value, expected, revision));
    }
    BackendStatus Delete(const std::string& key) override {
      std::lock_guard lock(backend_->mu_);
      return bucket_->Delete(key);
    }
    BackendStatus Keys(const std::string& prefix, std::vector<std::string>* keys) override {
      std::lock_guard lock(backend_->mu_);
      return bucket_->Keys(prefix, keys);
    }
    BackendStatus StoredKeys(const std::string& prefix, std::vector<std::string>* keys) override {
      std::lock_guard lock(backend_->mu_);
      return bucket_->StoredKeys(prefix, keys);
    }
    BackendStatus PurgePrefix(const std::string& prefix) override {
      std::lock_guard lock(backend_->mu_);
      return bucket_->PurgePrefix(prefix);
    }

   private:
    // A stored head "snap.<n>" (not a chunk key) goes into the trace.
    BackendStatus Recorded(const std::string& key, std::string_view value, BackendStatus s) {
      if (!s.ok() || bucket_ != &backend_->state_ || !key.starts_with("snap.")) return s;
      if (key.find('.', 5) != std::string::npos) return s;
      backend_->clock_.Advance(backend_->checkpoint_duration_);
      auto head = DecodeCheckpointHead(value, key);
      if (head.ok()) {
        backend_->trace_.push_back(
            {TraceEvent::Kind::kCheckpoint, std::stoi(key.substr(5)), head->sequence, head->owner});
      }
      return s;
    }
    SharedFakeBackend* backend_;
    FakeKvBucket* bucket_;
  };

  class ConsumerView final : public PartitionConsumer {
   public:
    ConsumerView(SharedFakeBackend* backend, int partition) : backend_(backend), partition_(partition) {}
    BackendStatus GetState(State* state) override {
      std::lock_guard lock(backend_->mu_);
      return fake().GetState(state);
    }
    BackendStatus Remove() override {
      std::lock_guard lock(backend_->mu_);
      return fake().Remove();
    }
    BackendStatus Create(uint64_t start_after) override {
      std::lock_guard lock(backend_->mu_);
      return fake().Create(start_after);
    }
    BackendStatus Fetch(int max, std::chrono::milliseconds wait, std::vector<ConsumedMessage>* messages) override {
      BackendStatus s;
      {
        std::lock_guard lock(backend_->mu_);
        s = fake().Fetch(max, wait, messages);
      }
      // The real fetch waits for messages; a short pause keeps an idle
      // worker from spinning on the test machine's cores.
      if (s.timed_out()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return s;
    }
    BackendStatus Ack(const ConsumedMessage& message) override {
      std::lock_guard lock(backend_->mu_);
      int& failing = backend_->fail_acks_[Index(partition_)];
      if (failing > 0) {
        --failing;
        return BackendStatus::Timeout("fake: ack: timeout");
      }
      backend_->trace_.push_back({TraceEvent::Kind::kAck, partition_, message.stream_sequence, ""});
      return fake().Ack(message);
    }
    void Unsubscribe() override {
      std::lock_guard lock(backend_->mu_);
      fake().Unsubscribe();
    }

   private:
    FakePartitionConsumer& fake() { return backend_->consumers_[Index(partition_)]; }
    SharedFakeBackend* backend_;
    const int partition_;
  };

  std::mutex mu_;
  FakeClock clock_;
  FakeKvBucket leases_, state_;
  BucketView lease_view_, state_view_;
  std::vector<FakePartitionConsumer> consumers_;
  std::vector<int> fail_acks_;
  std::vector<TraceEvent> trace_;
  std::chrono::milliseconds checkpoint_duration_{0};
};

}  // namespace lstmad::daemon::testing
