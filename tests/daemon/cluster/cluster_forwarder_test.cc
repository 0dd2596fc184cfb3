// The TCP listener's forwarder in cluster mode, without NATS: the subject
// token escaping (against tests/integration/nats_harness.py's stream_token),
// the bounded queue, and the forwarder with a fake Publish: validation and
// its reject reasons, order kept across retries, failures counted, a full
// queue refused and counted, SIGTERM's bounded flush.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_batch.h"
#include "cluster/cluster_forwarder.h"
#include "cluster/cluster_layout.h"
#include "cluster/forward_queue.h"
#include "daemon/support/tiny_model.h"

namespace lstmad::daemon {
namespace {

using std::chrono::milliseconds;

// Expected values printed by nats_harness.stream_token (Python), the
// reference implementation producers are pointed to.
TEST(StreamTokenTest, MatchesTheHarnessReference) {
  EXPECT_EQ(StreamToken("pump,site=s7"), "pump,site=s7");
  EXPECT_EQ(StreamToken("pump,site=north 1"), "pump,site=north%201");
  EXPECT_EQ(StreamToken("a.b*c>d e\tf"), "a%2Eb%2Ac%3Ed%20e%09f");
  EXPECT_EQ(StreamToken("x=100%,y_z-w"), "x=100%25,y_z-w");
  EXPECT_EQ(StreamToken("caf\xc3\xa9,k=\xe2\x98\x83"), "caf%C3%A9,k=%E2%98%83");
  EXPECT_EQ(StreamToken("pump,host=a\\,b=c\\ d"), "pump,host=a%5C,b=c%5C%20d");
  EXPECT_EQ(StreamToken(""), "");
}

// Every byte value, against the rule written out naively: ASCII letters,
// digits and _=,- stay; everything else is %XX in upper-case hex.
TEST(StreamTokenTest, EscapesEveryByteOutsideTheSafeSet) {
  const std::string safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_=,-";
  for (int b = 0; b < 256; ++b) {
    const std::string in(1, static_cast<char>(b));
    char hex[4];
    std::snprintf(hex, sizeof hex, "%%%02X", b);
    const std::string want = safe.find(static_cast<char>(b)) != std::string::npos ? in : std::string(hex);
    EXPECT_EQ(StreamToken(in), want) << "byte " << b;
    const std::string token = StreamToken(in);
    // A NATS token never holds these.
    for (const char c : std::string(". *>\t\r\n")) EXPECT_EQ(token.find(c), std::string::npos) << "byte " << b;
  }
}

TEST(StreamTokenTest, InputSubjectEscapesMeasurementAndKey) {
  EXPECT_EQ(InputSubject("lstmad", "pump", "pump,site=s7"), "lstmad.in.pump.pump,site=s7");
  EXPECT_EQ(InputSubject("acme.lstmad", "cpu load", "cpu\\ load,host=a.b"),
            "acme.lstmad.in.cpu%20load.cpu%5C%20load,host=a%2Eb");
}

ForwardItem Item(const std::string& payload) { return ForwardItem{"s", payload, payload}; }

TEST(ForwardQueueTest, RefusesBeyondCapacityAndKeepsTheItem) {
  ForwardQueue q(2);
  ForwardItem a = Item("a"), b = Item("b"), c = Item("c");
  EXPECT_TRUE(q.TryPush(a));
  EXPECT_TRUE(q.TryPush(b));
  EXPECT_FALSE(q.TryPush(c));
  EXPECT_EQ(c.payload, "c");  // refused items are not moved from
  EXPECT_EQ(q.size(), 2u);
  ForwardItem out;
  ASSERT_TRUE(q.Pop(&out));
  EXPECT_EQ(out.payload, "a");
  EXPECT_TRUE(q.TryPush(c));
}

TEST(ForwardQueueTest, CloseDrainsThenStopsAndRefusesPushes) {
  ForwardQueue q(4);
  ForwardItem a = Item("a"), b = Item("b");
  ASSERT_TRUE(q.TryPush(a));
  q.Close();
  EXPECT_FALSE(q.TryPush(b));
  ForwardItem out;
  ASSERT_TRUE(q.Pop(&out));
  EXPECT_EQ(out.payload, "a");
  EXPECT_FALSE(q.Pop(&out));
}

TEST(ForwardQueueTest, ConcurrentConsumerSeesFifoOrder) {
  ForwardQueue q(8);
  constexpr int kItems = 20000;
  std::vector<int> got;
  std::thread consumer([&] {
    ForwardItem out;
    while (q.Pop(&out)) got.push_back(std::stoi(out.payload));
  });
  for (int i = 0; i < kItems; ++i) {
    ForwardItem item = Item(std::to_string(i));
    while (!q.TryPush(item)) std::this_thread::yield();
  }
  q.Close();
  consumer.join();
  ASSERT_EQ(got.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i);
}

std::shared_ptr<const ModelSet> PumpModels(Metrics* metrics) { return testing::TinyModelSet(metrics); }

// A Publish that records what it stores; `fail` decides per attempt.
struct FakeNats {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ForwardItem> stored;
  std::vector<std::string> attempts;               // msg ids, every attempt
  std::vector<std::vector<std::string>> batches;   // msg ids per Publish call
  std::function<bool(const ForwardItem&, int attempt)> fail = [](const ForwardItem&, int) { return false; };
  bool hold = false;  // publishes wait while set
  std::atomic<int> entered{0};  // Publish calls begun

