// StreamSeries against prometheus-cpp's own Family: the same additions,
// values and removals give the same text exposition (names, HELP, TYPE,
// series order, labels, values; no family once empty), so moving the
// per-stream series out of the registry changed nothing a scraper sees.
#include "obs/stream_series.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace lstmad::daemon {
namespace {

// The reference: the four families as Metrics registered them before.
struct Reference {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Gauge>& error =
      prometheus::BuildGauge()
          .Name("lstmad_stream_reconstruction_error")
          .Help("Reconstruction error of the stream's latest window (scaled units).")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& anomalous =
      prometheus::BuildGauge()
          .Name("lstmad_stream_anomalous")
          .Help("1 while the stream's alert is firing, else 0.")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& score =
      prometheus::BuildGauge()
          .Name("lstmad_stream_anomaly_score")
          .Help(
              "Anomaly score of the stream's latest window in [0, 1]: at or above "
              "0.5 when a new excursion starts there (docs/detection.md).")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& anomalies = prometheus::BuildCounter()
                                                           .Name("lstmad_stream_anomalies_total")
                                                           .Help("Times the stream's alert fired.")
                                                           .Register(registry);
};

std::string Text(std::vector<prometheus::MetricFamily> families) {
  std::stable_sort(families.begin(), families.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

prometheus::Labels StreamLabels(int model, int stream) {
  return {{"model", "m" + std::to_string(model)},
          {"stream", "m" + std::to_string(model) + ",s=" + std::to_string(stream)}};
}

TEST(StreamSeriesTest, ExportsWhatPrometheusFamiliesExportThroughAddsAndRemoves) {
  Reference ref;
  StreamSeries ours;
  EXPECT_EQ(Text(ours.Collect()), Text(ref.registry.Collect()));  // both empty: no family at all
  std::mt19937 rng(5);
  std::vector<prometheus::Labels> live;
  for (int step = 0; step < 3000; ++step) {
    if (!live.empty() && rng() % 3 == 0) {
      const size_t i = rng() % live.size();
      const prometheus::Labels labels = live[i];
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      // The reference removes by handle, which Add returns for existing labels.
      ref.error.Remove(&ref.error.Add(labels));
      ref.anomalous.Remove(&ref.anomalous.Add(labels));
      ref.anomalies.Remove(&ref.anomalies.Add(labels));
      if (labels.at("model") != "m2") ref.score.Remove(&ref.score.Add(labels));
      ours.Remove(labels);
      continue;
    }
    const int model = static_cast<int>(rng() % 3);
    const prometheus::Labels labels = StreamLabels(model, static_cast<int>(rng() % 500));
    const bool score = model != 2;  // one model without the anomaly score
    const StreamSeries::Handles h = ours.Add(labels, score);
    const double value = static_cast<double>(step) / 7;
    h.reconstruction_error->Set(value);
    ref.error.Add(labels).Set(value);
    h.anomalous->Set(step % 2);
    ref.anomalous.Add(labels).Set(step % 2);
    h.anomalies->Increment();
    ref.anomalies.Add(labels).Increment();
    if (score) {
      h.anomaly_score->Set(value / 1000);
      ref.score.Add(labels).Set(value / 1000);
    } else {
      EXPECT_EQ(h.anomaly_score, nullptr);
    }
    if (std::find(live.begin(), live.end(), labels) == live.end()) live.push_back(labels);
    if (step % 500 == 0) {
      ASSERT_EQ(Text(ours.Collect()), Text(ref.registry.Collect())) << "step " << step;
    }
  }
  EXPECT_EQ(Text(ours.Collect()), Text(ref.registry.Collect()));
  for (const prometheus::Labels& labels : live) ours.Remove(labels);
  EXPECT_TRUE(ours.Collect().empty());
}

TEST(StreamSeriesTest, AddReturnsTheExistingSeries) {
  StreamSeries series;
  const StreamSeries::Handles first = series.Add(StreamLabels(0, 1), true);
  first.anomalies->Increment();
  const StreamSeries::Handles again = series.Add(StreamLabels(0, 1), true);
  EXPECT_EQ(again.anomalies, first.anomalies);
  EXPECT_EQ(again.anomalies->Value(), 1.0);
  series.Remove(StreamLabels(0, 1));
  EXPECT_EQ(series.Add(StreamLabels(0, 1), true).anomalies->Value(), 0.0);
}

TEST(StreamSeriesTest, FeatureSeriesComeAndGoWithTheirStream) {
  StreamSeries series;
  std::vector<prometheus::Labels> features;
  for (const char* f : {"flow", "temp"}) {
    prometheus::Labels labels = StreamLabels(0, 1);
    labels["feature"] = f;
    features.push_back(labels);
  }
  StreamSeries::FeatureKinds kinds;
  kinds.expected = kinds.band = true;
  const StreamSeries::Handles h = series.Add(StreamLabels(0, 1), false, features, kinds);
  ASSERT_EQ(h.features.size(), 2u);
  EXPECT_EQ(h.features[0].observed, nullptr);
  EXPECT_EQ(h.features[0].error_share, nullptr);
  h.features[1].expected->Set(2.5);
  h.features[1].expected_lower->Set(2);
  h.features[1].expected_upper->Set(3);
  series.Add(StreamLabels(0, 2), false);  // another stream, without feature series
  const std::string text = Text(series.Collect());
  const std::string labels = "{feature=\"temp\",model=\"m0\",stream=\"m0,s=1\"}";
  EXPECT_NE(text.find("lstmad_stream_feature_expected" + labels + " 2.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lstmad_stream_feature_expected_lower" + labels + " 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lstmad_stream_feature_expected_upper" + labels + " 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE lstmad_stream_feature_expected gauge"), std::string::npos);
  EXPECT_EQ(text.find("lstmad_stream_feature_observed"), std::string::npos);
  EXPECT_EQ(text.find("lstmad_stream_feature_error_share"), std::string::npos);
  series.Remove(StreamLabels(0, 1));
  const std::string after = Text(series.Collect());
  EXPECT_EQ(after.find("lstmad_stream_feature"), std::string::npos) << after;
  EXPECT_NE(after.find("m0,s=2"), std::string::npos);
}

}  // namespace
}  // namespace lstmad::daemon
