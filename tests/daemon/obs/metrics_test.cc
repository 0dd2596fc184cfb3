#include "obs/metrics.h"
#include "support/promtool.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace lstmad::daemon {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

ModelInfo CpuInfo() {
  ModelInfo info;
  info.name = "cpu";
  info.measurement = "cpu";
  info.path = "/var/lib/lstmad/cpu.lstm";
  info.features = "usage_user,usage_system";
  info.architecture = "T=30 F=2 enc=16,8 dec=8,16 relu";
  info.lookback = 30;
  return info;
}

struct Family {
  const char* name;
  const char* type;
};

const Family kFamilies[] = {
    {"lstmad_samples_received_total", "counter"},
    {"lstmad_samples_rejected_total", "counter"},
    {"lstmad_windows_scored_total", "counter"},
    {"lstmad_windows_nonfinite_total", "counter"},
    {"lstmad_stream_reconstruction_error", "gauge"},
    {"lstmad_stream_anomalous", "gauge"},
    {"lstmad_stream_anomalies_total", "counter"},
    {"lstmad_reconstruction_error", "histogram"},
    {"lstmad_model_threshold", "gauge"},
    {"lstmad_model_info", "gauge"},
    {"lstmad_inference_duration_seconds", "histogram"},
    {"lstmad_sample_to_score_seconds", "histogram"},
    {"lstmad_inference_batch_size", "histogram"},
    {"lstmad_streams", "gauge"},
    {"lstmad_streams_own_model", "gauge"},
    {"lstmad_vectors_dropped_total", "counter"},
    {"lstmad_values_carried_forward_total", "counter"},
    {"lstmad_window_restarts_total", "counter"},
    {"lstmad_changes_accepted_total", "counter"},
    {"lstmad_connections", "gauge"},
    {"lstmad_build_info", "gauge"},
    {"lstmad_config_reloads_total", "counter"},
    {"lstmad_event_write_failures_total", "counter"},
    {"lstmad_alert_deliveries_total", "counter"},
    {"lstmad_windows_dropped_total", "counter"},
    {"lstmad_connection_pauses_total", "counter"},
    {"lstmad_streams_expired_total", "counter"},
    {"lstmad_connections_closed_total", "counter"},
    {"lstmad_metrics_connections_closed_total", "counter"},
};

TEST(MetricsTest, EveryFamilyHasHelpAndType) {
  Metrics metrics("1.2.3");
  metrics.ForModel(CpuInfo(), 0.5);
  metrics.ForStream("cpu", "cpu,host=a", false);
  const std::string text = metrics.Scrape();
  for (const Family& f : kFamilies) {
    EXPECT_TRUE(Contains(text, std::string("\n# HELP ") + f.name + " ") ||
                text.rfind(std::string("# HELP ") + f.name + " ", 0) == 0)
        << f.name;
    EXPECT_TRUE(Contains(text, std::string("# TYPE ") + f.name + " " + f.type + "\n")) << f.name;
  }
  EXPECT_EQ(CountOf(text, "# TYPE "), static_cast<int>(std::size(kFamilies))) << text;
}

TEST(MetricsTest, PreCreatesReasonsResultsAndGlobals) {
  Metrics metrics("1.2.3");
  const std::string text = metrics.Scrape();
  for (const char* reason : {"parse_error", "unknown_measurement", "missing_field", "non_finite",
                             "too_many_streams", "line_too_long", "format_control", "out_of_range", "out_of_order"}) {
    EXPECT_TRUE(
        Contains(text, std::string("lstmad_samples_rejected_total{reason=\"") + reason + "\"} 0\n"))
        << reason;
  }
  EXPECT_TRUE(Contains(text, "lstmad_config_reloads_total{result=\"success\"} 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_config_reloads_total{result=\"failure\"} 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_event_write_failures_total 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_connections 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_metrics_connections_closed_total{reason=\"tls_handshake\"} 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_metrics_connections_closed_total{reason=\"too_many_connections\"} 0\n"));
}