  ClusterForwarder::Publish Publisher() {
    return [this](const std::vector<const ForwardItem*>& items, milliseconds) {
      ++entered;
      std::unique_lock lock(mu);
      cv.wait(lock, [this] { return !hold; });
      std::vector<core::Status> out;
      batches.emplace_back();
      for (const ForwardItem* item : items) {
        int attempt = 0;
        for (const std::string& id : attempts) attempt += id == item->msg_id ? 1 : 0;
        attempts.push_back(item->msg_id);
        batches.back().push_back(item->msg_id);
        if (fail(*item, attempt)) {
          out.push_back(core::Status::Error("fake: not stored"));
        } else {
          stored.push_back(*item);
          out.push_back(core::Status::Ok());
        }
      }
      cv.notify_all();
      return out;
    };
  }
  void Release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }
  bool WaitStored(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return stored.size() >= n; });
  }
};

double Value(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class ClusterForwarderTest : public ::testing::Test {
 protected:
  // batch 1: one message per line (the unbatched path most tests cover).
  void Make(int queue = 1000, double timeout_s = 5, int batch = 1, int partitions = 8) {
    settings_.nats.emplace();
    settings_.nats->servers = {"nats://127.0.0.1:4222"};
    settings_.nats->forward_queue = queue;
    settings_.nats->forward_timeout_s = timeout_s;
    settings_.nats->batch_max_samples = batch;
    settings_.nats->partitions = partitions;
    forwarder_ = std::make_unique<ClusterForwarder>(settings_, PumpModels(&metrics_), &metrics_, nats_.Publisher(),
                                                    "i0-1");
  }
  double Metric(const std::string& series) const { return Value(metrics_.Scrape(), series); }
  double Forwarded(const std::string& result) const {
    return Metric("lstmad_cluster_forwarded_samples_total{result=\"" + result + "\"}");
  }
  // Over every series of the reason: with a measurement label when the line
  // named one, without when it did not parse that far.
  double Rejected(const std::string& reason) const {
    double sum = 0;
    for (const char* labels : {"", "measurement=\"pump\",", "measurement=\"fan\","}) {
      sum += std::max(0.0, Metric(std::string("lstmad_samples_rejected_total{") + labels + "reason=\"" + reason + "\"}"));
    }
    return sum;
  }

  config::Settings settings_;
  Metrics metrics_{"test"};
  FakeNats nats_;
  std::unique_ptr<ClusterForwarder> forwarder_;
};

TEST_F(ClusterForwarderTest, PublishesValidLinesInOrderToTheirStreamsSubjects) {
  Make();
  forwarder_->Start();
  forwarder_->HandleLine("pump,site=s1 a=1,b=2 100", "peer");
  forwarder_->HandleLine("pump,z=9,site=north\\ 1 b=2,a=1,extra=\"x\" 101  \r", "peer");
  forwarder_->HandleLine("# a comment", "peer");
  forwarder_->HandleLine("", "peer");
  forwarder_->HandleLine("pump,site=s1 a=3,b=4 102", "peer");
  ASSERT_TRUE(nats_.WaitStored(3));
  forwarder_->Stop();
  ASSERT_EQ(nats_.stored.size(), 3u);
  EXPECT_EQ(nats_.stored[0].subject, "lstmad.in.pump.pump,site=s1");
  EXPECT_EQ(nats_.stored[0].payload, "pump,site=s1 a=1,b=2 100");
  // The key as lstmad forms it (tags sorted, line-protocol escapes kept),
  // then escaped for the subject; trailing blanks trimmed from the payload.
  EXPECT_EQ(nats_.stored[1].subject, "lstmad.in.pump.pump,site=north%5C%201,z=9");
  EXPECT_EQ(nats_.stored[1].payload, "pump,z=9,site=north\\ 1 b=2,a=1,extra=\"x\" 101");
  EXPECT_EQ(nats_.stored[2].payload, "pump,site=s1 a=3,b=4 102");
  EXPECT_EQ(nats_.stored[0].msg_id, "i0-1-0");
  EXPECT_EQ(nats_.stored[2].msg_id, "i0-1-2");
  EXPECT_EQ(Forwarded("published"), 3);
  EXPECT_EQ(Forwarded("failed"), 0);
  EXPECT_EQ(Forwarded("queue_full"), 0);
  EXPECT_EQ(forwarder_->published(), 3u);
}

TEST_F(ClusterForwarderTest, LineWithoutTimestampGetsItsArrivalTimeInTheListenersPrecision) {
  settings_.ingest.precision = config::TimestampPrecision::kMilliseconds;
  Make();
  forwarder_->Start();
  const int64_t before = std::chrono::duration_cast<milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  forwarder_->HandleLine("pump,site=s1 a=1,b=2 ", "peer");
  const int64_t after = std::chrono::duration_cast<milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_TRUE(nats_.WaitStored(1));
  forwarder_->Stop();
  const std::string& payload = nats_.stored[0].payload;
  const std::string prefix = "pump,site=s1 a=1,b=2 ";
  ASSERT_EQ(payload.rfind(prefix, 0), 0u) << payload;
  const int64_t ts = std::stoll(payload.substr(prefix.size()));
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
}

TEST_F(ClusterForwarderTest, RejectsBadLinesWithTheIngestorsReasonsAndForwardsNothing) {
  Make();
  forwarder_->Start();
  forwarder_->HandleLine("pump,site=s1 a=1,b=", "peer");           // parse error
  forwarder_->HandleLine("pump,site=s1", "peer");                  // parse error: no fields
  forwarder_->HandleLine("fan,site=s1 a=1,b=2 1", "peer");         // unknown measurement
  forwarder_->HandleLine("pump,site=s1 a=1 1", "peer");            // missing b
  forwarder_->HandleLine("pump,site=s1 a=1,b=\"two\" 1", "peer");  // b is a string
  forwarder_->HandleLine("pump,site=s1 a=1e39,b=2 1", "peer");     // not a float
  forwarder_->HandleLine("pump,site=s1 a=1,b=2 1", "peer");        // good
  forwarder_->LineTooLong("peer");
  ASSERT_TRUE(nats_.WaitStored(1));
  forwarder_->Stop();
  EXPECT_EQ(nats_.stored.size(), 1u);
  EXPECT_EQ(Rejected("parse_error"), 2);
  EXPECT_EQ(Rejected("unknown_measurement"), 1);
  // The measurement a stray sender used is a label, so it can be found.
  EXPECT_EQ(Metric("lstmad_samples_rejected_total{measurement=\"fan\",reason=\"unknown_measurement\"}"), 1);
  EXPECT_EQ(Rejected("missing_field"), 2);
  EXPECT_EQ(Rejected("non_finite"), 1);
  EXPECT_EQ(Rejected("line_too_long"), 1);
  EXPECT_EQ(Forwarded("published"), 1);
}

TEST_F(ClusterForwarderTest, TimestampOutOfRangeForThePrecisionIsRejected) {
  settings_.ingest.precision = config::TimestampPrecision::kSeconds;
  Make();
  forwarder_->Start();
  forwarder_->HandleLine("pump,site=s1 a=1,b=2 9223372037", "peer");  // > int64 max ns
  forwarder_->HandleLine("pump,site=s1 a=1,b=2 9223372036", "peer");
  ASSERT_TRUE(nats_.WaitStored(1));
  forwarder_->Stop();
  EXPECT_EQ(Rejected("parse_error"), 1);
  EXPECT_EQ(nats_.stored.size(), 1u);
}

TEST_F(ClusterForwarderTest, RetriesALineWithTheSameIdBeforeTheNextOne) {
  Make();
  // The second line fails twice, then is stored.
  nats_.fail = [](const ForwardItem& item, int attempt) {
    return item.payload.find("a=2") != std::string::npos && attempt < 2;
  };
  forwarder_->Start();
  for (int i = 1; i <= 4; ++i) {
    forwarder_->HandleLine("pump,site=s1 a=" + std::to_string(i) + ",b=0 " + std::to_string(i), "peer");
  }
  ASSERT_TRUE(nats_.WaitStored(4));
  forwarder_->Stop();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(nats_.stored[i].msg_id, "i0-1-" + std::to_string(i));
  EXPECT_EQ(nats_.attempts,
            (std::vector<std::string>{"i0-1-0", "i0-1-1", "i0-1-1", "i0-1-1", "i0-1-2", "i0-1-3"}));
  EXPECT_EQ(Forwarded("published"), 4);
  EXPECT_EQ(Forwarded("failed"), 0);
}

// Queued before the thread starts, so the batches are deterministic: distinct
// streams go out together; a stream's next line waits for the next batch.
TEST_F(ClusterForwarderTest, BatchesHoldEachStreamOnceAndKeepItsOrder) {
  Make();
  const std::vector<std::string> streams = {"s1", "s2", "s1", "s3", "s1", "s2"};
  for (size_t i = 0; i < streams.size(); ++i) {
    forwarder_->HandleLine("pump,site=" + streams[i] + " a=" + std::to_string(i) + ",b=0 " + std::to_string(i), "p");
  }
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(streams.size()));
  forwarder_->Stop();
  EXPECT_EQ(nats_.batches, (std::vector<std::vector<std::string>>{
                               {"i0-1-0", "i0-1-1"}, {"i0-1-2", "i0-1-3"}, {"i0-1-4", "i0-1-5"}}));
  EXPECT_EQ(Forwarded("published"), 6);
}

