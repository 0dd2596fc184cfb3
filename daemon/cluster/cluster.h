// Cluster mode (docs/cluster.md): this instance's share of the partitions of
// a NATS JetStream stream, coordinated through leases in a JetStream
// key-value bucket (PartitionLeases, cluster_leases.h): a heartbeat and
// renewals every lease_ttl/3, so a dead owner's leases expire lease_ttl
// after it dies.
//
// Each round the coordinator aims at ceil(P / live instances) partitions:
// it claims free ones up to that and hands extras over (checkpoint, then
// release), so a joining instance gets its share and a dead one's partitions
// move within about lease_ttl. Each owned partition runs a PartitionWorker.
//
// Create/Start/Stop/Reload from the io thread; the coordinator has its own
// thread.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_backend.h"
#include "cluster/cluster_leases.h"
#include "cluster/cluster_metrics.h"
#include "cluster/cluster_partition.h"

namespace lstmad::daemon {

class NatsLink;

class Cluster {
 public:
  // Connects to NATS and creates the stream and buckets when missing,
  // retrying what a later attempt can get past (no server answering,
  // JetStream not ready) with backoff for up to nats.startup_timeout
  // (cluster_startup.h): then kUnavailable. Other failures (credentials,
  // TLS, a conflicting stream or bucket) are returned at once. A stop
  // request (SIGTERM during start-up) ends the wait with kUnavailable.
  static core::Result<std::unique_ptr<Cluster>> Create(const config::Settings& settings,
                                                       std::shared_ptr<const ModelSet> models, Scorer* scorer,
                                                       Metrics* metrics, AlertmanagerClient* alertmanager,
                                                       std::stop_token stop = {});
  ~Cluster();

  void Start();
  // Hands every owned partition over (final checkpoint, lease released) and
  // withdraws the heartbeat. Blocks until done.
  void Stop();
  void Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models);
  const std::string& instance_id() const { return instance_id_; }
  // The connection, for the TCP listener's forwarder (thread-safe).
  NatsLink* link() const { return link_; }

 private:
  struct Lease {
    HeldLease held;
    std::unique_ptr<PartitionWorker> worker;
  };
  // Tests build it over a fake backend and clock and run rounds one by one.
  friend class ClusterTestPeer;
  Cluster() = default;
  // The cluster over a connected backend; `clock` times the leases.
  static std::unique_ptr<Cluster> Assemble(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                                           Scorer* scorer, Metrics* metrics, AlertmanagerClient* alertmanager,
                                           std::string instance_id, std::unique_ptr<ClusterBackend> backend,
                                           ClusterClock clock);
  void Run();
  void Round(bool claim);
  int LiveInstances();
  void Renew();
  void Reap();
  void Claim(int target);
  void Release(int partition, bool graceful);
  // Hands the partitions over one after another. Each waits for its worker's
  // final checkpoint, which under load or with many streams can outlast a
  // round; the leases still held are renewed between them once a round's
  // period has passed, or they would lapse and another instance would take
  // them over from an older checkpoint while their workers still score.
  void ReleaseGracefully(const std::vector<int>& partitions);
  std::chrono::steady_clock::duration RoundPeriod() const;
  bool Heartbeat();
  void FixStreamGauges();

  std::string instance_id_;
  std::unique_ptr<ClusterBackend> backend_;
  NatsLink* link_ = nullptr;  // backend_'s connection
  std::unique_ptr<PartitionLeases> leases_;
  ClusterClock clock_;
  std::chrono::steady_clock::time_point renewed_at_{};  // the last Renew()
  std::unique_ptr<ClusterMetrics> metrics_;
  ClusterShared shared_;
  // owned_ changes only on the coordinator thread (under leases_mu_), which
  // also reads it without the lock; other threads (Reload) read under it.
  std::mutex leases_mu_;
  std::map<int, Lease> owned_;
  int live_ = 1;
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  bool stopped_ = false;
};

}  // namespace lstmad::daemon
