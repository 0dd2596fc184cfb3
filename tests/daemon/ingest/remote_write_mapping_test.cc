// RemoteWriteMapping (selectors, stream grouping, line format),
// FeatureVectorBuffer (alignment across requests, bounds) and
// RemoteWriteReceiver (statuses, counters, back-pressure) with exact values.
#include "ingest/remote_write_mapping.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/remote_write_receiver.h"
#include "lstmad/config/settings.h"
#include "obs/metrics.h"
#include "remote/write_request.h"

namespace lstmad::daemon {
namespace {

using remote::Label;

config::SeriesSelector Selector(std::string metric, std::vector<config::LabelMatcher> matchers = {}) {
  config::SeriesSelector s;
  s.metric = std::move(metric);
  s.matchers = std::move(matchers);
  return s;
}

// Model "node" (measurement node): load <- node_load1, mem <- node_mem{kind="free"}.
RemoteWriteMapping NodeMapping(std::vector<std::string> stream_labels = {}) {
  RemoteWriteModel model;
  model.measurement = "node";
  model.features = {"load", "mem"};
  model.selection.features = {{"load", Selector("node_load1")},
                              {"mem", Selector("node_mem", {{"kind", "free", true}})}};
  model.selection.stream_labels = std::move(stream_labels);
  auto built = RemoteWriteMapping::Build({"node"}, {model});
  EXPECT_TRUE(built.ok()) << built.status().message();
  return std::move(built).value();
}

std::vector<Label> Labels(std::vector<std::pair<std::string, std::string>> pairs) {
  std::vector<Label> out;
  for (auto& [n, v] : pairs) out.push_back(Label{n, v});
  return out;
}

TEST(RemoteWriteMapping, SelectsByNameAndMatchersAndGroupsByTheOtherLabels) {
  const RemoteWriteMapping mapping = NodeMapping();
  std::vector<SeriesTarget> targets;
  mapping.Match(Labels({{"__name__", "node_load1"}, {"instance", "a:9100"}, {"job", "node"}}), &targets);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].model, 0u);
  EXPECT_EQ(targets[0].feature, 0u);
  EXPECT_EQ(targets[0].stream, "node,instance=a:9100,job=node");
  // kind="free" is fixed by the selector: not part of the stream's name.
  mapping.Match(Labels({{"__name__", "node_mem"}, {"instance", "a:9100"}, {"job", "node"}, {"kind", "free"}}),
                &targets);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].feature, 1u);
  EXPECT_EQ(targets[0].stream, "node,instance=a:9100,job=node");
  mapping.Match(Labels({{"__name__", "node_mem"}, {"instance", "a:9100"}, {"kind", "used"}}), &targets);
  EXPECT_TRUE(targets.empty());
  mapping.Match(Labels({{"__name__", "node_mem"}, {"instance", "a:9100"}}), &targets);
  EXPECT_TRUE(targets.empty()) << "a missing label matches as the empty value";
  mapping.Match(Labels({{"__name__", "other"}, {"instance", "a:9100"}}), &targets);
  EXPECT_TRUE(targets.empty());
  mapping.Match(Labels({{"instance", "a:9100"}}), &targets);
  EXPECT_TRUE(targets.empty());
}

TEST(RemoteWriteMapping, NotEqualMatcherAndEscapingAndEmptyValues) {
  RemoteWriteModel model;
  model.measurement = "m x,y";
  model.features = {"f=1"};
  model.selection.features = {{"f=1", Selector("up", {{"job", "skip", false}})}};
  auto mapping = RemoteWriteMapping::Build({"m"}, {model});
  ASSERT_TRUE(mapping.ok());
  std::vector<SeriesTarget> targets;
  mapping->Match(Labels({{"__name__", "up"}, {"job", "skip"}}), &targets);
  EXPECT_TRUE(targets.empty());
  mapping->Match(Labels({{"__name__", "up"}, {"z", "a b,c=d"}, {"empty", ""}, {"job", "j"}}), &targets);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].stream, "m\\ x\\,y,job=j,z=a\\ b\\,c\\=d");
  EXPECT_EQ(mapping->FormatLine(targets[0], {2.5}, 1700000000123, 1'000'000),
            "m\\ x\\,y,job=j,z=a\\ b\\,c\\=d f\\=1=2.5 1700000000123");
}

