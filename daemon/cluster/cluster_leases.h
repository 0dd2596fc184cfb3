// Partition leases and instance heartbeats of cluster mode (docs/cluster.md)
// in the lease bucket (TTL = nats.lease_ttl):
//
//   instance.<id>   heartbeat: the live instances
//   partition.<n>   the owner's instance id; "" or absent: free. Claimed with
//                   a create / a revision-checked update of a free entry,
//                   renewed with revision-checked updates, so it expires
//                   lease_ttl after its owner's last renewal.
//
// Only the owner ever writes its id under a partition, so reading our own id
// back after a write whose reply was lost means the write happened.
//
// Thread-safety: none of its own; the Cluster's coordinator thread uses it
// (the bucket is thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/cluster_backend.h"

namespace lstmad::daemon {

// One lease this instance holds.
struct HeldLease {
  uint64_t revision = 0;                          // of our last write
  std::chrono::steady_clock::time_point renewed;  // when it last succeeded
};

class PartitionLeases {
 public:
  PartitionLeases(KvBucket* bucket, std::string instance_id, std::chrono::duration<double> ttl, ClusterClock clock);

  static std::string Key(int partition) { return "partition." + std::to_string(partition); }
  std::string HeartbeatKey() const { return "instance." + instance_id_; }

  BackendStatus Heartbeat();
  // Withdraws the heartbeat (on stop).
  BackendStatus Withdraw();
  // Instances with a heartbeat (at least 1: this one).
  BackendStatus CountLive(int* live);

  // Claims the partition when its lease is free (absent or ""), or holds our
  // own id (a claim whose reply was lost; taken again under a new revision).
  // False when another instance holds it or the bucket failed.
  bool Claim(int partition, HeldLease* lease);

  struct Renewal {
    bool kept = true;
    bool write_failed = false;  // the renewal's write failed (kept or not)
    std::string why;            // when not kept: for the log
  };
  // Renews the lease. When the write fails: lost for sure when someone else
  // holds it now or it expired; our own id there under another revision
  // (our write whose reply was lost) keeps it; when the bucket cannot be
  // read, kept until lease_ttl has passed since the last renewal.
  Renewal Renew(int partition, HeldLease* lease);

  // Marks it free, revision-checked: never frees a lease that has meanwhile
  // moved to another instance.
  BackendStatus Free(int partition, const HeldLease& lease);

 private:
  KvBucket* bucket_;
  const std::string instance_id_;
  const std::chrono::duration<double> ttl_;
  const ClusterClock clock_;
};

}  // namespace lstmad::daemon
