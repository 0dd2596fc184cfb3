// The partition worker's consume loop over in-memory fakes, on its real
// thread: messages applied in stream order and acknowledged only after the
// checkpoint that covers them; gaps in stream sequences (other partitions'
// messages, purged ones) applied as they come; a delivery lost in flight
// restarting the consumer right after the last applied sample; a failed ack
// redelivered and skipped by sequence; a dropped owner's unsaved samples
// re-applied by the next owner and counted as redelivered; a worker fenced
// by a new owner stopping without acknowledging or checkpointing again.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>

#include "cluster/cluster_partition.h"
#include "daemon/cluster/support/shared_fake_backend.h"
#include "daemon/support/log_writers.h"
#include "daemon/support/recording_sink.h"
#include "daemon/support/tiny_model.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

using testing::Eventually;
using testing::SharedFakeBackend;
using testing::TraceEvent;
using Kind = TraceEvent::Kind;

using testing::kLookback;
using testing::RecordingSink;
using testing::SilentLog;
using testing::TinyModelSet;
constexpr int kPartition = 0;

// Sample `seq` of the one stream: a = seq, at time 1000 + seq.
std::string Line(uint64_t seq) {
  return "pump,id=s a=" + std::to_string(seq) + ",b=1 " + std::to_string(1000 + seq);
}
std::map<uint64_t, std::string> Messages(std::vector<uint64_t> sequences) {
  std::map<uint64_t, std::string> out;
  for (uint64_t s : sequences) out[s] = Line(s);
  return out;
}

// One lstmad instance's side of a partition: its metrics, scorer, models
// and what its partition workers share.
struct Instance {
  Instance(const std::string& id, ClusterBackend* backend) : cluster_metrics(&metrics) {
    settings.scoring.workers = 1;
    settings.scoring.max_wait_ms = 0;
    scorer = std::make_unique<Scorer>(settings.scoring, &metrics);
    config::NatsSettings nats;
    nats.partitions = 1;
    nats.fetch_batch = 4;
    nats.max_ack_pending = 8;            // a checkpoint once 4 samples are unacknowledged
    nats.checkpoint_interval_s = 3600;   // never by time within a test
    shared.nats = nats;
    shared.instance_id = id;
    shared.backend = backend;
    shared.scorer = scorer.get();
    shared.metrics = &metrics;
    shared.cluster_metrics = &cluster_metrics;
    shared.settings = settings;
    shared.models = TinyModelSet(&metrics);
  }
  double Count(prometheus::Counter* c) const { return c->Value(); }

  config::Settings settings;
  Metrics metrics{"test"};
  ClusterMetrics cluster_metrics;
  std::unique_ptr<Scorer> scorer;
  ClusterShared shared;
};

class PartitionWorkerTest : public ::testing::Test {
 protected:
  PartitionWorkerTest() { SetLogWriter(&log_); }
  ~PartitionWorkerTest() override { SetLogWriter(nullptr); }

  uint64_t AckFloor() {
    return backend_.WithConsumer(kPartition, [](testing::FakePartitionConsumer& c) { return c.ack_floor(); });
  }
  // Publishes sample `seq` as the partition's newest message, its delivery
  // lost in flight with nothing after it.
  void PublishLostAtTheEnd(uint64_t seq) {
    backend_.WithConsumer(kPartition, [seq](testing::FakePartitionConsumer& c) {
      c.LoseNextDelivery();
      c.Publish(seq, Line(seq));
    });
  }
  // The partition's stored checkpoint (inline: one stream is small).
  Checkpoint Stored() {
    KvEntry e;
    EXPECT_TRUE(backend_.state()->Get("snap.0", &e).ok());
    auto cp = DecodeCheckpoint(e.value, "snap.0");
    EXPECT_TRUE(cp.ok()) << cp.status().message();
    return cp.ok() ? *cp : Checkpoint{};
  }
  static TraceEvent Cp(uint64_t seq, const std::string& owner) { return {Kind::kCheckpoint, kPartition, seq, owner}; }
  static TraceEvent Ack(uint64_t seq) { return {Kind::kAck, kPartition, seq, ""}; }
  void ExpectTrace(const std::vector<TraceEvent>& want) {
    const std::vector<TraceEvent> got = backend_.Trace();
    ASSERT_EQ(got.size(), want.size()) << Describe(got);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].kind, want[i].kind) << "event " << i << " of " << Describe(got);
      EXPECT_EQ(got[i].sequence, want[i].sequence) << "event " << i << " of " << Describe(got);
      EXPECT_EQ(got[i].owner, want[i].owner) << "event " << i << " of " << Describe(got);
    }
  }
  static std::string Describe(const std::vector<TraceEvent>& trace) {
    std::string out;
    for (const auto& e : trace) {
      out += e.kind == Kind::kAck ? " ack " : " checkpoint(" + e.owner + ") ";
      out += std::to_string(e.sequence);
    }
    return out;
  }

  SilentLog log_;
  SharedFakeBackend backend_{1, std::chrono::seconds(30)};
};

