// What cluster mode's protocol (docs/cluster.md) needs from the messaging
// system, as interfaces of our own: a key-value bucket with revisions and
// compare-and-set (leases, checkpoints), and one partition's durable stream
// consumer with sequence numbers and acknowledgements. The NATS JetStream
// implementation is in cluster_nats_backend.cc (the only protocol file that
// sees <nats/nats.h>); tests use in-memory fakes.
//
// Thread-safety: a ClusterBackend and its buckets are shared by the
// coordinator and every partition worker, so implementations are
// thread-safe. A PartitionConsumer belongs to one partition worker's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lstmad::daemon {

// The outcome of a backend call. kFailed covers both a refused
// compare-and-set and a call whose reply never came (the write may have
// happened): callers cannot tell them apart in general, so the protocol
// reads the key back where it matters.
struct BackendStatus {
  enum class Code { kOk, kNotFound, kTimeout, kFailed };
  Code code = Code::kOk;
  std::string error;  // what the backend said (empty when kOk)

  static BackendStatus Ok() { return {}; }
  static BackendStatus NotFound(std::string error) { return {Code::kNotFound, std::move(error)}; }
  static BackendStatus Timeout(std::string error) { return {Code::kTimeout, std::move(error)}; }
  static BackendStatus Failed(std::string error) { return {Code::kFailed, std::move(error)}; }
  bool ok() const { return code == Code::kOk; }
  bool not_found() const { return code == Code::kNotFound; }
  bool timed_out() const { return code == Code::kTimeout; }
};

struct KvEntry {
  std::string value;
  uint64_t revision = 0;
};

// One bucket. Revisions grow with every write to the bucket. Prefixes end
// in '.' (key segments, as in "instance." or "snap.3.").
class KvBucket {
 public:
  virtual ~KvBucket() = default;
  virtual const std::string& name() const = 0;  // for messages
  // The key's latest value and revision, as the bucket's authority has it
  // (never a lagging replica's: lease and fencing decisions need the truth).
  // kNotFound when absent, deleted, purged or expired.
  virtual BackendStatus Get(const std::string& key, KvEntry* entry) = 0;
  virtual BackendStatus Put(const std::string& key, std::string_view value, uint64_t* revision) = 0;
  // Writes only when the key is absent (or deleted).
  virtual BackendStatus Create(const std::string& key, std::string_view value, uint64_t* revision) = 0;
  // Writes only when the key's latest revision is `expected`.
  virtual BackendStatus Update(const std::string& key, std::string_view value, uint64_t expected,
                               uint64_t* revision) = 0;
  // Leaves a delete marker: the key reads as absent.
  virtual BackendStatus Delete(const std::string& key) = 0;
  // The keys under `prefix` whose latest entry is a value.
  virtual BackendStatus Keys(const std::string& prefix, std::vector<std::string>* keys) = 0;
  // The keys under `prefix` with anything stored (values or delete
  // markers), listed cheaply from the bucket's state.
  virtual BackendStatus StoredKeys(const std::string& prefix, std::vector<std::string>* keys) = 0;
  // Removes every entry of every key under `prefix`, leaving no marker (so
  // that keys never reused do not pile up as markers).
  virtual BackendStatus PurgePrefix(const std::string& prefix) = 0;
};

// One fetched delivery. `data` stays valid while the message lives.
struct ConsumedMessage {
  bool sequenced = false;          // false: where it belongs could not be read
  uint64_t stream_sequence = 0;    // the message's place in the stream
  uint64_t consumer_sequence = 0;  // deliveries (redeliveries too) count 1, 2, 3...
  std::string_view data;
  std::shared_ptr<const void> handle;  // the backend's delivery: what Ack needs
};

// The durable consumer of one partition's subjects: acknowledgement is
// cumulative (acknowledging a message covers every earlier one), and what
// is not acknowledged within the ack wait is delivered again.
class PartitionConsumer {
 public:
  struct State {
    // The stream sequence it has looked at last. Not always one it
    // delivered: a consumer filtered to one partition that finds no more of
    // its messages moves on to the stream's last sequence (nats-server
    // 2.9), so this is a bound, never a count.
    uint64_t delivered = 0;
    // Its consumer sequence: how many deliveries it made (redeliveries too)
    // since it was created, numbered as ConsumedMessage::consumer_sequence.
    uint64_t deliveries = 0;
    uint64_t ack_floor = 0;  // every stream sequence up to here is acknowledged
  };
  virtual ~PartitionConsumer() = default;
  // kNotFound when the consumer does not exist.
  virtual BackendStatus GetState(State* state) = 0;
  // Removes the consumer (and this handle's subscription); ok when absent.
  virtual BackendStatus Remove() = 0;
  // Creates the consumer to deliver from stream sequence start_after + 1
  // (from the start when 0) and subscribes to it.
  virtual BackendStatus Create(uint64_t start_after) = 0;
  // Up to `max` messages, waiting at most `wait`; kTimeout when none came.
  virtual BackendStatus Fetch(int max, std::chrono::milliseconds wait, std::vector<ConsumedMessage>* messages) = 0;
  // Acknowledges `message` and everything delivered before it.
  virtual BackendStatus Ack(const ConsumedMessage& message) = 0;
  // Drops the subscription; the durable consumer stays for the next owner.
  virtual void Unsubscribe() = 0;
};

class ClusterBackend {
 public:
  virtual ~ClusterBackend() = default;
  virtual KvBucket* leases() = 0;  // TTL = lease_ttl
  virtual KvBucket* state() = 0;   // checkpoints, no TTL
  virtual std::unique_ptr<PartitionConsumer> Consumer(int partition) = 0;
  virtual bool connected() const = 0;
  // The most bytes one message may carry.
  virtual int64_t max_payload() const = 0;
};

// The time that lease expiries are measured in; a fake in tests.
using ClusterClock = std::function<std::chrono::steady_clock::time_point()>;

}  // namespace lstmad::daemon
