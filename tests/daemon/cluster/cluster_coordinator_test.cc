// The coordinator's round (Cluster::Round) over in-memory fakes and a fake
// clock, run round by round from the test, with real partition workers: the
// first round only announces; the next claims ceil(P / live) partitions;
// leases are renewed every round; a partition whose owner's lease lapsed
// (lease_ttl without renewal) is taken over with its checkpoint; a lease
// now held by another instance, or not renewable for lease_ttl, is given up
// and its worker stopped; a worker fenced by a new owner is dropped without
// touching the lease; Stop hands everything over; handovers slower than
// lease_ttl let none of the leases still held lapse.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "cluster/cluster.h"
#include "daemon/cluster/support/shared_fake_backend.h"
#include "daemon/support/log_writers.h"
#include "daemon/support/tiny_model.h"
#include "obs/logging.h"

namespace lstmad::daemon {

// Builds a Cluster over any backend and clock and runs its rounds.
class ClusterTestPeer {
 public:
  static std::unique_ptr<Cluster> Make(const config::Settings& settings, std::shared_ptr<const ModelSet> models,
                                       Scorer* scorer, Metrics* metrics, std::unique_ptr<ClusterBackend> backend,
                                       ClusterClock clock) {
    return Cluster::Assemble(settings, std::move(models), scorer, metrics, nullptr, settings.nats->instance_id,
                             std::move(backend), std::move(clock));
  }
  static void Round(Cluster& c, bool claim) { c.Round(claim); }
  static std::set<int> Owned(Cluster& c) {
    std::lock_guard lock(c.leases_mu_);
    std::set<int> out;
    for (const auto& [p, lease] : c.owned_) out.insert(p);
    return out;
  }
  static PartitionWorker* Worker(Cluster& c, int partition) {
    std::lock_guard lock(c.leases_mu_);
    return c.owned_.at(partition).worker.get();
  }
  static ClusterMetrics& Metrics(Cluster& c) { return *c.metrics_; }
};

namespace {

using testing::Eventually;
using testing::SharedFakeBackend;
using testing::SilentLog;
using testing::TinyModelSet;
using Fault = testing::FakeKvBucket::Fault;

constexpr int kPartitions = 4;
constexpr auto kLeaseTtl = std::chrono::seconds(3);
constexpr auto kRoundPeriod = std::chrono::seconds(1);  // lease_ttl / 3

// Each Cluster owns its backend; these share one set of fakes, as instances
// share one NATS.
class BackendHandle final : public ClusterBackend {
 public:
  explicit BackendHandle(ClusterBackend* backend) : backend_(backend) {}
  KvBucket* leases() override { return backend_->leases(); }
  KvBucket* state() override { return backend_->state(); }
  std::unique_ptr<PartitionConsumer> Consumer(int partition) override { return backend_->Consumer(partition); }
  bool connected() const override { return backend_->connected(); }
  int64_t max_payload() const override { return backend_->max_payload(); }

 private:
  ClusterBackend* backend_;
};

// Samples 1..n of one stream, as stream sequences 1..n.
std::map<uint64_t, std::string> Samples(uint64_t n) {
  std::map<uint64_t, std::string> out;
  for (uint64_t s = 1; s <= n; ++s) out[s] = "pump,id=s a=" + std::to_string(s) + ",b=1 " + std::to_string(1000 + s);
  return out;
}


class CoordinatorTest : public ::testing::Test {
 protected:
  CoordinatorTest() {
    SetLogWriter(&log_);
    settings_.scoring.workers = 1;
    settings_.scoring.max_wait_ms = 0;
    config::NatsSettings nats;
    nats.partitions = kPartitions;
    nats.lease_ttl_s = 3;
    nats.fetch_batch = 4;
    nats.max_ack_pending = 8;
    nats.checkpoint_interval_s = 3600;
    nats.instance_id = "a";
    settings_.nats = nats;
    scorer_ = std::make_unique<Scorer>(settings_.scoring, &metrics_);
    cluster_ = ClusterTestPeer::Make(settings_, TinyModelSet(&metrics_), scorer_.get(), &metrics_,
                                     std::make_unique<BackendHandle>(&backend_), backend_.Clock());
  }
  ~CoordinatorTest() override {
    cluster_.reset();
    SetLogWriter(nullptr);
  }