TEST_F(PartitionWorkerTest, AcknowledgesOnlyWhatACheckpointCovers) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, Messages({1, 2, 3, 4, 5, 6}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 6; }));
  // The first owner creates the empty checkpoint; 1-4 fill the ack budget
  // (max_ack_pending / 2): saved, then acknowledged. 5 and 6 are applied but
  // neither saved nor acknowledged yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a later write would show
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Ack(4)});
  EXPECT_EQ(AckFloor(), 4u);
  EXPECT_TRUE(worker.running());

  // A handover checkpoints first, then acknowledges the rest.
  worker.Stop(true);
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Ack(4), Cp(6, "a"), Ack(6)});
  EXPECT_EQ(AckFloor(), 6u);
  const Checkpoint cp = Stored();
  EXPECT_EQ(cp.sequence, 6u);
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].key, "pump,id=s");
  EXPECT_EQ(cp.streams[0].samples, 6);
  EXPECT_EQ(cp.streams[0].values, (std::vector<float>{4, 1, 5, 1, 6, 1}));  // in order, the last T
  EXPECT_EQ(a.scorer->windows_scored(), 4u);  // windows ending at 3, 4, 5, 6
  EXPECT_EQ(a.Count(a.cluster_metrics.checkpoints_ok), 2.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.duplicates_skipped), 0.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 0.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.redelivered), 0.0);
}

// A partition's consumer sees only its own subjects' stream sequences, so
// gaps between them are normal (and so is a message the stream's limits
// removed): each delivered message is applied, nothing is restarted.
// Batch messages: each applied whole and in order, counted by their lines;
// a header whose count is wrong still applies its lines and is counted.
TEST_F(PartitionWorkerTest, BatchMessagesApplyTheirLinesInOrder) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, {{1, "#lstmad-batch 3 x-1\n" + Line(1) + "\n" + Line(2) + "\n" + Line(3)},
                                {2, Line(4)},
                                {3, "#lstmad-batch 3 x-5\n" + Line(5) + "\n" + Line(6)}});
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 6; }));
  worker.Stop(true);
  EXPECT_EQ(a.Count(a.cluster_metrics.batch_mismatches), 1.0);
  EXPECT_EQ(AckFloor(), 3u);
  const Checkpoint cp = Stored();
  EXPECT_EQ(cp.sequence, 3u);  // message sequences, not samples
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].samples, 6);
  EXPECT_EQ(cp.streams[0].values, (std::vector<float>{4, 1, 5, 1, 6, 1}));  // in order, the last T
  EXPECT_EQ(a.scorer->windows_scored(), 4u);
}

TEST_F(PartitionWorkerTest, AppliesAcrossGapsInStreamSequences) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, Messages({2, 3, 7, 8, 20}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 5; }));
  worker.Stop(true);
  ExpectTrace({Cp(0, "a"), Cp(8, "a"), Ack(8), Cp(20, "a"), Ack(20)});
  const Checkpoint cp = Stored();
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].samples, 5);
  EXPECT_EQ(cp.streams[0].values, (std::vector<float>{7, 1, 8, 1, 20, 1}));
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 0.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.fetch_errors), 0.0);
}

// A gap in the consumer's delivery sequence means deliveries were lost in
// flight (docs/metrics.md, lstmad_cluster_consumer_restarts_total): nothing
// after it is applied; the consumer starts again right after the last
// applied sample, so every sample is applied once, in order.
TEST_F(PartitionWorkerTest, ALostDeliveryRestartsTheConsumerAfterTheLastAppliedSample) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, Messages({1, 2, 3}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 3; }));
  backend_.WithConsumer(kPartition, [](testing::FakePartitionConsumer& c) {
    c.LoseNextDelivery();  // 4 never arrives: 5 comes as delivery 5 after delivery 3
    for (uint64_t s = 4; s <= 8; ++s) c.Publish(s, Line(s));
  });
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 8; }));
  worker.Stop(true);
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 1.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.duplicates_skipped), 0.0);
  // After the restart 4-7 fill the budget; 8 is saved at the handover.
  ExpectTrace({Cp(0, "a"), Cp(7, "a"), Ack(7), Cp(8, "a"), Ack(8)});
  const Checkpoint cp = Stored();
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].samples, 8);
  EXPECT_EQ(cp.streams[0].values, (std::vector<float>{6, 1, 7, 1, 8, 1}));
  EXPECT_EQ(a.scorer->windows_scored(), 6u);
}