TEST(RemoteWriteMapping, RefusesSeriesWithLabelNamesPrometheusWouldNot) {
  const RemoteWriteMapping mapping = NodeMapping();
  std::vector<SeriesTarget> targets{SeriesTarget{}};
  EXPECT_FALSE(mapping.Match(Labels({{"__name__", "node_load1"}, {"", "x"}}), &targets));
  EXPECT_TRUE(targets.empty());
  EXPECT_FALSE(mapping.Match(Labels({{"__name__", "node_load1"}, {"a b", "x"}}), &targets));
  EXPECT_FALSE(mapping.Match(Labels({{"__name__", "node_load1"}, {"1a", "x"}}), &targets));
  EXPECT_TRUE(mapping.Match(Labels({{"__name__", "node_load1"}, {"_a1", "x"}}), &targets));
  EXPECT_EQ(targets.size(), 1u);
}

TEST(RemoteWriteMapping, StreamLabelsPickTheStreamsName) {
  const RemoteWriteMapping mapping = NodeMapping({"instance"});
  std::vector<SeriesTarget> targets;
  mapping.Match(Labels({{"__name__", "node_load1"}, {"instance", "b"}, {"job", "node"}}), &targets);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].stream, "node,instance=b");
}

TEST(RemoteWriteMapping, FormatsTimestampsInTheListenersUnit) {
  const RemoteWriteMapping mapping = NodeMapping();
  const SeriesTarget stream{0, 0, "node,instance=a"};
  EXPECT_EQ(mapping.FormatLine(stream, {1, 0.1}, 1500, 1), "node,instance=a load=1,mem=0.1 1500000000");
  EXPECT_EQ(mapping.FormatLine(stream, {1, 0.1}, 1500, 1000), "node,instance=a load=1,mem=0.1 1500000");
  EXPECT_EQ(mapping.FormatLine(stream, {1, 0.1}, 1500, 1'000'000'000), "node,instance=a load=1,mem=0.1 1");
  EXPECT_EQ(mapping.FormatLine(stream, {-1e300, 3}, -1500, 1'000'000'000),
            "node,instance=a load=-1e+300,mem=3 -2");
}

TEST(RemoteWriteMapping, BuildRefusesUnknownAndUnmappedFeatures) {
  RemoteWriteModel model;
  model.measurement = "node";
  model.features = {"load", "mem"};
  model.selection.features = {{"load", Selector("node_load1")}, {"swap", Selector("node_swap")}};
  auto built = RemoteWriteMapping::Build({"node"}, {model});
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().message(),
            "models[node].remote_write.features: \"swap\" is not a feature of model node");
  model.selection.features = {{"load", Selector("node_load1")}};
  built = RemoteWriteMapping::Build({"node"}, {model});
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().message(),
            "models[node].remote_write.features: model node's feature \"mem\" has no selector");
}

SeriesTarget Target(uint32_t feature, std::string stream = "node,instance=a") {
  return SeriesTarget{0, feature, std::move(stream)};
}

TEST(FeatureVectorBuffer, AlignsFeaturesOfOneTimestampAcrossCalls) {
  FeatureVectorBuffer buffer({8, 60'000, 100});
  FeatureVectorBuffer::Outcome first, second;
  buffer.Add(Target(0), 2, 1000, 1.5, 0, &first);
  buffer.Add(Target(0), 2, 2000, 2.5, 0, &first);
  EXPECT_TRUE(first.ready.empty());
  EXPECT_EQ(buffer.pending_samples(), 2u);
  // The other feature arrives in a later request.
  buffer.Add(Target(1), 2, 1000, 10, 0, &second);
  buffer.Add(Target(1), 2, 2000, 20, 0, &second);
  ASSERT_EQ(second.ready.size(), 2u);
  EXPECT_EQ(second.ready[0].timestamp_ms, 1000);
  EXPECT_EQ(second.ready[0].values, (std::vector<double>{1.5, 10}));
  EXPECT_EQ(second.ready[0].stream, "node,instance=a");
  EXPECT_EQ(second.ready[1].timestamp_ms, 2000);
  EXPECT_EQ(second.ready[1].values, (std::vector<double>{2.5, 20}));
  EXPECT_EQ(second.accepted, 4u);
  EXPECT_EQ(buffer.pending_samples(), 0u);
}

TEST(FeatureVectorBuffer, StreamsAreSeparate) {
  FeatureVectorBuffer buffer({8, 60'000, 100});
  FeatureVectorBuffer::Outcome out;
  buffer.Add(Target(0, "node,instance=a"), 2, 1000, 1, 0, &out);
  buffer.Add(Target(1, "node,instance=b"), 2, 1000, 2, 0, &out);
  EXPECT_TRUE(out.ready.empty());
  EXPECT_EQ(buffer.streams(), 2u);
}

TEST(FeatureVectorBuffer, NewerCompleteVectorGivesUpOlderIncompleteOnes) {
  FeatureVectorBuffer buffer({8, 60'000, 100});
  FeatureVectorBuffer::Outcome out;
  buffer.Add(Target(0), 2, 1000, 1, 0, &out);
  buffer.Add(Target(0), 2, 2000, 2, 0, &out);
  buffer.Add(Target(1), 2, 2000, 3, 0, &out);
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(out.ready[0].timestamp_ms, 2000);
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kIncomplete)], 1u);
  // The late feature of 1000 is now too old, and so is 2000's again.
  FeatureVectorBuffer::Outcome late;
  buffer.Add(Target(1), 2, 1000, 4, 0, &late);
  buffer.Add(Target(1), 2, 2000, 4, 0, &late);
  EXPECT_EQ(late.dropped[static_cast<size_t>(SampleDrop::kOld)], 2u);
  EXPECT_EQ(buffer.pending_samples(), 0u);
}

TEST(FeatureVectorBuffer, AtMostMaxPendingTimestampsPerStream) {
  FeatureVectorBuffer buffer({3, 1'000'000, 100});
  FeatureVectorBuffer::Outcome out;
  for (int t = 1; t <= 5; ++t) buffer.Add(Target(0), 2, t * 1000, t, 0, &out);
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kIncomplete)], 2u);  // 1000 and 2000
  EXPECT_EQ(buffer.pending_samples(), 3u);
  buffer.Add(Target(1), 2, 3000, 30, 0, &out);
  ASSERT_EQ(out.ready.size(), 1u);
  EXPECT_EQ(out.ready[0].timestamp_ms, 3000);
  EXPECT_EQ(out.ready[0].values, (std::vector<double>{3, 30}));
}

TEST(FeatureVectorBuffer, IncompleteVectorsOlderThanMaxDelayAreGivenUp) {
  FeatureVectorBuffer buffer({8, 10'000, 100});
  FeatureVectorBuffer::Outcome out;
  buffer.Add(Target(0), 2, 1000, 1, 0, &out);
  buffer.Add(Target(0), 2, 11000, 2, 0, &out);  // exactly max_delay later: kept
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kIncomplete)], 0u);
  buffer.Add(Target(0), 2, 11001, 3, 0, &out);  // now 1000 is more than 10 s behind
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kIncomplete)], 1u);
  EXPECT_EQ(buffer.pending_samples(), 2u);
}

