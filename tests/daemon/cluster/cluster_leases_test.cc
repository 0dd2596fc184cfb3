// Partition leases over an in-memory bucket with a fake clock: claim,
// renewal, expiry and takeover, revision-checked release, heartbeats, and
// writes whose reply was lost or that never reached the bucket.
#include <gtest/gtest.h>

#include "cluster/cluster_leases.h"
#include "daemon/cluster/support/fake_cluster_backend.h"

namespace lstmad::daemon {
namespace {

using testing::FakeClock;
using testing::FakeKvBucket;
using Fault = FakeKvBucket::Fault;
using std::chrono::milliseconds;

constexpr milliseconds kTtl{3000};

class ClusterLeasesTest : public ::testing::Test {
 protected:
  std::string Holder(int partition) {
    KvEntry e;
    return bucket_.Get(PartitionLeases::Key(partition), &e).ok() ? e.value : "<absent>";
  }

  FakeClock clock_;
  FakeKvBucket bucket_{"LSTMAD_leases", &clock_, kTtl};
  PartitionLeases a_{&bucket_, "node-a", kTtl, clock_.AsClusterClock()};
  PartitionLeases b_{&bucket_, "node-b", kTtl, clock_.AsClusterClock()};
};

TEST_F(ClusterLeasesTest, ClaimsAFreePartitionOnceAndRenewsIt) {
  HeldLease a, b;
  ASSERT_TRUE(a_.Claim(0, &a));
  EXPECT_EQ(Holder(0), "node-a");
  EXPECT_EQ(a.renewed, clock_.now());
  EXPECT_FALSE(b_.Claim(0, &b));
  clock_.Advance(milliseconds(1000));
  const uint64_t before = a.revision;
  const PartitionLeases::Renewal r = a_.Renew(0, &a);
  EXPECT_TRUE(r.kept);
  EXPECT_FALSE(r.write_failed);
  EXPECT_GT(a.revision, before);
  EXPECT_EQ(a.renewed, clock_.now());
  // Renewed in time, it outlives the first write's TTL.
  clock_.Advance(milliseconds(2500));
  EXPECT_EQ(Holder(0), "node-a");
  EXPECT_FALSE(b_.Claim(0, &b));
}

TEST_F(ClusterLeasesTest, AFreedLeaseIsClaimedByUpdate) {
  HeldLease a, b;
  ASSERT_TRUE(a_.Claim(2, &a));
  ASSERT_TRUE(a_.Free(2, a).ok());
  EXPECT_EQ(Holder(2), "");
  ASSERT_TRUE(b_.Claim(2, &b));
  EXPECT_EQ(Holder(2), "node-b");
}

TEST_F(ClusterLeasesTest, LapsedLeaseIsTakenOverAndItsOldOwnerLosesIt) {
  HeldLease a, b;
  ASSERT_TRUE(a_.Claim(1, &a));
  clock_.Advance(kTtl);  // no renewal: the entry expires
  EXPECT_EQ(Holder(1), "<absent>");
  ASSERT_TRUE(b_.Claim(1, &b));
  const PartitionLeases::Renewal r = a_.Renew(1, &a);
  EXPECT_FALSE(r.kept);
  EXPECT_TRUE(r.write_failed);
  EXPECT_EQ(r.why, "now held by node-b");
  // The old owner's release is revision-checked: it frees nothing of b's.
  EXPECT_FALSE(a_.Free(1, a).ok());
  EXPECT_EQ(Holder(1), "node-b");
}

TEST_F(ClusterLeasesTest, ExpiredLeaseNobodyTookIsLost) {
  HeldLease a;
  ASSERT_TRUE(a_.Claim(0, &a));
  clock_.Advance(kTtl);
  const PartitionLeases::Renewal r = a_.Renew(0, &a);
  EXPECT_FALSE(r.kept);
  EXPECT_EQ(r.why, "expired");
}

TEST_F(ClusterLeasesTest, UnreachableBucketKeepsTheLeaseUntilTtlSinceTheLastRenewal) {
  HeldLease a;
  ASSERT_TRUE(a_.Claim(0, &a));
  const auto claimed = a;
  clock_.Advance(milliseconds(2999));
  bucket_.Inject("update", "partition.0", Fault::kUnreachable);
  bucket_.Inject("get", "partition.0", Fault::kUnreachable);
  PartitionLeases::Renewal r = a_.Renew(0, &a);
  EXPECT_TRUE(r.kept);
  EXPECT_TRUE(r.write_failed);
  EXPECT_EQ(a.revision, claimed.revision);
  EXPECT_EQ(a.renewed, claimed.renewed);
  clock_.Advance(milliseconds(1));
  bucket_.Inject("update", "partition.0", Fault::kUnreachable);
  bucket_.Inject("get", "partition.0", Fault::kUnreachable);
  r = a_.Renew(0, &a);
  EXPECT_FALSE(r.kept);
  EXPECT_EQ(r.why, "no renewal for lease_ttl (reading the lease: fake: get: timeout)");
}

TEST_F(ClusterLeasesTest, RenewalWhoseReplyWasLostKeepsTheLeaseUnderItsNewRevision) {
  HeldLease a;
  ASSERT_TRUE(a_.Claim(0, &a));
  const uint64_t claimed = a.revision;
  bucket_.Inject("update", "partition.0", Fault::kLostReply);
  PartitionLeases::Renewal r = a_.Renew(0, &a);
  EXPECT_TRUE(r.kept);
  EXPECT_TRUE(r.write_failed);
  KvEntry stored;
  ASSERT_TRUE(bucket_.Get("partition.0", &stored).ok());
  EXPECT_GT(stored.revision, claimed);
  EXPECT_EQ(a.revision, stored.revision);  // adopted: the next renewal succeeds
  r = a_.Renew(0, &a);
  EXPECT_TRUE(r.kept);
  EXPECT_FALSE(r.write_failed);
}

TEST_F(ClusterLeasesTest, ClaimWhoseReplyWasLostIsTakenAgainNextRound) {
  HeldLease a, b;
  bucket_.Inject("create", "partition.0", Fault::kLostReply);
  EXPECT_FALSE(a_.Claim(0, &a));
  EXPECT_EQ(Holder(0), "node-a");  // the write happened
  EXPECT_FALSE(b_.Claim(0, &b));
  const uint64_t written = bucket_.last_revision();
  ASSERT_TRUE(a_.Claim(0, &a));  // our own id there: taken again
  EXPECT_GT(a.revision, written);
  EXPECT_TRUE(a_.Renew(0, &a).kept);
}

TEST_F(ClusterLeasesTest, FailedClaimWritesNothingAndLeavesTheLeaseFree) {
  HeldLease a;
  bucket_.Inject("create", "partition.0", Fault::kUnreachable);
  EXPECT_FALSE(a_.Claim(0, &a));
  EXPECT_EQ(Holder(0), "<absent>");
  EXPECT_TRUE(a_.Claim(0, &a));
}

TEST_F(ClusterLeasesTest, HeartbeatsCountLiveInstancesUntilWithdrawnOrExpired) {
  int live = 0;
  ASSERT_TRUE(a_.CountLive(&live).ok());
  EXPECT_EQ(live, 1);  // at least this one
  ASSERT_TRUE(a_.Heartbeat().ok());
  ASSERT_TRUE(b_.Heartbeat().ok());
  HeldLease lease;
  ASSERT_TRUE(a_.Claim(0, &lease));  // partitions are not instances
  ASSERT_TRUE(a_.CountLive(&live).ok());
  EXPECT_EQ(live, 2);
  ASSERT_TRUE(b_.Withdraw().ok());
  ASSERT_TRUE(a_.CountLive(&live).ok());
  EXPECT_EQ(live, 1);
  ASSERT_TRUE(b_.Heartbeat().ok());
  clock_.Advance(milliseconds(2000));
  ASSERT_TRUE(a_.Heartbeat().ok());
  clock_.Advance(milliseconds(1000));  // b's heartbeat is lease_ttl old
  ASSERT_TRUE(a_.CountLive(&live).ok());
  EXPECT_EQ(live, 1);
  EXPECT_EQ(bucket_.ValueKeys("instance."), std::vector<std::string>{"instance.node-a"});
  bucket_.Inject("keys", "instance.", Fault::kUnreachable);
  live = 7;
  EXPECT_FALSE(a_.CountLive(&live).ok());
  EXPECT_EQ(live, 7);  // the caller keeps its last count
}

}  // namespace
}  // namespace lstmad::daemon