// The newest delivery is lost in flight and nothing follows it, so no gap
// in the consumer sequence shows it, and the server does not send it again:
// the idle partition asks the server what it delivered, sees it past what
// was applied twice in a row, and starts again after the last applied sample.
TEST_F(PartitionWorkerTest, ALostDeliveryAtTheEndIsFetchedAgainOnceThePartitionIsIdle) {
  Instance a("a", &backend_);
  a.shared.tail_check_interval = std::chrono::milliseconds(20);
  backend_.Publish(kPartition, Messages({1, 2, 3}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 3; }));
  // Idle with nothing lost: the server delivered what was applied.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 0.0);
  PublishLostAtTheEnd(4);
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 4; }));
  worker.Stop(true);
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 1.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.duplicates_skipped), 0.0);
  const Checkpoint cp = Stored();
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].samples, 4);
}

// The stream holds other partitions' messages after this partition's last:
// the server's delivered stream sequence moves on to the newest of them, yet
// every delivery arrived, so the idle partition keeps its consumer (it once
// restarted it every two idle intervals).
TEST_F(PartitionWorkerTest, AnIdlePartitionBehindOtherPartitionsMessagesKeepsItsConsumer) {
  Instance a("a", &backend_);
  a.shared.tail_check_interval = std::chrono::milliseconds(20);
  backend_.Publish(kPartition, Messages({1, 2, 3}));
  backend_.WithConsumer(kPartition, [](testing::FakePartitionConsumer& c) { c.OthersPublishedUpTo(9); });
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ten idle intervals
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 0.0);
  PartitionConsumer::State state;
  backend_.WithConsumer(kPartition,
                        [&](testing::FakePartitionConsumer& c) { ASSERT_TRUE(c.GetState(&state).ok()); });
  EXPECT_EQ(state.delivered, 9u);  // the fake moved on as the server does
  // A later message of this partition still comes, and a lost one at the
  // end is still fetched again.
  backend_.WithConsumer(kPartition, [](testing::FakePartitionConsumer& c) { c.Publish(10, Line(10)); });
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 4; }));
  PublishLostAtTheEnd(11);
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 5; }));
  worker.Stop(true);
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 1.0);
  EXPECT_EQ(Stored().streams.at(0).samples, 5);
}

// An ack that never arrives: the server sends the messages again after
// ack_wait; they are skipped by sequence (counted) and the next checkpoint's
// ack covers them.
TEST_F(PartitionWorkerTest, RedeliveriesAfterAFailedAckAreSkippedBySequence) {
  Instance a("a", &backend_);
  backend_.FailAcks(kPartition, 1);
  backend_.Publish(kPartition, Messages({1, 2, 3, 4}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.nats_errors) == 1; }));
  EXPECT_EQ(AckFloor(), 0u);
  backend_.WithConsumer(kPartition, [](testing::FakePartitionConsumer& c) { c.Redeliver(); });
  ASSERT_TRUE(Eventually([&] { return AckFloor() == 4; }));
  worker.Stop(true);
  EXPECT_EQ(a.Count(a.cluster_metrics.duplicates_skipped), 4.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.samples_consumed), 4.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.consumer_restarts), 0.0);
  EXPECT_EQ(a.scorer->windows_scored(), 2u);  // not scored again
  // The failed ack leaves no trace; the redeliveries are saved (same
  // sequence) and then acknowledged.
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Cp(4, "a"), Ack(4)});
  EXPECT_EQ(Stored().streams.at(0).samples, 4);
}