TEST(FeatureVectorBuffer, DuplicatesTooManyStreamsAndSweep) {
  FeatureVectorBuffer buffer({8, 60'000, 1});
  FeatureVectorBuffer::Outcome out;
  buffer.Add(Target(0, "node,instance=a"), 2, 1000, 1, 5, &out);
  buffer.Add(Target(0, "node,instance=a"), 2, 1000, 9, 5, &out);
  buffer.Add(Target(0, "node,instance=b"), 2, 1000, 1, 5, &out);
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kDuplicate)], 1u);
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kTooManyStreams)], 1u);
  FeatureVectorBuffer::Outcome swept;
  buffer.Sweep(5, &swept);  // seen at 5: not before the cutoff
  EXPECT_EQ(buffer.streams(), 1u);
  buffer.Sweep(6, &swept);
  EXPECT_EQ(buffer.streams(), 0u);
  EXPECT_EQ(swept.dropped[static_cast<size_t>(SampleDrop::kIncomplete)], 1u);
  EXPECT_EQ(buffer.pending_samples(), 0u);
}

TEST(FeatureVectorBuffer, ExtremeTimestampsDoNotOverflow) {
  FeatureVectorBuffer buffer({8, 60'000, 10});
  FeatureVectorBuffer::Outcome out;
  buffer.Add(Target(0), 2, std::numeric_limits<int64_t>::min() + 1, 1, 0, &out);
  buffer.Add(Target(1), 2, std::numeric_limits<int64_t>::min() + 1, 2, 0, &out);
  buffer.Add(Target(0), 2, std::numeric_limits<int64_t>::max(), 1, 0, &out);
  buffer.Add(Target(1), 2, std::numeric_limits<int64_t>::max(), 2, 0, &out);
  EXPECT_EQ(out.ready.size(), 2u);
  buffer.Add(Target(1), 2, std::numeric_limits<int64_t>::min(), 2, 0, &out);
  EXPECT_EQ(out.dropped[static_cast<size_t>(SampleDrop::kOld)], 1u);
}

// The receiver: a sink that records lines, and room on demand.
class RecordingLineSink : public LineSink {
 public:
  void HandleLine(std::string_view line, const std::string&, Stalled* stalled) override {
    if (full && stalled != nullptr) {
      last_stalled = stalled;
      // As the Ingestor does under scoring.overflow: block: hold the work.
      std::string held(line);
      stalled->retry = [this, held](bool wait) {
        if (full && !wait) return false;
        lines.push_back(held);
        return true;
      };
      return;
    }
    lines.emplace_back(line);
  }
  void LineTooLong(const std::string&) override {}
  // The queue has room again: as the Scorer, say so to the holder.
  void Room() {
    full = false;
    if (last_stalled != nullptr) last_stalled->on_room();
  }
  std::vector<std::string> lines;
  bool full = false;
  Stalled* last_stalled = nullptr;
};

config::Settings ReceiverSettings() {
  config::Settings s;
  s.ingest.precision = config::TimestampPrecision::kMilliseconds;
  s.remote_write.max_series_per_request = 4;
  s.remote_write.max_uncompressed_bytes = 4096;
  return s;
}

remote::Series NodeSeries(std::string metric, std::string instance, std::vector<remote::Sample> samples,
                          std::string kind = "") {
  remote::Series s;
  s.labels = {Label{"__name__", std::move(metric)}, Label{"instance", std::move(instance)}};
  if (!kind.empty()) s.labels.push_back(Label{"kind", std::move(kind)});
  s.samples = std::move(samples);
  return s;
}

double Value(const Metrics& metrics, const std::string& series) {
  const std::string text = metrics.Scrape();
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class ReceiverTest : public ::testing::Test {
 protected:
  ReceiverTest()
      : receiver(
            &sink, &metrics, [this](std::function<void()> fn) { posted.push_back(std::move(fn)); },
            [] { return int64_t{1000}; }) {
    receiver.Configure(ReceiverSettings(), NodeMapping());
  }
  RemoteWriteReceiver::Reply Post(const std::vector<remote::Series>& series) {
    RemoteWriteReceiver::Request r;
    r.content_encoding = "snappy";
    r.content_type = "application/x-protobuf";
    r.version = "0.1.0";
    const std::string body = remote::EncodeWriteRequest(series);
    r.body = body;
    r.peer = "127.0.0.1";
    return receiver.Handle(r);
  }
  RecordingLineSink sink;
  Metrics metrics{"test"};
  std::vector<std::function<void()>> posted;
  RemoteWriteReceiver receiver;
};

TEST_F(ReceiverTest, CompleteVectorsBecomeLinesAndSamplesAreCountedByReason) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double stale = 0;
  const uint64_t bits = remote::kStaleNaNBits;
  std::memcpy(&stale, &bits, sizeof stale);
  auto reply = Post({NodeSeries("node_load1", "a", {{0.5, 1000}, {nan, 2000}, {0.7, 3000}}),
                     NodeSeries("node_mem", "a", {{100, 1000}, {200, 2000}, {stale, 3000}}, "free"),
                     NodeSeries("node_cpu", "a", {{1, 1000}, {2, 2000}})});
  EXPECT_EQ(reply.status, 204);
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"node,instance=a load=0.5,mem=100 1000"}));
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="accepted",reason="complete"})"), 2);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="dropped",reason="unselected"})"), 2);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="dropped",reason="nan"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="dropped",reason="stale"})"), 1);
  EXPECT_EQ(Value(metrics, "lstmad_remote_write_pending_samples"), 2);  // mem@2000, load@3000
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="204",reason="stored"})"), 1);
  // The missing halves arrive in the next request.
  reply = Post({NodeSeries("node_mem", "a", {{300, 3000}}, "free")});
  EXPECT_EQ(reply.status, 204);
  ASSERT_EQ(sink.lines.size(), 2u);
  EXPECT_EQ(sink.lines[1], "node,instance=a load=0.7,mem=300 3000");
  // 2000 lacked load (NaN) and was given up when 3000 completed.
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="dropped",reason="incomplete"})"), 1);
}

