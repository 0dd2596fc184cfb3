// The Ingestor's time rules and assembly, without sockets: a sample older
// than its stream's newest is refused as out_of_order (a whole line at the
// newest time still passes); fields sent on separate lines give the same
// windows as whole lines; a missing field is carried forward after the
// wait (counted) or the vector dropped (counted); a gap of more than
// max_gap_intervals sampling intervals restarts the window (counted);
// Graphite-style points (HandlePoint) reach the same streams, and the
// GraphiteSink counts bad Graphite lines by reason.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/support/tiny_model.h"
#include "ingest/graphite_sink.h"
#include "ingest/ingestor.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {
namespace {

using testing::kLookback;
using testing::TinyModelSet;

// The value of the exposition's series `series` (exact labels), or -1.
double Series(const Metrics& metrics, const std::string& series) {
  const std::string text = metrics.Scrape();
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class IngestorAssemblyTest : public ::testing::Test {
 protected:
  void Start(const config::ModelSettings& model) {
    settings_.scoring.workers = 1;
    settings_.scoring.max_wait_ms = 0;
    scorer_ = std::make_unique<Scorer>(settings_.scoring, &metrics_);
    ingestor_ = std::make_unique<Ingestor>(settings_, TinyModelSet(&metrics_, 1e9, kLookback, model), scorer_.get(),
                                           &metrics_);
  }
  // The stream's snapshot (values and times of its window so far).
  StreamSnapshot Stream(const std::string& key) {
    scorer_->Drain();
    for (StreamSnapshot& s : ingestor_->Save()) {
      if (s.key == key) return s;
    }
    ADD_FAILURE() << "no stream " << key;
    return {};
  }
  double Rejected(const std::string& reason) {
    return Series(metrics_, "lstmad_samples_rejected_total{measurement=\"pump\",reason=\"" + reason + "\"}");
  }

  config::Settings settings_;
  Metrics metrics_{"test"};
  std::unique_ptr<Scorer> scorer_;
  std::unique_ptr<Ingestor> ingestor_;
};

config::ModelSettings Assembly(double wait_s, int carry_forward) {
  config::ModelSettings m;
  m.assembly.enabled = true;
  m.assembly.wait_s = wait_s;
  m.assembly.carry_forward = carry_forward;
  return m;
}

TEST_F(IngestorAssemblyTest, RefusesSamplesOlderThanTheStreamsNewest) {
  Start({});
  ingestor_->HandleLine("pump,id=1 a=1,b=1 1000", "test");
  ingestor_->HandleLine("pump,id=1 a=2,b=2 1002", "test");
  ingestor_->HandleLine("pump,id=1 a=3,b=3 1001", "test");  // older: refused
  ingestor_->HandleLine("pump,id=1 a=4,b=4 1002", "test");  // the same time: a whole line passes
  ingestor_->HandleLine("pump,id=2 a=5,b=5 1", "test");     // another stream has its own order
  EXPECT_EQ(Rejected("out_of_order"), 1);
  EXPECT_EQ(ingestor_->samples_received(), 4u);
  const StreamSnapshot s = Stream("pump,id=1");
  EXPECT_EQ(s.samples, 3);
  EXPECT_EQ(s.times_ns, (std::vector<int64_t>{1000, 1002, 1002}));
}

TEST_F(IngestorAssemblyTest, WithoutAssemblyALineMissingAFieldIsRefusedAsBefore) {
  Start({});
  ingestor_->HandleLine("pump,id=1 a=1 1000", "test");
  EXPECT_EQ(Rejected("missing_field"), 1);
  EXPECT_EQ(ingestor_->stream_count(), 0u);
}

TEST_F(IngestorAssemblyTest, FieldsOnSeparateLinesGiveTheWindowsOfWholeLines) {
  Start(Assembly(60, 3));
  for (int i = 0; i < 2 * kLookback; ++i) {
    const std::string t = " " + std::to_string(1000 + i);
    ingestor_->HandleLine("pump,id=whole a=" + std::to_string(i) + ",b=" + std::to_string(10 * i) + t, "test");
    ingestor_->HandleLine("pump,id=split b=" + std::to_string(10 * i) + t, "test");
    ingestor_->HandleLine("pump,id=split a=" + std::to_string(i) + t, "test");
  }
  scorer_->Drain();
  EXPECT_EQ(scorer_->windows_scored(), 2u * (kLookback + 1));
  const StreamSnapshot whole = Stream("pump,id=whole"), split = Stream("pump,id=split");
  EXPECT_EQ(split.samples, whole.samples);
  EXPECT_EQ(split.values, whole.values);
  EXPECT_EQ(split.times_ns, whole.times_ns);
  EXPECT_EQ(ingestor_->samples_received(), 3u * 2 * kLookback);  // every line counts
  // A piece for a vector already complete is refused.
  ingestor_->HandleLine("pump,id=split a=9 1005", "test");
  EXPECT_EQ(Rejected("out_of_order"), 1);
}

TEST_F(IngestorAssemblyTest, CarriesAMissingFieldAfterTheWaitThenDropsCounted) {
  Start(Assembly(0.5, 1));
  ingestor_->HandleLine("pump,id=1 a=1,b=2 1000", "test");
  ingestor_->HandleLine("pump,id=1 a=3 1001", "test");
  ingestor_->HandleLine("pump,id=1 a=4 1002", "test");
  EXPECT_EQ(ingestor_->ExpireAssembly(0), 2u);  // nothing waited long enough
  const int64_t later = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            (std::chrono::steady_clock::now() + std::chrono::seconds(1)).time_since_epoch())
                            .count();
  EXPECT_EQ(ingestor_->ExpireAssembly(later), 0u);
  const StreamSnapshot s = Stream("pump,id=1");
  EXPECT_EQ(s.samples, 2);  // 1001 carried b=2; 1002 would carry it twice
  EXPECT_EQ(s.values, (std::vector<float>{1, 2, 3, 2, 0, 0}));
  EXPECT_EQ(Series(metrics_, "lstmad_values_carried_forward_total{model=\"pump\"}"), 1);
  EXPECT_EQ(Series(metrics_, "lstmad_vectors_dropped_total{model=\"pump\",reason=\"incomplete\"}"), 1);
}

TEST_F(IngestorAssemblyTest, AGapOfManyIntervalsRestartsTheWindow) {
  config::ModelSettings model;
  model.max_gap_intervals = 5;
  Start(model);
  for (int t : {1000, 1010, 1020, 1030, 1080}) {  // 50 = 5 intervals: joined
    ingestor_->HandleLine("pump,id=1 a=1,b=1 " + std::to_string(t), "test");
  }
  EXPECT_EQ(Series(metrics_, "lstmad_window_restarts_total{model=\"pump\",reason=\"gap\"}"), 0);
  ingestor_->HandleLine("pump,id=1 a=1,b=1 1131", "test");  // 51 > 5 x 10: restarted
  EXPECT_EQ(Series(metrics_, "lstmad_window_restarts_total{model=\"pump\",reason=\"gap\"}"), 1);
  StreamSnapshot s = Stream("pump,id=1");
  EXPECT_EQ(s.samples, 1);
  EXPECT_EQ(s.times_ns[0], 1131);
  const uint64_t scored = scorer_->windows_scored();
  ingestor_->HandleLine("pump,id=1 a=1,b=1 1141", "test");
  ingestor_->HandleLine("pump,id=1 a=1,b=1 1151", "test");  // a full window again, of after the gap only
  scorer_->Drain();
  EXPECT_EQ(scorer_->windows_scored(), scored + 1);
  s = Stream("pump,id=1");
  EXPECT_EQ(s.times_ns, (std::vector<int64_t>{1131, 1141, 1151}));
}

TEST_F(IngestorAssemblyTest, PointsOfOtherInputsAssembleWithLines) {
  Start(Assembly(60, 3));
  ParsedLine point;
  point.measurement = "pump";
  point.tags = {{"id", "g"}};
  point.tag_count = 1;
  point.fields = {{"b", FieldValue{FieldValue::Kind::kFloat, 7.0, {}}}};
  point.field_count = 1;
  ingestor_->HandlePoint(point, int64_t{5'000'000'000}, "pump.g.b 7 5", "test");
  ingestor_->HandleLine("pump,id=g a=6 5000000000", "test");
  const StreamSnapshot s = Stream("pump,id=g");
  EXPECT_EQ(s.samples, 1);
  EXPECT_EQ(s.values[0], 6.0f);
  EXPECT_EQ(s.values[1], 7.0f);
  point.measurement = "pumpx";
  ingestor_->HandlePoint(point, std::nullopt, "pumpx.g.b 7", "test");
  EXPECT_EQ(Series(metrics_, "lstmad_samples_rejected_total{measurement=\"pumpx\",reason=\"unknown_measurement\"}"), 1);
}

TEST_F(IngestorAssemblyTest, GraphiteLinesAssembleAndBadOnesAreCountedByReason) {
  Start(Assembly(60, 3));
  auto templates = GraphiteTemplates::Compile({"pump.* measurement.id.field"}, ".");
  ASSERT_TRUE(templates.ok());
  GraphiteSink sink(ingestor_.get(), &metrics_, std::move(templates).value(), 1024);
  sink.HandleLine("pump.g.a 1 100", "test");
  sink.HandleLine("pump.g.b 2 100\r", "test");
  StreamSnapshot s = Stream("pump,id=g");
  EXPECT_EQ(s.samples, 1);
  EXPECT_EQ(s.values[0], 1.0f);
  EXPECT_EQ(s.values[1], 2.0f);
  EXPECT_EQ(s.times_ns[0], 100'000'000'000);
  sink.HandleLine("pump.g.a x 101", "test");
  sink.HandleLine("pump..a 1 101", "test");
  sink.HandleLine("pump.g.c 1 101", "test");
  sink.HandleLine("other.x 1 101", "test");
  sink.HandleLine("pump.g.a nan 101", "test");
  sink.HandleLine("pump.g.a 1 99", "test");
  sink.HandleLine("pump\xe2\x80\xae.g.a 1 101", "test");
  sink.HandleLine("", "test");
  EXPECT_EQ(Series(metrics_, "lstmad_samples_rejected_total{reason=\"parse_error\"}"), 2);
  EXPECT_EQ(Series(metrics_, "lstmad_samples_rejected_total{reason=\"format_control\"}"), 1);
  EXPECT_EQ(Rejected("missing_field"), 1);
  EXPECT_EQ(Rejected("non_finite"), 1);
  EXPECT_EQ(Rejected("out_of_order"), 1);
  EXPECT_EQ(Series(metrics_,
                   "lstmad_samples_rejected_total{measurement=\"other.x\",reason=\"unknown_measurement\"}"),
            1);
  EXPECT_EQ(ingestor_->samples_received(), 2u);
  s = Stream("pump,id=g");
  EXPECT_EQ(s.samples, 1);  // nothing else reached the stream
}

}  // namespace
}  // namespace lstmad::daemon
