#include "cluster/cluster_leases.h"

#include <algorithm>
#include <vector>

namespace lstmad::daemon {

PartitionLeases::PartitionLeases(KvBucket* bucket, std::string instance_id, std::chrono::duration<double> ttl,
                                 ClusterClock clock)
    : bucket_(bucket), instance_id_(std::move(instance_id)), ttl_(ttl), clock_(std::move(clock)) {}

BackendStatus PartitionLeases::Heartbeat() {
  uint64_t revision = 0;
  return bucket_->Put(HeartbeatKey(), "alive", &revision);
}

BackendStatus PartitionLeases::Withdraw() { return bucket_->Delete(HeartbeatKey()); }

BackendStatus PartitionLeases::CountLive(int* live) {
  std::vector<std::string> keys;
  BackendStatus s = bucket_->Keys("instance.", &keys);
  if (s.ok()) *live = std::max(static_cast<int>(keys.size()), 1);
  return s;
}

bool PartitionLeases::Claim(int partition, HeldLease* lease) {
  const std::string key = Key(partition);
  KvEntry current;
  BackendStatus s = bucket_->Get(key, &current);
  uint64_t revision = 0;
  if (s.not_found()) {
    s = bucket_->Create(key, instance_id_, &revision);
  } else if (s.ok()) {
    // Taken by a live instance, unless it is our own claim whose reply was
    // lost; then it is taken over again under a new revision.
    if (!current.value.empty() && current.value != instance_id_) return false;
    s = bucket_->Update(key, instance_id_, current.revision, &revision);
  }
  if (!s.ok()) return false;  // another instance was faster, or the bucket is away: next round
  lease->revision = revision;
  lease->renewed = clock_();
  return true;
}

PartitionLeases::Renewal PartitionLeases::Renew(int partition, HeldLease* lease) {
  const std::string key = Key(partition);
  uint64_t revision = 0;
  if (bucket_->Update(key, instance_id_, lease->revision, &revision).ok()) {
    lease->revision = revision;
    lease->renewed = clock_();
    return {};
  }
  Renewal r;
  r.write_failed = true;
  KvEntry now;
  const BackendStatus s = bucket_->Get(key, &now);
  if (s.ok()) {
    // Our id there with another revision: our own renewal whose reply was
    // lost. Only the owner writes its id, so the lease is still ours.
    r.kept = now.value == instance_id_;
    if (r.kept) {
      lease->revision = now.revision;
    } else {
      r.why = "now held by " + (now.value.empty() ? std::string("nobody (freed)") : now.value);
    }
  } else if (s.not_found()) {
    r.kept = false;
    r.why = "expired";
  } else {
    r.kept = clock_() - lease->renewed < ttl_;
    if (!r.kept) r.why = "no renewal for lease_ttl (reading the lease: " + s.error + ")";
  }
  return r;
}

BackendStatus PartitionLeases::Free(int partition, const HeldLease& lease) {
  uint64_t revision = 0;
  return bucket_->Update(Key(partition), "", lease.revision, &revision);
}

}  // namespace lstmad::daemon