TEST_F(ClusterForwarderTest, OnlyTheFailedLinesOfABatchAreRetried) {
  Make();
  nats_.fail = [](const ForwardItem& item, int attempt) { return item.msg_id == "i0-1-1" && attempt == 0; };
  for (int i = 0; i < 3; ++i) forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 1", "p");
  forwarder_->HandleLine("pump,site=s1 a=2,b=0 2", "p");  // s1's next line: after s1's retry
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(4));
  forwarder_->Stop();
  EXPECT_EQ(nats_.batches,
            (std::vector<std::vector<std::string>>{{"i0-1-0", "i0-1-1", "i0-1-2"}, {"i0-1-1"}, {"i0-1-3"}}));
  EXPECT_EQ(Forwarded("published"), 4);
  EXPECT_EQ(Forwarded("failed"), 0);
}

TEST_F(ClusterForwarderTest, ABatchIsAtMostKMaxBatchLines) {
  Make(10000);
  const size_t n = ClusterForwarder::kMaxBatch + 10;
  for (size_t i = 0; i < n; ++i) forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 1", "p");
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(n));
  forwarder_->Stop();
  ASSERT_EQ(nats_.batches.size(), 2u);
  EXPECT_EQ(nats_.batches[0].size(), ClusterForwarder::kMaxBatch);
  EXPECT_EQ(nats_.batches[1].size(), 10u);
}

