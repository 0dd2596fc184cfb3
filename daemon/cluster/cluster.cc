#include "cluster/cluster.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "cluster/cluster_nats_backend.h"
#include "cluster/cluster_startup.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

// hostname-pid with anything outside [A-Za-z0-9_-] as '-': it is part of a
// KV key.
std::string DefaultInstanceId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "lstmad");
  std::string id = std::string(host) + "-" + std::to_string(getpid());
  for (char& c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  return id;
}

// What start-up waits for, as the log and the final error name it.
std::string StartupWhat(const config::NatsSettings& nats) {
  std::string servers;
  for (const std::string& url : nats.servers) servers += (servers.empty() ? "" : ",") + url;
  return "NATS at " + servers + " (connection, stream " + nats.stream + ", buckets " + nats.stream +
         "_leases and " + nats.stream + "_state)";
}

}  // namespace

core::Result<std::unique_ptr<Cluster>> Cluster::Create(const config::Settings& settings,
                                                       std::shared_ptr<const ModelSet> models, Scorer* scorer,
                                                       Metrics* metrics, AlertmanagerClient* alertmanager,
                                                       std::stop_token stop) {
  const config::NatsSettings& nats = *settings.nats;
  std::string instance_id = nats.instance_id.empty() ? DefaultInstanceId() : nats.instance_id;
  NatsLink* link = nullptr;
  std::unique_ptr<ClusterBackend> backend;
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  StartupRetry retry;
  retry.what = StartupWhat(nats);
  retry.timeout = std::chrono::duration<double>(nats.startup_timeout_s);
  retry.now = [] { return std::chrono::steady_clock::now(); };
  retry.jitter = [&] { return uniform(random); };
  retry.sleep = InterruptibleSleep(stop);
  // Each attempt starts from a fresh connection: what a failed one left
  // behind (a half-made JetStream context) goes with it.
  LSTMAD_RETURN_IF_ERROR(RetryAtStart(retry, stop, [&]() -> core::Status {
    auto connected = ConnectNatsBackend(nats, instance_id, &link);
    if (!connected.ok()) return connected.status();
    backend = std::move(connected).value();
    return core::Status::Ok();
  }));
  std::unique_ptr<Cluster> c =
      Assemble(settings, std::move(models), scorer, metrics, alertmanager, std::move(instance_id),
               std::move(backend), [] { return std::chrono::steady_clock::now(); });
  c->link_ = link;
  return c;
}

std::unique_ptr<Cluster> Cluster::Assemble(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                                           Scorer* scorer, Metrics* metrics, AlertmanagerClient* alertmanager,
                                           std::string instance_id, std::unique_ptr<ClusterBackend> backend,
                                           ClusterClock clock) {
  std::unique_ptr<Cluster> c(new Cluster());
  const config::NatsSettings& nats = *settings.nats;
  c->instance_id_ = std::move(instance_id);
  c->backend_ = std::move(backend);
  c->clock_ = clock;
  c->leases_ = std::make_unique<PartitionLeases>(c->backend_->leases(), c->instance_id_,
                                                 std::chrono::duration<double>(nats.lease_ttl_s), std::move(clock));
  c->metrics_ = std::make_unique<ClusterMetrics>(metrics);
  c->shared_.nats = nats;
  c->shared_.instance_id = c->instance_id_;
  c->shared_.backend = c->backend_.get();
  c->shared_.scorer = scorer;
  c->shared_.metrics = metrics;
  c->shared_.alertmanager = alertmanager;
  c->shared_.cluster_metrics = c->metrics_.get();
  c->shared_.settings = settings;
  c->shared_.models = std::move(models);
  return c;
}

Cluster::~Cluster() { Stop(); }

void Cluster::Start() {
  Log(LogLevel::kInfo, "cluster mode",
      {Field("instance", instance_id_), Field("stream", shared_.nats.stream),
       Field("partitions", shared_.nats.partitions), Field("lease_ttl_s", shared_.nats.lease_ttl_s)});
  thread_ = std::thread([this] { Run(); });
}

std::chrono::steady_clock::duration Cluster::RoundPeriod() const {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(shared_.nats.lease_ttl_s / 3));
}

void Cluster::Run() {
  const auto period = RoundPeriod();
  // The first round only announces this instance, so that instances started
  // together see each other before claiming and do not all grab everything.
  bool claim = false;
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    lock.unlock();
    Round(claim);
    claim = true;
    lock.lock();
    stop_cv_.wait_for(lock, period, [this] { return stop_; });
  }
}

void Cluster::Round(bool claim) {
  metrics_->nats_connected->Set(backend_->connected() ? 1 : 0);
  if (!Heartbeat()) return;
  live_ = LiveInstances();
  metrics_->live_instances->Set(live_);
  const int target = (shared_.nats.partitions + live_ - 1) / live_;
  Reap();
  Renew();
  std::vector<int> extras;
  {
    std::lock_guard lock(leases_mu_);
    for (auto it = owned_.rbegin(); it != owned_.rend() && static_cast<int>(owned_.size() - extras.size()) > target;
         ++it) {
      extras.push_back(it->first);
    }
  }
  ReleaseGracefully(extras);
  if (claim) Claim(target);
  std::lock_guard lock(leases_mu_);
  metrics_->owned_partitions->Set(static_cast<double>(owned_.size()));
}