TEST(MetricsTest, RejectedSamplesNameTheirMeasurementUpToABound) {
  Metrics metrics("test");
  metrics.Rejected(RejectReason::kUnknownMeasurement, "pumpp").Increment();
  metrics.Rejected(RejectReason::kUnknownMeasurement, "pumpp").Increment();
  metrics.Rejected(RejectReason::kMissingField, "pumpp").Increment();
  metrics.Rejected(RejectReason::kParseError).Increment();  // did not parse as far as a measurement
  for (size_t i = 1; i < Metrics::kMaxRejectedMeasurements + 5; ++i) {
    metrics.Rejected(RejectReason::kUnknownMeasurement, "m" + std::to_string(i)).Increment();
  }
  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{measurement=\"pumpp\",reason=\"unknown_measurement\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{measurement=\"pumpp\",reason=\"missing_field\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{reason=\"parse_error\"} 1\n"));
  // pumpp and m1..m99 fill the 100 names; m100..m104 share one series.
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{measurement=\"m99\",reason=\"unknown_measurement\"} 1\n"));
  EXPECT_FALSE(Contains(text, "measurement=\"m100\""));
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{measurement=\"(other)\",reason=\"unknown_measurement\"} 5\n"));
  // A name counted before keeps its series once the bound is reached.
  metrics.Rejected(RejectReason::kNonFinite, "m7").Increment();
  EXPECT_TRUE(Contains(metrics.Scrape(), "lstmad_samples_rejected_total{measurement=\"m7\",reason=\"non_finite\"} 1\n"));
}

TEST(MetricsTest, HandlesCountUnderTheirLabels) {
  Metrics metrics("dev");
  metrics.Rejected(RejectReason::kLineTooLong).Increment();
  metrics.Rejected(RejectReason::kNonFinite).Increment(2);
  metrics.ConfigReload(false).Increment();
  metrics.EventWriteFailures().Increment();
  metrics.connections().Set(3);
  metrics.MetricsConnectionClosed(Metrics::MetricsCloseReason::kTlsHandshake).Increment(2);
  ModelMetrics m = metrics.ForModel(CpuInfo(), 0.5);
  m.samples_received->Increment(7);
  m.windows_scored->Increment(4);
  m.streams->Set(2);
  m.vectors_dropped_incomplete->Increment();
  m.values_carried_forward->Increment(5);
  m.window_restarts_gap->Increment(2);
  m.inference_duration->Observe(0.002);
  m.batch_size->Observe(3);
  StreamMetrics s = metrics.ForStream("cpu", "cpu,host=a", true);
  ASSERT_NE(s.anomaly_score, nullptr);
  s.anomaly_score->Set(0.625);
  EXPECT_EQ(metrics.ForStream("cpu", "cpu,host=b", false).anomaly_score, nullptr);
  s.reconstruction_error->Set(0.75);
  s.anomalous->Set(1);
  s.anomalies->Increment();
  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{reason=\"line_too_long\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_metrics_connections_closed_total{reason=\"tls_handshake\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_metrics_connections_closed_total{reason=\"too_many_connections\"} 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_samples_rejected_total{reason=\"non_finite\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_config_reloads_total{result=\"failure\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_event_write_failures_total 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_connections 3\n"));
  EXPECT_TRUE(Contains(text, "lstmad_samples_received_total{model=\"cpu\"} 7\n"));
  EXPECT_TRUE(Contains(text, "lstmad_windows_scored_total{model=\"cpu\"} 4\n"));
  EXPECT_TRUE(Contains(text, "lstmad_streams{model=\"cpu\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_vectors_dropped_total{model=\"cpu\",reason=\"incomplete\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_values_carried_forward_total{model=\"cpu\"} 5\n"));
  EXPECT_TRUE(Contains(text, "lstmad_window_restarts_total{model=\"cpu\",reason=\"gap\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_stream_anomaly_score{host=\"a\",model=\"cpu\",stream=\"cpu,host=a\"} 0.625\n"));
  EXPECT_FALSE(Contains(text, "lstmad_stream_anomaly_score{host=\"b\",model=\"cpu\",stream=\"cpu,host=b\"}"));
  EXPECT_TRUE(Contains(text, "lstmad_model_threshold{model=\"cpu\"} 0.5\n"));
  EXPECT_TRUE(Contains(text, "lstmad_inference_duration_seconds_count{model=\"cpu\"} 1\n"));
  EXPECT_TRUE(
      Contains(text, "lstmad_inference_duration_seconds_bucket{model=\"cpu\",le=\"0.0025\"} 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_inference_batch_size_bucket{model=\"cpu\",le=\"4\"} 1\n"));
  const std::string stream = "{host=\"a\",model=\"cpu\",stream=\"cpu,host=a\"}";
  EXPECT_TRUE(Contains(text, "lstmad_stream_reconstruction_error" + stream + " 0.75\n"));
  EXPECT_TRUE(Contains(text, "lstmad_stream_anomalous" + stream + " 1\n"));
  EXPECT_TRUE(Contains(text, "lstmad_stream_anomalies_total" + stream + " 1\n"));
  EXPECT_TRUE(Contains(text,
                       "lstmad_model_info{architecture=\"T=30 F=2 enc=16,8 dec=8,16 relu\","
                       "features=\"usage_user,usage_system\",lookback=\"30\","
                       "measurement=\"cpu\",model=\"cpu\","
                       "path=\"/var/lib/lstmad/cpu.lstm\"} 1\n"))
      << text;
  EXPECT_EQ(RejectReasonName(RejectReason::kUnknownMeasurement),
            std::string("unknown_measurement"));
}