TEST_F(ClusterForwarderTest, LinesGoToThePartitionTheServersMappingComputes) {
  // Expected values from a running nats-server 2.9.10 (partition(12,1,2) of
  // lstmad.in.pump.<key>), as tests/integration/test_cluster_streams.py checks.
  EXPECT_EQ(SubjectPartition("pump", "pump,site=s0", 12), 0);
  EXPECT_EQ(SubjectPartition("pump", "pump,site=s1", 12), 11);
  EXPECT_EQ(SubjectPartition("pump", "pump,site=s2", 12), 10);
  EXPECT_EQ(SubjectPartition("pump", "pump,site=s3", 12), 9);
  Make(1000, 5, 1, 12);
  for (int i = 0; i < 4; ++i) forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 1", "p");
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(4));
  forwarder_->Stop();
  std::vector<int> partitions;
  for (const ForwardItem& item : nats_.stored) partitions.push_back(item.partition);
  EXPECT_EQ(partitions, (std::vector<int>{0, 11, 10, 9}));
  EXPECT_EQ(nats_.stored[1].subject, "lstmad.in.pump.pump,site=s1");
}

TEST_F(ClusterForwarderTest, BatchesCarryAPartitionsLinesInOrderUnderAHeader) {
  // One partition: every line shares it; three lines per message at most.
  Make(1000, 5, 3, 1);
  for (int i = 0; i < 5; ++i) {
    forwarder_->HandleLine("pump,site=s" + std::to_string(i % 2) + " a=" + std::to_string(i) + ",b=0 " +
                               std::to_string(i + 1),
                           "p");
  }
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(2));
  forwarder_->Stop();
  // The partition's second message waits until the first is stored.
  EXPECT_EQ(nats_.batches, (std::vector<std::vector<std::string>>{{"i0-1-0"}, {"i0-1-3"}}));
  ASSERT_EQ(nats_.stored.size(), 2u);
  EXPECT_EQ(nats_.stored[0].subject, "lstmad.p.0.batch");
  EXPECT_EQ(nats_.stored[0].payload,
            "#lstmad-batch 3 i0-1-0\npump,site=s0 a=0,b=0 1\npump,site=s1 a=1,b=0 2\npump,site=s0 a=2,b=0 3");
  EXPECT_EQ(nats_.stored[0].samples, 3u);
  EXPECT_EQ(nats_.stored[1].payload, "#lstmad-batch 2 i0-1-3\npump,site=s1 a=3,b=0 4\npump,site=s0 a=4,b=0 5");
  EXPECT_EQ(BatchCount("#lstmad-batch 2 i0-1-3"), std::optional<uint64_t>(2));
  EXPECT_EQ(Forwarded("published"), 5);
}

