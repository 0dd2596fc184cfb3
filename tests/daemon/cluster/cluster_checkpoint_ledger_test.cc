// One partition's checkpoints over an in-memory state bucket: the first
// owner's empty checkpoint, the takeover's fence (the previous owner's next
// write is refused), chunked checkpoints (chunks, then the head; a missing
// chunk refused whole; orphans swept), and a head write whose reply was lost.
#include <gtest/gtest.h>

#include <set>

#include <prometheus/counter.h>

#include "cluster/cluster_checkpoint_ledger.h"
#include "daemon/cluster/support/fake_cluster_backend.h"
#include "daemon/support/log_writers.h"
#include "ingest/stream_table.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

using testing::CapturingLog;
using testing::FakeClock;
using testing::FakeKvBucket;
using testing::FakePartitionConsumer;
using Fault = FakeKvBucket::Fault;
using Commit = CheckpointLedger::Commit;

// A max_payload of 1024 leaves values of at most 512 bytes: 40 streams
// take several chunks, 1 stream fits inline.
constexpr int64_t kMaxPayload = 1024;

Checkpoint Streams(const std::string& owner, uint64_t sequence, int count) {
  StreamTable table(4, 3);
  Checkpoint out{owner, sequence, sequence, {}, {}};
  for (int j = 0; j < count; ++j) {
    const std::string key = "pump,site=s" + std::to_string(j);
    const uint32_t id = table.Insert(key, StreamTable::Hash(key));
    for (int i = 0; i < 5; ++i) {
      const float v[3] = {static_cast<float>(j), static_cast<float>(i), static_cast<float>(sequence)};
      table.Append(id, v, 1000 * j + i);
    }
    out.streams.push_back(table.Save(id, "pump"));
  }
  return out;
}

class CheckpointLedgerTest : public ::testing::Test {
 protected:
  CheckpointLedgerTest() { SetLogWriter(&log_); }
  ~CheckpointLedgerTest() override { SetLogWriter(nullptr); }

  CheckpointLedger Ledger(const std::string& instance) {
    return CheckpointLedger(&state_, 3, instance, kMaxPayload, &cluster_metrics_, "LSTMAD", "LSTMAD");
  }
  CheckpointHead StoredHead() {
    KvEntry e;
    EXPECT_TRUE(state_.Get("snap.3", &e).ok());
    auto head = DecodeCheckpointHead(e.value, "snap.3");
    EXPECT_TRUE(head.ok()) << head.status().message();
    return head.ok() ? *head : CheckpointHead{};
  }
  // The chunk generations stored for the partition.
  std::set<uint64_t> ChunkGenerations() {
    std::vector<std::string> keys;
    EXPECT_TRUE(state_.StoredKeys("snap.3.", &keys).ok());
    std::set<uint64_t> out;
    for (const auto& k : keys) {
      uint64_t g = 0;
      if (ParseCheckpointChunkKey(k, "snap.3", &g)) out.insert(g);
    }
    return out;
  }

  CapturingLog log_;
  FakeClock clock_;
  FakeKvBucket state_{"LSTMAD_state", &clock_};
  FakePartitionConsumer consumer_;
  Metrics metrics_{"test"};
  ClusterMetrics cluster_metrics_{&metrics_};
};

TEST_F(CheckpointLedgerTest, FirstOwnerCreatesAnEmptyCheckpoint) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  EXPECT_EQ(got.sequence, 0u);
  EXPECT_TRUE(got.streams.empty());
  EXPECT_EQ(got.owner, "");  // nobody owned it before: not node-a itself
  EXPECT_EQ(StoredHead().owner, "node-a");
  EXPECT_EQ(a.revision(), state_.last_revision());
  // A bucket that cannot be read fails the takeover (the worker retries).
  CheckpointLedger b = Ledger("node-b");
  state_.Inject("get", "snap.3", Fault::kUnreachable);
  EXPECT_FALSE(b.TakeOver(&consumer_, &got).ok());
}