TEST_F(ReceiverTest, ARequestsSamplesAreAssembledInTimeOrderNotSeriesOrder) {
  // Twelve samples of one feature's series, then the other's: more than
  // max_pending_timestamps (8) vectors would be incomplete in series order.
  std::vector<remote::Sample> load, mem;
  for (int i = 1; i <= 12; ++i) {
    load.push_back({static_cast<double>(i), i * 1000});
    mem.push_back({static_cast<double>(10 * i), i * 1000});
  }
  EXPECT_EQ(Post({NodeSeries("node_load1", "a", load), NodeSeries("node_mem", "a", mem, "free")}).status,
            204);
  ASSERT_EQ(sink.lines.size(), 12u);
  EXPECT_EQ(sink.lines[0], "node,instance=a load=1,mem=10 1000");
  EXPECT_EQ(sink.lines[11], "node,instance=a load=12,mem=120 12000");
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_samples_total{outcome="dropped",reason="incomplete"})"), 0);
}

TEST_F(ReceiverTest, RefusalsNameTheirReasonAndKeepState) {
  RemoteWriteReceiver::Request r;
  r.peer = "127.0.0.1";
  r.body = "\xff\xff\xff\xff\xff\xff";
  EXPECT_EQ(receiver.Handle(r).status, 400);
  // Snappy blocks made by hand: the length, one literal: a field 1 of 5
  // bytes with none following (no WriteRequest); then a block claiming
  // 5000 bytes, over max_uncompressed_bytes=4096.
  r.body = std::string_view("\x02\x04\x0a\x05", 4);
  EXPECT_EQ(receiver.Handle(r).status, 400);
  r.body = std::string_view("\x88\x27\x04\x0a\x05", 5);
  EXPECT_EQ(receiver.Handle(r).status, 413);
  const std::string empty = remote::EncodeWriteRequest({});  // valid, no series: 204
  r.body = empty;
  EXPECT_EQ(receiver.Handle(r).status, 204);
  std::vector<remote::Series> many(5, NodeSeries("node_load1", "a", {{1, 1000}}));
  EXPECT_EQ(Post(many).status, 413);
  r.content_encoding = "gzip";
  EXPECT_EQ(receiver.Handle(r).status, 415);
  r.content_encoding = "snappy";
  r.content_type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
  EXPECT_EQ(receiver.Handle(r).status, 415);
  r.content_type = "application/x-protobuf";
  r.version = "2.0.0";
  EXPECT_EQ(receiver.Handle(r).status, 415);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="400",reason="snappy"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="400",reason="protobuf"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="413",reason="too_large"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="413",reason="too_many_series"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="415",reason="content_encoding"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="415",reason="content_type"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="415",reason="version"})"), 1);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="204",reason="stored"})"), 1);
  EXPECT_TRUE(sink.lines.empty());
}