  void Round(bool claim = true) { ClusterTestPeer::Round(*cluster_, claim); }
  std::set<int> Owned() { return ClusterTestPeer::Owned(*cluster_); }
  ClusterMetrics& M() { return ClusterTestPeer::Metrics(*cluster_); }
  // The lease bucket's partition.<n>: the owner's id and the revision.
  KvEntry Lease(int partition) {
    KvEntry e;
    if (!backend_.leases()->Get(PartitionLeases::Key(partition), &e).ok()) e = KvEntry{"(absent)", 0};
    return e;
  }
  // The owner the partition's checkpoint head names ("" when none yet).
  std::string CheckpointOwner(int partition) {
    KvEntry e;
    const std::string key = "snap." + std::to_string(partition);
    if (!backend_.state()->Get(key, &e).ok()) return "";
    auto head = DecodeCheckpointHead(e.value, key);
    return head.ok() ? head->owner : "(damaged)";
  }
  // The announcing round, then the claiming one; waits for every claimed
  // partition's takeover (its checkpoint head names this instance).
  void Join() {
    Round(false);
    Round(true);
    for (int p : Owned()) ASSERT_TRUE(Eventually([&] { return CheckpointOwner(p) == "a"; })) << p;
  }
  // Two samples applied in every partition, too few for a checkpoint (the
  // ack budget is 4): each handover has a final checkpoint to write.
  void ApplyUncheckpointedSamples() {
    const auto messages = Samples(2);
    for (int p = 0; p < kPartitions; ++p) backend_.Publish(p, messages);
    ASSERT_TRUE(Eventually([&] { return M().samples_consumed->Value() == 2.0 * kPartitions; }));
  }
  size_t CheckpointsOf(int partition) {
    size_t n = 0;
    for (const auto& e : backend_.Trace()) {
      n += e.kind == testing::TraceEvent::Kind::kCheckpoint && e.partition == partition ? 1 : 0;
    }
    return n;
  }

  SilentLog log_;
  SharedFakeBackend backend_{kPartitions, kLeaseTtl};
  config::Settings settings_;
  Metrics metrics_{"test"};
  std::unique_ptr<Scorer> scorer_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(CoordinatorTest, AnnouncesFirstThenClaimsItsShareAndHandsItOverOnStop) {
  PartitionLeases other(backend_.leases(), "b", kLeaseTtl, backend_.Clock());
  ASSERT_TRUE(other.Heartbeat().ok());

  Round(false);
  EXPECT_EQ(backend_.With([](auto& leases, auto&) { return leases.ValueKeys(); }),
            (std::vector<std::string>{"instance.a", "instance.b"}));
  EXPECT_TRUE(Owned().empty());
  EXPECT_EQ(M().live_instances->Value(), 2.0);

  Round(true);  // ceil(4 / 2) = 2, lowest first
  EXPECT_EQ(Owned(), (std::set<int>{0, 1}));
  EXPECT_EQ(Lease(0).value, "a");
  EXPECT_EQ(Lease(1).value, "a");
  EXPECT_EQ(Lease(2).value, "(absent)");
  EXPECT_EQ(M().leases_acquired->Value(), 2.0);
  EXPECT_EQ(M().owned_partitions->Value(), 2.0);
  for (int p : {0, 1}) {
    EXPECT_TRUE(ClusterTestPeer::Worker(*cluster_, p)->running());
    EXPECT_TRUE(Eventually([&] { return CheckpointOwner(p) == "a"; })) << p;
  }

  cluster_->Stop();  // final checkpoints, leases freed, heartbeat withdrawn
  EXPECT_EQ(Lease(0).value, "");
  EXPECT_EQ(Lease(1).value, "");
  EXPECT_EQ(backend_.With([](auto& leases, auto&) { return leases.ValueKeys("instance."); }),
            (std::vector<std::string>{"instance.b"}));
  EXPECT_EQ(M().leases_released->Value(), 2.0);
  EXPECT_EQ(M().owned_partitions->Value(), 0.0);
}

TEST_F(CoordinatorTest, StopKeepsTheLeasesItStillHoldsWhileCheckpointsOutlastThem) {
  Join();
  ASSERT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  const double errors = M().nats_errors->Value();
  ApplyUncheckpointedSamples();
  // Each final checkpoint takes 2 s: handing the four partitions over takes
  // 8 s, over twice lease_ttl since the last round renewed the leases.
  backend_.SlowCheckpoints(std::chrono::seconds(2));
  cluster_->Stop();
  // Every lease was still ours to free: a lapsed one fails the freeing
  // compare-and-set (a NATS error). The freed entries lapse in turn, so
  // only the last one, 2 s old, is still there to read.
  EXPECT_EQ(M().nats_errors->Value(), errors);
  EXPECT_EQ(Lease(3).value, "");
  for (int p = 0; p < kPartitions; ++p) EXPECT_EQ(CheckpointOwner(p), "a") << p;
  EXPECT_EQ(M().leases_released->Value(), 4.0);
  EXPECT_EQ(M().leases_lost->Value(), 0.0);
}

TEST_F(CoordinatorTest, KeepsItsShareWhileHandingSlowPartitionsOverToANewInstance) {
  Join();
  ASSERT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  PartitionLeases b(backend_.leases(), "b", kLeaseTtl, backend_.Clock());
  ASSERT_TRUE(b.Heartbeat().ok());
  ApplyUncheckpointedSamples();
  // b joins: a hands partitions 3 and 2 over, 2 s of checkpoint each.
  backend_.SlowCheckpoints(std::chrono::seconds(2));
  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1}));
  EXPECT_EQ(Lease(3).value, "");
  EXPECT_EQ(Lease(2).value, "");
  EXPECT_EQ(Lease(0).value, "a");  // renewed between the handovers
  EXPECT_EQ(Lease(1).value, "a");