TEST_F(CheckpointLedgerTest, CheckpointOfAnotherStreamKeepsItsStreamsButNotItsSequences) {
  // Written while partition 3 was in the one stream LSTMAD (nats.streams 1).
  CheckpointLedger a(&state_, 3, "node-a", kMaxPayload, &cluster_metrics_, "LSTMAD", "LSTMAD");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 500, 2)), Commit::kOk);
  EXPECT_EQ(StoredHead().stream, "LSTMAD");
  // nats.streams 4: partition 3 is in LSTMAD_3, read from its start.
  FakePartitionConsumer fresh;
  CheckpointLedger b(&state_, 3, "node-b", kMaxPayload, &cluster_metrics_, "LSTMAD_3", "LSTMAD");
  ASSERT_TRUE(b.TakeOver(&fresh, &got).ok());
  EXPECT_EQ(got.owner, "node-a");
  EXPECT_EQ(got.streams.size(), 2u);  // windows and alerts kept
  EXPECT_EQ(got.sequence, 0u);
  EXPECT_EQ(got.delivered, 0u);
  EXPECT_EQ(got.stream, "LSTMAD_3");
  EXPECT_EQ(StoredHead().stream, "LSTMAD_3");
  EXPECT_EQ(StoredHead().sequence, 0u);
  EXPECT_EQ(cluster_metrics_.checkpoints_migrated->Value(), 1);
  EXPECT_NE(log_.All().find("checkpoint of another stream layout"), std::string::npos) << log_.All();
  // b dies before its first checkpoint; its consumer had delivered 7 of
  // LSTMAD_3: the next owner reads LSTMAD_3 from its start again, counting
  // those as redelivered, and nothing is migrated twice.
  fresh.SetExisting(/*delivered=*/7, /*ack_floor=*/0);
  CheckpointLedger c(&state_, 3, "node-c", kMaxPayload, &cluster_metrics_, "LSTMAD_3", "LSTMAD");
  ASSERT_TRUE(c.TakeOver(&fresh, &got).ok());
  EXPECT_EQ(got.sequence, 0u);
  EXPECT_EQ(got.delivered, 7u);
  EXPECT_EQ(got.streams.size(), 2u);
  EXPECT_EQ(cluster_metrics_.checkpoints_migrated->Value(), 1);
  EXPECT_EQ(c.Save(Streams("node-c", 9, 2)), Commit::kOk);
  EXPECT_EQ(StoredHead().stream, "LSTMAD_3");
  EXPECT_EQ(StoredHead().sequence, 9u);
}

TEST_F(CheckpointLedgerTest, TakeoverFencesThePreviousOwnersNextWrite) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 5, 1)), Commit::kOk);
  a.Tidy();
  consumer_.SetExisting(/*delivered=*/9, /*ack_floor=*/5);

  CheckpointLedger b = Ledger("node-b");
  ASSERT_TRUE(b.TakeOver(&consumer_, &got).ok());
  EXPECT_EQ(got.owner, "node-a");  // who wrote what b resumes from
  EXPECT_EQ(got.sequence, 5u);
  EXPECT_EQ(got.delivered, 9u);  // the old consumer's deliveries, kept in the fence
  ASSERT_EQ(got.streams.size(), 1u);
  EXPECT_EQ(StoredHead().owner, "node-b");
  EXPECT_EQ(StoredHead().delivered, 9u);

  // a has not noticed: its next checkpoint is refused, nothing is acked.
  EXPECT_EQ(a.Save(Streams("node-a", 7, 1)), Commit::kFenced);
  EXPECT_EQ(StoredHead().owner, "node-b");
  EXPECT_EQ(StoredHead().sequence, 5u);
  EXPECT_EQ(b.Save(Streams("node-b", 8, 1)), Commit::kOk);
}

TEST_F(CheckpointLedgerTest, LargeCheckpointIsWrittenAsChunksThenAHeadAndReadBackWhole) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  const int writes_before = state_.writes();
  ASSERT_EQ(a.Save(Streams("node-a", 11, 40)), Commit::kOk);
  a.Tidy();
  const CheckpointHead head = StoredHead();
  ASSERT_TRUE(head.chunked);
  EXPECT_EQ(head.generation, a.generation());
  ASSERT_GE(head.chunks, 3u);
  EXPECT_EQ(state_.writes() - writes_before, static_cast<int>(head.chunks) + 1);  // chunks, then the head
  EXPECT_EQ(ChunkGenerations(), std::set<uint64_t>{a.generation()});

  CheckpointLedger b = Ledger("node-b");
  ASSERT_TRUE(b.TakeOver(&consumer_, &got).ok());
  EXPECT_EQ(got.sequence, 11u);
  ASSERT_EQ(got.streams.size(), 40u);
  EXPECT_EQ(got.streams[39].key, "pump,site=s39");
  // The fence rewrote only the head: it names the same chunks.
  EXPECT_EQ(StoredHead().owner, "node-b");
  EXPECT_EQ(b.generation(), a.generation());
  EXPECT_EQ(ChunkGenerations(), std::set<uint64_t>{a.generation()});
}