// An owner dropped without a final checkpoint (lease lost, process killed):
// the next owner resumes after the last checkpoint; the samples the old
// consumer had delivered past it are applied again, once, and counted as
// redelivered.
TEST_F(PartitionWorkerTest, TheNextOwnerReappliesWhatWasNotCheckpointed) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, Messages({1, 2, 3, 4, 5, 6}));
  auto first = std::make_unique<PartitionWorker>(kPartition, &a.shared);
  first->Start();
  ASSERT_TRUE(Eventually([&] { return a.Count(a.cluster_metrics.samples_consumed) == 6; }));
  first->Stop(false);
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Ack(4)});  // 5 and 6: neither saved nor acknowledged
  first.reset();

  Instance b("b", &backend_);
  backend_.Publish(kPartition, Messages({7}));
  PartitionWorker second(kPartition, &b.shared);
  second.Start();
  ASSERT_TRUE(Eventually([&] { return b.Count(b.cluster_metrics.samples_consumed) == 3; }));
  second.Stop(true);
  EXPECT_EQ(b.Count(b.cluster_metrics.redelivered), 2.0);  // 5 and 6, not 7
  EXPECT_EQ(b.Count(b.cluster_metrics.duplicates_skipped), 0.0);
  EXPECT_EQ(b.scorer->windows_scored(), 3u);  // the restored window completes at once
  // The takeover's fence names b and keeps a's sequence; b then saves 7.
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Ack(4), Cp(4, "b"), Cp(7, "b"), Ack(7)});
  const Checkpoint cp = Stored();
  EXPECT_EQ(cp.owner, "b");
  EXPECT_EQ(cp.delivered, 6u);
  ASSERT_EQ(cp.streams.size(), 1u);
  EXPECT_EQ(cp.streams[0].samples, 7);  // each sample applied once to the stream
  EXPECT_EQ(cp.streams[0].values, (std::vector<float>{5, 1, 6, 1, 7, 1}));
}

// A new owner's takeover rewrote the checkpoint: the old worker's next
// checkpoint fails, and it stops without acknowledging the samples it
// applied meanwhile and without any further write.
TEST_F(PartitionWorkerTest, AFencedWorkerStopsWithoutAckingOrCheckpointing) {
  Instance a("a", &backend_);
  backend_.Publish(kPartition, Messages({1, 2, 3, 4}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return AckFloor() == 4; }));

  Instance b("b", &backend_);
  CheckpointLedger fence(backend_.state(), kPartition, "b", backend_.max_payload(), &b.cluster_metrics, "LSTMAD",
                         "LSTMAD");
  auto consumer = backend_.Consumer(kPartition);
  Checkpoint taken;
  ASSERT_TRUE(fence.TakeOver(consumer.get(), &taken).ok());
  EXPECT_EQ(taken.sequence, 4u);

  backend_.Publish(kPartition, Messages({5, 6, 7, 8}));
  ASSERT_TRUE(Eventually([&] { return !worker.running(); }));
  EXPECT_TRUE(worker.fenced());
  EXPECT_EQ(a.Count(a.cluster_metrics.samples_consumed), 8.0);
  EXPECT_EQ(a.Count(a.cluster_metrics.checkpoints_failed), 1.0);
  worker.Stop(true);  // a handover request changes nothing now
  ExpectTrace({Cp(0, "a"), Cp(4, "a"), Ack(4), Cp(4, "b")});
  EXPECT_EQ(AckFloor(), 4u);
  const Checkpoint cp = Stored();
  EXPECT_EQ(cp.owner, "b");
  EXPECT_EQ(cp.sequence, 4u);
}

// Issue 18, finding 3, in cluster mode: a reload that reshapes the model
// resolves the partition's firing alerts and removes their series, as in
// single-node mode.
TEST_F(PartitionWorkerTest, AReshapingReloadResolvesThePartitionsAlerts) {
  Instance a("a", &backend_);
  RecordingSink sink;
  a.scorer->SetAlertSink(&sink);
  a.shared.models = TinyModelSet(&a.metrics, 0.0);  // every window anomalous: fires on the third
  backend_.Publish(kPartition, Messages({1, 2, 3, 4, 5, 6}));
  PartitionWorker worker(kPartition, &a.shared);
  worker.Start();
  ASSERT_TRUE(Eventually([&] { return sink.events().size() == 1; }));
  ASSERT_EQ(sink.events()[0].kind, "fired");
  const std::string series = "lstmad_stream_anomalous{id=\"s\",model=\"pump\",stream=\"pump,id=s\"} 1";
  ASSERT_NE(a.metrics.Scrape().find(series), std::string::npos);

  Metrics next_metrics("next");
  worker.Reload(a.settings, TinyModelSet(&next_metrics, 0.0, kLookback + 1));
  const std::vector<AlertEvent> events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, "resolved");
  EXPECT_EQ(events[1].reason, "model_reshaped");
  EXPECT_EQ(events[1].stream, "pump,id=s");
  EXPECT_EQ(a.metrics.Scrape().find("stream=\"pump,id=s\""), std::string::npos);
  worker.Stop(true);
  a.scorer->SetAlertSink(nullptr);
}

}  // namespace
}  // namespace lstmad::daemon
