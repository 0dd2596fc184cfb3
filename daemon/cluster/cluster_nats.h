// The NATS side of cluster mode: owning handles for the C client's objects
// (natsConnection, jsCtx, kvStore, natsSubscription, natsMsg, kvEntry), the
// connection with its reconnect policy, and the JetStream objects lstmad
// creates when they are missing (the partition stream, the lease and state
// key-value buckets). See docs/cluster.md for the layout.
//
// A NatsLink is created once by the Cluster and shared by its threads: the
// C client's connection, JetStream context and KV handles are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

struct NatsDeleter {
  void operator()(natsConnection* p) const { natsConnection_Destroy(p); }
  void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
  void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
  void operator()(kvStore* p) const { kvStore_Destroy(p); }
  void operator()(kvEntry* p) const { kvEntry_Destroy(p); }
  void operator()(natsSubscription* p) const { natsSubscription_Destroy(p); }
  void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
  void operator()(jsConsumerInfo* p) const { jsConsumerInfo_Destroy(p); }
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
};
template <typename T>
using NatsPtr = std::unique_ptr<T, NatsDeleter>;

// "nats: <what>: <status text> (<last error>)".
std::string NatsError(const std::string& what, natsStatus s, jsErrCode js = static_cast<jsErrCode>(0));

// Whether a failure at start-up is one a later attempt can get past: no
// server answering yet, JetStream still electing leaders or short of peers
// (`detail`: the client's last error text, for calls that drop the
// JetStream error code). Those are kUnavailable: start-up retries them for
// up to nats.startup_timeout, then `lstmad serve` exits 69, which systemd
// restarts. The rest (credentials or TLS refused, a conflicting stream)
// are kError: exit 2 at once.
bool TransientStartError(natsStatus s, jsErrCode js, std::string_view detail);

// Subject and name layout derived from the settings (docs/cluster.md).
// With nats.streams N = 1 the partitions share one stream named
// nats.stream with the subjects PREFIX.p.>; with N > 1 partition n is in
// stream STREAM_<n mod N>, whose subjects are its partitions' PREFIX.p.<n>.>.
struct ClusterNames {
  explicit ClusterNames(const config::NatsSettings& s);
  std::string stream;            // nats.stream: names the buckets (and the one stream when N = 1)
  int streams = 1;               // N
  int partitions = 1;            // P
  std::string leases_bucket;     // STREAM_leases (TTL = lease_ttl)
  std::string state_bucket;      // STREAM_state (checkpoints, no TTL)
  std::string subject_prefix, consumer_prefix;
  std::string StreamName(int index) const;                    // STREAM (N = 1) or STREAM_<index>
  std::string StreamOf(int partition) const { return StreamName(partition % streams); }
  std::vector<std::string> StreamSubjects(int index) const;   // PREFIX.p.> (N = 1), else its partitions'
  std::string PartitionSubjects(int partition) const;         // PREFIX.p.<n>.>
  std::string Consumer(int partition) const;                  // CONSUMERPREFIX_p<n>
};

class NatsLink {
 public:
  // Connects (to any of the servers; reconnecting forever afterwards) and
  // makes sure the streams and both buckets exist. Start-up only.
  static core::Result<std::unique_ptr<NatsLink>> Connect(const config::NatsSettings& settings,
                                                        const std::string& instance_id);
  ~NatsLink();

  natsConnection* connection() const { return conn_.get(); }
  jsCtx* js() const { return js_.get(); }
  // The context a bucket's calls wait under (the lease bucket's is shorter).
  jsCtx* js_for(const std::string& bucket) const {
    return bucket == names_.leases_bucket ? lease_js_.get() : js_.get();
  }
  kvStore* leases() const { return leases_.get(); }
  kvStore* state() const { return state_.get(); }
  const ClusterNames& names() const { return names_; }
  bool connected() const { return natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED; }
  // A KV key's latest value and revision, read through the bucket stream's
  // leader: kvStore_Get may be answered by a lagging replica (the buckets
  // allow direct gets), and lease and fencing decisions need the truth.
  // NATS_NOT_FOUND when the key is absent, deleted or purged.
  natsStatus ReadKey(const std::string& bucket, const std::string& key, std::string* value,
                     uint64_t* revision) const;
  // The server's max_payload: a checkpoint must fit in one message.
  int64_t max_payload() const { return natsConnection_GetMaxPayload(conn_.get()); }

 private:
  NatsLink(const config::NatsSettings& settings) : names_(settings) {}
  core::Status EnsureStream(const config::NatsSettings& settings, int index, bool* created);
  // After creating streams (nats.streams > 1): asks leaders that lead more
  // than their share to step down, so the leaders land on different servers.
  void SpreadLeaders(const config::NatsSettings& settings);
  core::Status EnsureBucket(jsCtx* js, const std::string& bucket, int replicas, int64_t ttl_ns,
                            NatsPtr<kvStore>* out);

  ClusterNames names_;
  NatsPtr<natsConnection> conn_;
  NatsPtr<jsCtx> js_;
  // The lease bucket's calls wait at most a fraction of lease_ttl (js_ waits
  // 5 s): while JetStream elects a leader after a node loss, a coordinator
  // round of renewals must not outlast the leases it renews.
  NatsPtr<jsCtx> lease_js_;
  NatsPtr<kvStore> leases_;
  NatsPtr<kvStore> state_;
};

}  // namespace lstmad::daemon