  backend_.SlowCheckpoints(std::chrono::seconds(0));
  ASSERT_TRUE(b.Heartbeat().ok());
  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1}));
  EXPECT_EQ(M().leases_lost->Value(), 0.0);
  EXPECT_EQ(M().leases_released->Value(), 2.0);
}

TEST_F(CoordinatorTest, RenewsItsLeasesAndTakesOverOnesThatLapsed) {
  // b holds partitions 2 and 3 and has checkpointed partition 2 up to
  // sequence 2; then it dies (no more heartbeats or renewals).
  PartitionLeases b(backend_.leases(), "b", kLeaseTtl, backend_.Clock());
  ASSERT_TRUE(b.Heartbeat().ok());
  HeldLease held;
  ASSERT_TRUE(b.Claim(2, &held));
  ASSERT_TRUE(b.Claim(3, &held));
  {
    Metrics b_registry("b");
    ClusterMetrics b_metrics(&b_registry);
    CheckpointLedger ledger(backend_.state(), 2, "b", backend_.max_payload(), &b_metrics, "LSTMAD", "LSTMAD");
    auto consumer = backend_.Consumer(2);
    Checkpoint empty;
    ASSERT_TRUE(ledger.TakeOver(consumer.get(), &empty).ok());
    ASSERT_EQ(ledger.Save(Checkpoint{"b", 2, 2, {}, {}}), CheckpointLedger::Commit::kOk);
  }
  const auto messages = Samples(4);
  backend_.Publish(2, messages);

  Join();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1}));
  const uint64_t claimed_revision = Lease(0).revision;

  // Rounds every lease_ttl / 3: b's heartbeat and leases, written at the
  // start, lapse after lease_ttl; ours are renewed in each round.
  backend_.Advance(kRoundPeriod);
  Round();
  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1}));
  EXPECT_EQ(Lease(2).value, "b");
  EXPECT_GT(Lease(0).revision, claimed_revision);  // renewed
  EXPECT_EQ(M().live_instances->Value(), 2.0);

  backend_.Advance(kRoundPeriod);
  Round();  // lease_ttl since b's last write: its partitions are free
  EXPECT_EQ(M().live_instances->Value(), 1.0);
  EXPECT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  for (int p = 0; p < kPartitions; ++p) EXPECT_EQ(Lease(p).value, "a") << p;
  EXPECT_EQ(M().leases_acquired->Value(), 4.0);
  EXPECT_EQ(M().leases_lost->Value(), 0.0);
  // Partition 2 resumes after b's checkpoint: only 3 and 4 are applied.
  ASSERT_TRUE(Eventually([&] { return M().samples_consumed->Value() == 2.0; }));
  EXPECT_EQ(CheckpointOwner(2), "a");
  EXPECT_EQ(M().redelivered->Value(), 0.0);
}