TEST_F(CheckpointLedgerTest, MissingChunkIsRefusedWholeNamingItAndThePartitionStartsFromTheAckFloor) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 11, 40)), Commit::kOk);
  const std::string lost = CheckpointChunkKey("snap.3", a.generation(), 1);
  ASSERT_TRUE(state_.PurgePrefix(lost).ok());
  // The key names the generation as 16 hex digits: "snap.3.<hex>.1".
  const std::string named = "LSTMAD_state/snap.3: checkpoint chunk 1 of " + std::to_string(StoredHead().chunks) +
                            " (generation " + lost.substr(7, 16) + ") is missing";
  consumer_.SetExisting(/*delivered=*/14, /*ack_floor=*/11);

  CheckpointLedger b = Ledger("node-b");
  ASSERT_TRUE(b.TakeOver(&consumer_, &got).ok());
  EXPECT_TRUE(got.streams.empty());  // none of it, not the chunks that are there
  EXPECT_EQ(got.sequence, 11u);
  EXPECT_EQ(got.delivered, 14u);
  EXPECT_EQ(cluster_metrics_.checkpoints_refused->Value(), 1);
  EXPECT_NE(log_.All().find("checkpoint refused"), std::string::npos) << log_.All();
  EXPECT_NE(log_.All().find(named), std::string::npos) << log_.All();
  // Fenced as an inline, empty checkpoint; the orphaned chunks are swept.
  EXPECT_FALSE(StoredHead().chunked);
  EXPECT_EQ(StoredHead().owner, "node-b");
  EXPECT_TRUE(ChunkGenerations().empty());
}

TEST_F(CheckpointLedgerTest, FencedOwnerPurgesTheChunksItJustWrote) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  CheckpointLedger b = Ledger("node-b");
  ASSERT_TRUE(b.TakeOver(&consumer_, &got).ok());
  EXPECT_EQ(a.Save(Streams("node-a", 20, 40)), Commit::kFenced);
  EXPECT_TRUE(ChunkGenerations().empty());
  EXPECT_EQ(StoredHead().owner, "node-b");
}

TEST_F(CheckpointLedgerTest, ChunksOfAFailedWriteAreSweptAfterTheNextCheckpoint) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 1, 40)), Commit::kOk);
  a.Tidy();
  const uint64_t first = a.generation();
  state_.Inject("update", "snap.3", Fault::kUnreachable);
  ASSERT_EQ(a.Save(Streams("node-a", 2, 40)), Commit::kRetry);
  EXPECT_EQ(ChunkGenerations().size(), 2u);  // the failed write's chunks name no head
  EXPECT_EQ(StoredHead().sequence, 1u);
  ASSERT_EQ(a.Save(Streams("node-a", 3, 40)), Commit::kOk);
  a.Tidy();
  EXPECT_NE(a.generation(), first);
  EXPECT_EQ(ChunkGenerations(), std::set<uint64_t>{a.generation()});
  EXPECT_EQ(StoredHead().sequence, 3u);
  EXPECT_EQ(cluster_metrics_.checkpoints_failed->Value(), 1);
}

TEST_F(CheckpointLedgerTest, HeadWriteWhoseReplyWasLostStaysOursAndIsWrittenOver) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 1, 40)), Commit::kOk);
  a.Tidy();
  state_.Inject("update", "snap.3", Fault::kLostReply);
  // The head moved (our own write): not fenced, retried.
  ASSERT_EQ(a.Save(Streams("node-a", 2, 40)), Commit::kRetry);
  EXPECT_EQ(StoredHead().sequence, 2u);
  EXPECT_EQ(a.revision(), state_.last_revision());
  EXPECT_EQ(a.generation(), StoredHead().generation);
  ASSERT_EQ(a.Save(Streams("node-a", 3, 40)), Commit::kOk);
  a.Tidy();
  EXPECT_EQ(ChunkGenerations(), std::set<uint64_t>{a.generation()});
  CheckpointLedger b = Ledger("node-b");
  ASSERT_TRUE(b.TakeOver(&consumer_, &got).ok());
  EXPECT_EQ(got.sequence, 3u);
  EXPECT_EQ(got.streams.size(), 40u);
}

TEST_F(CheckpointLedgerTest, FenceWriteThatFailsLeavesTheTakeoverToBeRetried) {
  CheckpointLedger a = Ledger("node-a");
  Checkpoint got;
  ASSERT_TRUE(a.TakeOver(&consumer_, &got).ok());
  ASSERT_EQ(a.Save(Streams("node-a", 4, 1)), Commit::kOk);
  CheckpointLedger b = Ledger("node-b");
  state_.Inject("update", "snap.3", Fault::kUnreachable);
  const core::Status s = b.TakeOver(&consumer_, &got);
  EXPECT_EQ(s.message(), "fencing checkpoint snap.3: fake: update: timeout");
  EXPECT_EQ(StoredHead().owner, "node-a");
  EXPECT_EQ(a.Save(Streams("node-a", 5, 1)), Commit::kOk);  // not fenced
}

}  // namespace
}  // namespace lstmad::daemon