TEST_F(ClusterForwarderTest, PartitionsShareARoundWithAMessageEach) {
  Make(1000, 5, 100, 12);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) {
      forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 " + std::to_string(round + 1), "p");
    }
  }
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(4));
  forwarder_->Stop();
  ASSERT_EQ(nats_.batches.size(), 1u);
  ASSERT_EQ(nats_.stored.size(), 4u);
  EXPECT_EQ(nats_.stored[1].subject, "lstmad.p.11.batch");
  EXPECT_EQ(nats_.stored[1].payload, "#lstmad-batch 2 i0-1-1\npump,site=s1 a=1,b=0 1\npump,site=s1 a=1,b=0 2");
  EXPECT_EQ(Forwarded("published"), 8);
}

TEST_F(ClusterForwarderTest, AFailedBatchIsRetriedUnchangedAndItsLinesCountedFailed) {
  Make(1000, 0.3, 100, 1);
  nats_.fail = [](const ForwardItem& item, int attempt) {
    return item.payload.find("a=9,") != std::string::npos || (item.msg_id == "i0-1-0" && attempt == 0);
  };
  forwarder_->HandleLine("pump,site=s0 a=1,b=0 1", "p");
  forwarder_->HandleLine("pump,site=s1 a=2,b=0 2", "p");
  forwarder_->Start();
  ASSERT_TRUE(nats_.WaitStored(1));
  forwarder_->HandleLine("pump,site=s0 a=9,b=0 3", "p");  // never stored
  forwarder_->Stop();
  // The retry is the same message: a stored-but-unacknowledged first try
  // is dropped by the server as a duplicate of it.
  ASSERT_GE(nats_.attempts.size(), 3u);
  EXPECT_EQ(nats_.attempts[0], "i0-1-0");
  EXPECT_EQ(nats_.attempts[1], "i0-1-0");
  ASSERT_EQ(nats_.stored.size(), 1u);
  EXPECT_EQ(nats_.stored[0].payload, "#lstmad-batch 2 i0-1-0\npump,site=s0 a=1,b=0 1\npump,site=s1 a=2,b=0 2");
  EXPECT_EQ(Forwarded("published"), 2);
  EXPECT_EQ(Forwarded("failed"), 1);
}