// A stream that went away loses all four series; the other stream keeps its
// own, and the same stream coming back starts from 0.
TEST(MetricsTest, RemoveStreamUnregistersEverySeriesOfThatStreamOnly) {
  Metrics metrics("1.2.3");
  StreamMetrics gone = metrics.ForStream("cpu", "cpu,host=a", true);
  StreamMetrics kept = metrics.ForStream("cpu", "cpu,host=b", true);
  gone.anomalous->Set(1);
  gone.anomalies->Increment();
  kept.anomalies->Increment();
  metrics.RemoveStream("cpu", "cpu,host=a", &gone);
  EXPECT_EQ(gone.reconstruction_error, nullptr);
  EXPECT_EQ(gone.anomalous, nullptr);
  EXPECT_EQ(gone.anomalies, nullptr);
  EXPECT_EQ(gone.anomaly_score, nullptr);
  std::string text = metrics.Scrape();
  EXPECT_FALSE(Contains(text, "host=a")) << text;
  EXPECT_EQ(CountOf(text, "stream=\"cpu,host=b\""), 4) << text;
  EXPECT_TRUE(Contains(text, "lstmad_stream_anomalies_total{host=\"b\",model=\"cpu\",stream=\"cpu,host=b\"} 1\n"));
  metrics.RemoveStream("cpu", "cpu,host=a", &gone);  // nothing left to remove: no effect
  const StreamMetrics back = metrics.ForStream("cpu", "cpu,host=a", false);
  text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_stream_anomalies_total{host=\"a\",model=\"cpu\",stream=\"cpu,host=a\"} 0\n"))
      << text;
  EXPECT_EQ(CountOf(text, "stream=\"cpu,host=a\""), 3) << text;
  EXPECT_EQ(back.anomaly_score, nullptr);
}

TEST(MetricsTest, FixedBucketRangesForLatencyAndBatchSize) {
  Metrics metrics("dev");
  metrics.ForModel(CpuInfo(), 0.5);
  const std::string text = metrics.Scrape();
  const auto bucket = [](const char* family, const char* le) {
    return std::string(family) + "_bucket{model=\"cpu\",le=\"" + le + "\"} 0\n";
  };
  EXPECT_TRUE(Contains(text, bucket("lstmad_inference_duration_seconds", "1e-05")));
  EXPECT_TRUE(Contains(text, bucket("lstmad_inference_duration_seconds", "1")));
  EXPECT_FALSE(Contains(text, bucket("lstmad_inference_duration_seconds", "2.5")));
  EXPECT_TRUE(Contains(text, bucket("lstmad_sample_to_score_seconds", "0.0001")));
  EXPECT_TRUE(Contains(text, bucket("lstmad_sample_to_score_seconds", "10")));
  EXPECT_FALSE(Contains(text, bucket("lstmad_sample_to_score_seconds", "5e-05")));
  for (const char* le : {"1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024"}) {
    EXPECT_TRUE(Contains(text, bucket("lstmad_inference_batch_size", le))) << le;
  }
  EXPECT_EQ(CountOf(text, "lstmad_inference_batch_size_bucket{"), 12);  // 11 + "+Inf"
}

TEST(MetricsTest, ErrorBucketsSurroundTheThreshold) {
  Metrics metrics("dev");
  ModelMetrics m = metrics.ForModel(CpuInfo(), 0.5);
  m.reconstruction_error->Observe(0.52);  // just above the threshold
  const std::string text = metrics.Scrape();
  const std::string prefix = "lstmad_reconstruction_error_bucket{model=\"cpu\",le=\"";
  for (const char* le : {"0.025", "0.05", "0.125", "0.25", "0.375", "0.45"}) {
    EXPECT_TRUE(Contains(text, prefix + le + "\"} 0\n")) << le;
  }
  for (const char* le : {"0.55", "0.625", "0.75", "1", "2.5", "5", "50", "+Inf"}) {
    EXPECT_TRUE(Contains(text, prefix + le + "\"} 1\n")) << le;
  }
  EXPECT_TRUE(Contains(text, prefix + "0.5\"} 0\n"));
  EXPECT_EQ(CountOf(text, prefix), 15);
}