TEST_F(CoordinatorTest, GivesUpALeaseNowHeldByAnotherInstance) {
  Join();
  ASSERT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  uint64_t revision = 0;
  ASSERT_TRUE(backend_.leases()->Put(PartitionLeases::Key(2), "c", &revision).ok());
  const size_t checkpoints = CheckpointsOf(2);

  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1, 3}));  // and not claimed back: c holds it
  EXPECT_EQ(M().leases_lost->Value(), 1.0);
  EXPECT_EQ(M().leases_released->Value(), 0.0);
  EXPECT_EQ(Lease(2).value, "c");
  EXPECT_EQ(Lease(2).revision, revision);  // not freed: it is not ours
  EXPECT_EQ(CheckpointsOf(2), checkpoints);  // stopped as it was, no final checkpoint
  EXPECT_EQ(Lease(0).value, "a");
}

TEST_F(CoordinatorTest, KeepsALeaseItCannotRenewUntilLeaseTtlHasPassed) {
  Join();
  ASSERT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  const double errors = M().nats_errors->Value();
  // NATS does not answer for partition.1 (its renewal and the read-back).
  for (int round = 1; round <= 2; ++round) {
    backend_.Advance(kRoundPeriod);
    backend_.With([](auto& leases, auto&) {
      leases.Inject("update", "partition.1", Fault::kUnreachable);
      leases.Inject("get", "partition.1", Fault::kUnreachable);
    });
    Round();
    EXPECT_EQ(Owned(), (std::set<int>{0, 1, 2, 3})) << "round " << round;
  }
  EXPECT_EQ(M().nats_errors->Value(), errors + 2);
  EXPECT_EQ(M().leases_lost->Value(), 0.0);

  // lease_ttl since the last renewal: given up (and not claimed back while
  // the bucket still does not answer for it).
  backend_.Advance(kRoundPeriod);
  backend_.With([](auto& leases, auto&) {
    leases.Inject("update", "partition.1", Fault::kUnreachable);
    leases.Inject("get", "partition.1", Fault::kUnreachable, 2);
  });
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 2, 3}));
  EXPECT_EQ(M().leases_lost->Value(), 1.0);

  // Once NATS answers again the lapsed lease is free and claimed anew.
  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(M().leases_acquired->Value(), 5.0);
  EXPECT_EQ(Lease(1).value, "a");
}

TEST_F(CoordinatorTest, DropsAFencedPartitionWithoutTouchingItsLease) {
  Join();
  ASSERT_EQ(Owned(), (std::set<int>{0, 1, 2, 3}));
  // Instance c takes partition 1 over: its lease, then its checkpoint.
  uint64_t revision = 0;
  ASSERT_TRUE(backend_.leases()->Put(PartitionLeases::Key(1), "c", &revision).ok());
  Metrics c_registry("c");  // instance c's own counters
  ClusterMetrics c_metrics(&c_registry);
  CheckpointLedger ledger(backend_.state(), 1, "c", backend_.max_payload(), &c_metrics, "LSTMAD", "LSTMAD");
  auto consumer = backend_.Consumer(1);
  Checkpoint taken;
  ASSERT_TRUE(ledger.TakeOver(consumer.get(), &taken).ok());
  // Our worker's next checkpoint (4 samples fill its ack budget) is refused.
  const auto messages = Samples(4);
  backend_.Publish(1, messages);
  PartitionWorker* worker = ClusterTestPeer::Worker(*cluster_, 1);
  ASSERT_TRUE(Eventually([&] { return !worker->running(); }));
  EXPECT_TRUE(worker->fenced());

  backend_.Advance(kRoundPeriod);
  Round();
  EXPECT_EQ(Owned(), (std::set<int>{0, 2, 3}));
  EXPECT_EQ(M().leases_lost->Value(), 1.0);
  EXPECT_EQ(M().leases_released->Value(), 0.0);
  EXPECT_EQ(Lease(1).value, "c");
  EXPECT_EQ(Lease(1).revision, revision);
  EXPECT_EQ(CheckpointOwner(1), "c");
}

}  // namespace
}  // namespace lstmad::daemon