TEST_F(ClusterForwarderTest, ALineNeverStoredIsCountedFailedAndTheNextGoesOn) {
  Make(1000, 0.2);
  nats_.fail = [](const ForwardItem& item, int) { return item.payload.find("a=1,") != std::string::npos; };
  forwarder_->Start();
  forwarder_->HandleLine("pump,site=s1 a=1,b=0 1", "peer");
  forwarder_->HandleLine("pump,site=s1 a=2,b=0 2", "peer");
  ASSERT_TRUE(nats_.WaitStored(1));
  forwarder_->Stop();
  ASSERT_EQ(nats_.stored.size(), 1u);
  EXPECT_EQ(nats_.stored[0].payload, "pump,site=s1 a=2,b=0 2");
  EXPECT_EQ(Forwarded("failed"), 1);
  EXPECT_EQ(Forwarded("published"), 1);
  size_t attempts_of_first = 0;
  for (const std::string& id : nats_.attempts) {
    if (id == "i0-1-0") ++attempts_of_first;
  }
  EXPECT_GT(attempts_of_first, 1u);  // retried within forward_timeout
}

TEST_F(ClusterForwarderTest, AFullQueueRefusesAndCountsWithoutWaiting) {
  Make(3);
  nats_.hold = true;
  forwarder_->Start();
  // The publishing thread takes the first line and waits on the fake; three
  // more fill the queue; the remaining six are refused.
  forwarder_->HandleLine("pump,site=s1 a=0,b=0 0", "peer");
  for (int spin = 0; spin < 2000 && nats_.entered == 0; ++spin) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(nats_.entered, 1);
  EXPECT_EQ(Metric("lstmad_cluster_forward_queue_lines"), 0);
  for (int i = 1; i < 10; ++i) {
    forwarder_->HandleLine("pump,site=s1 a=" + std::to_string(i) + ",b=0 " + std::to_string(i), "peer");
  }
  EXPECT_EQ(Forwarded("queue_full"), 6);
  EXPECT_EQ(forwarder_->queue_full(), 6u);
  EXPECT_EQ(Metric("lstmad_cluster_forward_queue_lines"), 3);
  nats_.Release();
  ASSERT_TRUE(nats_.WaitStored(4));
  forwarder_->Stop();
  ASSERT_EQ(nats_.stored.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(nats_.stored[static_cast<size_t>(i)].payload,
              "pump,site=s1 a=" + std::to_string(i) + ",b=0 " + std::to_string(i));
  }
  EXPECT_EQ(Forwarded("published"), 4);
}

// The TCP listener passes a Stalled: a full queue pauses that connection
// instead of refusing, and its line goes in once the publisher made room.
TEST_F(ClusterForwarderTest, AFullQueuePausesTheConnectionUntilThereIsRoom) {
  Make(3);
  nats_.hold = true;
  forwarder_->Start();
  std::atomic<int> room_calls{0};
  LineSink::Stalled stalled;
  stalled.on_room = [&] { ++room_calls; };
  auto send = [&](int i) {
    forwarder_->HandleLine("pump,site=s1 a=" + std::to_string(i) + ",b=0 " + std::to_string(i), "peer", &stalled);
  };
  send(0);  // taken by the publishing thread, held by the fake
  for (int spin = 0; spin < 2000 && nats_.entered == 0; ++spin) std::this_thread::sleep_for(milliseconds(5));
  ASSERT_EQ(nats_.entered, 1);
  for (int i = 1; i <= 3; ++i) send(i);  // fill the queue
  EXPECT_FALSE(stalled.stalled());
  send(4);  // no room: the connection pauses, nothing is refused
  ASSERT_TRUE(stalled.stalled());
  EXPECT_FALSE(stalled.retry(false));
  EXPECT_EQ(Forwarded("queue_full"), 0);
  EXPECT_EQ(room_calls.load(), 0);
  nats_.Release();  // the publisher takes lines off the queue: room, and on_room
  for (int spin = 0; spin < 2000 && room_calls.load() == 0; ++spin) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_GE(room_calls.load(), 1);
  EXPECT_TRUE(stalled.retry(false));
  stalled.retry = nullptr;
  ASSERT_TRUE(nats_.WaitStored(5));
  forwarder_->Stop();
  ASSERT_EQ(nats_.stored.size(), 5u);
  for (int i = 0; i < 5; ++i) {  // in order, none lost
    EXPECT_EQ(nats_.stored[static_cast<size_t>(i)].payload,
              "pump,site=s1 a=" + std::to_string(i) + ",b=0 " + std::to_string(i));
  }
  EXPECT_EQ(Forwarded("published"), 5);
  EXPECT_EQ(Forwarded("queue_full"), 0);
  EXPECT_NE(metrics_.Scrape().find("lstmad_connection_pauses_total 1"), std::string::npos);
}