TEST(MetricsTest, ZeroThresholdUsesFixedLogBuckets) {
  Metrics metrics("dev");
  metrics.ForModel(CpuInfo(), 0);
  const std::string text = metrics.Scrape();
  const std::string prefix = "lstmad_reconstruction_error_bucket{model=\"cpu\",le=\"";
  for (const char* le : {"1e-06", "0.001", "1", "1000", "+Inf"}) {
    EXPECT_TRUE(Contains(text, prefix + le + "\"} 0\n")) << le;
  }
}

TEST(MetricsTest, ReloadWithSameThresholdKeepsHandlesAndCounts) {
  Metrics metrics("dev");
  ModelMetrics first = metrics.ForModel(CpuInfo(), 0.5);
  first.samples_received->Increment(5);
  first.reconstruction_error->Observe(0.1);
  StreamMetrics s1 = metrics.ForStream("cpu", "cpu,host=a", false);
  s1.anomalies->Increment();

  ModelInfo moved = CpuInfo();
  moved.path = "/srv/cpu-v2.lstm";
  ModelMetrics second = metrics.ForModel(moved, 0.5);
  StreamMetrics s2 = metrics.ForStream("cpu", "cpu,host=a", false);
  EXPECT_EQ(second.samples_received, first.samples_received);
  EXPECT_EQ(second.windows_scored, first.windows_scored);
  EXPECT_EQ(second.reconstruction_error, first.reconstruction_error);
  EXPECT_EQ(second.threshold, first.threshold);
  EXPECT_EQ(second.inference_duration, first.inference_duration);
  EXPECT_EQ(second.sample_to_score, first.sample_to_score);
  EXPECT_EQ(second.batch_size, first.batch_size);
  EXPECT_EQ(second.streams, first.streams);
  EXPECT_EQ(s2.anomalies, s1.anomalies);
  EXPECT_EQ(s2.anomalous, s1.anomalous);
  EXPECT_EQ(s2.reconstruction_error, s1.reconstruction_error);

  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_samples_received_total{model=\"cpu\"} 5\n"));
  EXPECT_TRUE(Contains(text, "lstmad_reconstruction_error_count{model=\"cpu\"} 1\n"));
  // The info series follows the new facts; the old one is gone.
  EXPECT_EQ(CountOf(text, "lstmad_model_info{"), 1);
  EXPECT_TRUE(Contains(text, "path=\"/srv/cpu-v2.lstm\"} 1\n"));
}

TEST(MetricsTest, ReloadWithNewThresholdReplacesOnlyTheErrorHistogram) {
  Metrics metrics("dev");
  ModelMetrics first = metrics.ForModel(CpuInfo(), 0.5);
  first.samples_received->Increment(5);
  first.reconstruction_error->Observe(0.1);

  ModelMetrics second = metrics.ForModel(CpuInfo(), 2.0);
  EXPECT_EQ(second.samples_received, first.samples_received);
  EXPECT_EQ(second.threshold, first.threshold);
  EXPECT_NE(second.reconstruction_error, first.reconstruction_error);
  // A scorer still holding the old handle may keep observing: it stays alive,
  // just no longer exported.
  first.reconstruction_error->Observe(0.3);
  second.reconstruction_error->Observe(2.1);

  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_samples_received_total{model=\"cpu\"} 5\n"));
  EXPECT_TRUE(Contains(text, "lstmad_model_threshold{model=\"cpu\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lstmad_reconstruction_error_count{model=\"cpu\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "lstmad_reconstruction_error_bucket{model=\"cpu\",le=\"2\"} 0\n"));
  EXPECT_TRUE(Contains(text, "lstmad_reconstruction_error_bucket{model=\"cpu\",le=\"2.2\"} 1\n"));
  EXPECT_FALSE(Contains(text, "le=\"0.55\""));
  EXPECT_EQ(CountOf(text, "# TYPE lstmad_reconstruction_error histogram"), 1);
}

TEST(MetricsTest, ModelsAreSeparateSeries) {
  Metrics metrics("dev");
  ModelInfo mem = CpuInfo();
  mem.name = "mem";
  mem.measurement = "mem";
  ModelMetrics cpu = metrics.ForModel(CpuInfo(), 0.5);
  ModelMetrics m = metrics.ForModel(mem, 0.25);
  EXPECT_NE(cpu.samples_received, m.samples_received);
  EXPECT_NE(cpu.reconstruction_error, m.reconstruction_error);
  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_model_threshold{model=\"mem\"} 0.25\n"));
  EXPECT_TRUE(Contains(text, "lstmad_model_threshold{model=\"cpu\"} 0.5\n"));
  EXPECT_EQ(CountOf(text, "lstmad_model_info{"), 2);
}