bool Cluster::Heartbeat() {
  const BackendStatus s = leases_->Heartbeat();
  if (s.ok()) return true;
  metrics_->nats_errors->Increment();
  Log(LogLevel::kWarn, "cluster heartbeat failed", {Field("error", s.error)});
  return false;
}

int Cluster::LiveInstances() {
  int live = live_;
  if (!leases_->CountLive(&live).ok()) metrics_->nats_errors->Increment();
  return live;
}

void Cluster::Reap() {
  std::vector<std::pair<int, bool>> ended;
  for (auto& [p, lease] : owned_) {
    if (!lease.worker->running()) ended.emplace_back(p, lease.worker->fenced());
  }
  for (auto [p, fenced] : ended) {
    if (fenced) {
      std::lock_guard lock(leases_mu_);
      owned_.erase(p);  // the partition has a new owner: its lease is not ours to touch
      metrics_->leases_lost->Increment();
    } else {
      Release(p, false);
    }
  }
}

void Cluster::Renew() {
  renewed_at_ = clock_();
  std::vector<std::pair<int, std::string>> lost;  // partition, why
  // Only this (the coordinator) thread changes owned_, so it reads it and
  // calls NATS without the lock; Reload on the io thread never waits on NATS.
  for (auto& [p, lease] : owned_) {
    const PartitionLeases::Renewal r = leases_->Renew(p, &lease.held);
    if (r.write_failed) metrics_->nats_errors->Increment();
    if (!r.kept) lost.emplace_back(p, r.why);
  }
  for (const auto& [p, why] : lost) {
    Log(LogLevel::kWarn, "partition lease lost; dropping the partition", {Field("partition", p), Field("reason", why)});
    owned_.at(p).worker->Stop(false);
    std::lock_guard lock(leases_mu_);
    owned_.erase(p);
    metrics_->leases_lost->Increment();
  }
}

void Cluster::Claim(int target) {
  for (int p = 0; p < shared_.nats.partitions; ++p) {
    {
      std::lock_guard lock(leases_mu_);
      if (static_cast<int>(owned_.size()) >= target) return;
      if (owned_.count(p) > 0) continue;
    }
    Lease lease;
    if (!leases_->Claim(p, &lease.held)) continue;  // taken, or NATS is away: next round
    lease.worker = std::make_unique<PartitionWorker>(p, &shared_);
    lease.worker->Start();
    metrics_->leases_acquired->Increment();
    std::lock_guard lock(leases_mu_);
    owned_.emplace(p, std::move(lease));
  }
}

void Cluster::Release(int partition, bool graceful) {
  Lease lease;
  {
    std::lock_guard lock(leases_mu_);
    auto it = owned_.find(partition);
    if (it == owned_.end()) return;
    lease = std::move(it->second);
    owned_.erase(it);
  }
  lease.worker->Stop(graceful);
  if (!leases_->Free(partition, lease.held).ok()) metrics_->nats_errors->Increment();
  metrics_->leases_released->Increment();
  Log(LogLevel::kInfo, "partition released",
      {Field("partition", partition), Field("handover", graceful ? "checkpointed" : "failed")});
}

void Cluster::ReleaseGracefully(const std::vector<int>& partitions) {
  for (int p : partitions) {
    Release(p, true);
    if (clock_() - renewed_at_ >= RoundPeriod()) Renew();
  }
}

void Cluster::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stop_ = true;
    stopped_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!leases_ || !metrics_) return;  // Create() failed half-way
  std::vector<int> partitions;
  {
    std::lock_guard lock(leases_mu_);
    for (const auto& [p, lease] : owned_) partitions.push_back(p);
  }
  ReleaseGracefully(partitions);
  metrics_->owned_partitions->Set(0);
  if (!leases_->Withdraw().ok()) metrics_->nats_errors->Increment();
}

void Cluster::Reload(const config::Settings& settings, std::shared_ptr<const ModelSet> models) {
  {
    std::lock_guard lock(shared_.mu);
    const config::NatsSettings nats = shared_.nats;
    shared_.settings = settings;
    shared_.models = models;
    if (!settings.nats || settings.nats->servers != nats.servers || settings.nats->partitions != nats.partitions ||
        settings.nats->stream != nats.stream) {
      Log(LogLevel::kWarn, "the nats section changes only on restart");
    }
  }
  {
    std::lock_guard lock(leases_mu_);
    for (auto& [p, lease] : owned_) lease.worker->Reload(settings, models);
  }
  FixStreamGauges();
}

void Cluster::FixStreamGauges() {
  // Each partition's Ingestor sets lstmad_streams to its own count on
  // reload; the instance's figure is their sum.
  std::map<std::string, size_t> total;
  std::lock_guard lock(leases_mu_);
  for (auto& [p, lease] : owned_) {
    for (const auto& [model, n] : lease.worker->StreamsByModel()) total[model] += n;
  }
  std::lock_guard models_lock(shared_.mu);
  for (const auto& m : shared_.models->models) m->metrics.streams->Set(static_cast<double>(total[m->name()]));
}

}  // namespace lstmad::daemon