// At shutdown a paused line waits for room at most forward_timeout, then is
// refused and counted: a stop is never held up by a NATS that is away.
TEST_F(ClusterForwarderTest, APausedLineAtShutdownWaitsAtMostForwardTimeout) {
  Make(1, 0.2);
  nats_.hold = true;
  forwarder_->Start();
  LineSink::Stalled stalled;
  stalled.on_room = [] {};
  forwarder_->HandleLine("pump,site=s1 a=0,b=0 0", "peer", &stalled);
  for (int spin = 0; spin < 2000 && nats_.entered == 0; ++spin) std::this_thread::sleep_for(milliseconds(5));
  forwarder_->HandleLine("pump,site=s1 a=1,b=0 1", "peer", &stalled);  // fills the queue
  forwarder_->HandleLine("pump,site=s1 a=2,b=0 2", "peer", &stalled);  // pauses
  ASSERT_TRUE(stalled.stalled());
  const auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled.retry(true));  // gives up after forward_timeout
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  EXPECT_EQ(Forwarded("queue_full"), 1);
  nats_.Release();
  forwarder_->Stop();
}

TEST_F(ClusterForwarderTest, StopPublishesWhatIsQueued) {
  Make();
  nats_.hold = true;
  forwarder_->Start();
  for (int i = 0; i < 50; ++i) forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 1", "peer");
  std::thread release([&] {
    std::this_thread::sleep_for(milliseconds(50));
    nats_.Release();
  });
  forwarder_->Stop();
  release.join();
  EXPECT_EQ(nats_.stored.size(), 50u);
  EXPECT_EQ(Forwarded("published"), 50);
  // After Stop, lines are refused and counted.
  forwarder_->HandleLine("pump,site=s1 a=1,b=0 2", "peer");
  EXPECT_EQ(Forwarded("queue_full"), 1);
}

TEST_F(ClusterForwarderTest, StopGivesUpAfterForwardTimeoutAndCountsTheRestFailed) {
  Make(1000, 0.3);
  nats_.fail = [](const ForwardItem&, int) { return true; };
  forwarder_->Start();
  for (int i = 0; i < 40; ++i) forwarder_->HandleLine("pump,site=s" + std::to_string(i) + " a=1,b=0 1", "peer");
  const auto start = std::chrono::steady_clock::now();
  forwarder_->Stop();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Bounded by forward_timeout (0.3 s), not by 40 x 0.3 s: a wide margin
  // either way, for loaded machines.
  EXPECT_LT(took, 6.0);
  EXPECT_EQ(Forwarded("failed"), 40);
  EXPECT_EQ(Forwarded("published"), 0);
}

TEST_F(ClusterForwarderTest, LinesQueuedButNeverStartedAreCountedFailedAtStop) {
  Make();
  forwarder_->HandleLine("pump,site=s1 a=1,b=0 1", "peer");
  forwarder_->HandleLine("pump,site=s2 a=1,b=0 1", "peer");
  forwarder_->Stop();
  EXPECT_TRUE(nats_.stored.empty());
  EXPECT_EQ(Forwarded("failed"), 2);
  EXPECT_EQ(Metric("lstmad_cluster_forward_queue_lines"), 0);
}

}  // namespace
}  // namespace lstmad::daemon