TEST_F(ReceiverTest, FullQueueHoldsTheRestAndAnswers503UntilDrained) {
  sink.full = true;
  auto reply = Post({NodeSeries("node_load1", "a", {{1, 1000}, {2, 2000}}),
                     NodeSeries("node_mem", "a", {{10, 1000}, {20, 2000}}, "free")});
  EXPECT_EQ(reply.status, 204);  // taken: one line held by the sink, one by the receiver
  EXPECT_TRUE(sink.lines.empty());
  EXPECT_EQ(receiver.held_lines(), 1u);
  reply = Post({NodeSeries("node_load1", "a", {{3, 3000}})});
  EXPECT_EQ(reply.status, 503);
  EXPECT_TRUE(reply.retry_after);
  EXPECT_EQ(Value(metrics, R"(lstmad_remote_write_requests_total{code="503",reason="busy"})"), 1);
  sink.lines.clear();
  // The room notice, posted to the io thread, drains what was held, in order.
  sink.Room();
  ASSERT_EQ(posted.size(), 1u);
  posted[0]();
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"node,instance=a load=1,mem=10 1000",
                                                  "node,instance=a load=2,mem=20 2000"}));
  EXPECT_EQ(receiver.held_lines(), 0u);
  EXPECT_EQ(Post({NodeSeries("node_load1", "a", {{3, 3000}})}).status, 204);
}

}  // namespace
}  // namespace lstmad::daemon