TEST(MetricsTest, ConcurrentReloadsLookupsObservationsAndScrapes) {
  Metrics metrics("dev");
  ModelMetrics initial = metrics.ForModel(CpuInfo(), 0.5);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  // A scorer keeps observing into the handles it got before the reloads.
  threads.emplace_back([&] {
    while (!stop) {
      initial.reconstruction_error->Observe(0.4);
      initial.samples_received->Increment();
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 200; ++i) {
      metrics.ForStream("cpu", "cpu,host=" + std::to_string(i), false).anomalies->Increment();
    }
  });
  threads.emplace_back([&] {
    for (int i = 0; i < 50; ++i) metrics.ForModel(CpuInfo(), 0.5 + i);
  });
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(Contains(metrics.Scrape(), "lstmad_model_threshold"));
  threads[2].join();
  threads[1].join();
  stop = true;
  threads[0].join();
  const std::string text = metrics.Scrape();
  EXPECT_TRUE(Contains(text, "lstmad_model_threshold{model=\"cpu\"} 49.5\n"));
  EXPECT_EQ(CountOf(text, "lstmad_stream_anomalies_total{"), 200);
  EXPECT_EQ(CountOf(text, "lstmad_reconstruction_error_count{"), 1);
}

using lstmad::testing::HavePromtool;
using lstmad::testing::kPromtool;
using lstmad::testing::PromtoolProblems;

TEST(MetricsTest, ExpositionPassesPromtool) {
  if (!HavePromtool()) {
    GTEST_SKIP() << kPromtool << " not installed (Debian package `prometheus`); CI installs it";
  }
  Metrics metrics("1.2.3");
  ModelInfo odd = CpuInfo();
  odd.path = "C:\\models\\\"cpu\"\n.lstm";  // label values needing escapes
  ModelMetrics m = metrics.ForModel(odd, 0.5);
  metrics.ForModel(CpuInfo(), 0);  // reload: new info series, fixed buckets
  m.reconstruction_error->Observe(0.7);
  ModelInfo mem = CpuInfo();
  mem.name = "mem";
  metrics.ForModel(mem, 1e-300);  // a tiny threshold still gives valid `le` values
  metrics.ForStream("cpu", "cpu,host=a\\ b,dc=\"x\"", false);
  // models[].export's per-feature series, with a tag that collides with `feature`.
  const std::vector<std::string> features = {"user", "sys"};
  StreamMetrics exported =
      metrics.ForStream("cpu", "cpu,feature=f,host=b", true, StreamExport{&features, true, true, true, true});
  ASSERT_EQ(exported.features.size(), 2u);
  exported.features[1].expected_upper->Set(1e300);
  const std::string text = metrics.Scrape();
  EXPECT_EQ(PromtoolProblems(text), "") << text;
  EXPECT_NE(text.find("lstmad_stream_feature_expected_upper{exported_feature=\"f\",feature=\"sys\",host=\"b\","
                      "model=\"cpu\",stream=\"cpu,feature=f,host=b\"} 1e+300"),
            std::string::npos)
      << text;
}

TEST(HistogramBatchTest, OneFlushEqualsObservingEachValue) {
  const std::vector<double> bounds = {0.1, 0.5, 1.0, 5.0};
  prometheus::Histogram each(bounds), batched(bounds);
  HistogramBatch batch;
  batch.Start(&bounds);
  // Values on the bounds go to their own bucket (le), beyond the last to +Inf.
  for (double v : {0.0, 0.1, 0.10001, 0.5, 0.7, 1.0, 4.9, 5.0, 7.0, 1e9}) {
    each.Observe(v);
    batch.Add(v);
  }
  batch.Flush(&batched);
  batch.Flush(&batched);  // an empty flush adds nothing
  const auto a = each.Collect().histogram, b = batched.Collect().histogram;
  EXPECT_EQ(a.sample_count, b.sample_count);
  EXPECT_DOUBLE_EQ(a.sample_sum, b.sample_sum);
  ASSERT_EQ(a.bucket.size(), b.bucket.size());
  for (size_t i = 0; i < a.bucket.size(); ++i) {
    EXPECT_EQ(a.bucket[i].cumulative_count, b.bucket[i].cumulative_count) << i;
  }
  EXPECT_EQ(b.bucket[0].cumulative_count, 2u);  // 0 and 0.1
  EXPECT_EQ(b.bucket[4].cumulative_count, 10u);
}

}  // namespace
}  // namespace lstmad::daemon
