// remote_write and models[].remote_write: what the reader accepts, and the
// exact message of each way a selector can be wrong.
#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::TempDir;

class RemoteWriteSettingsTest : public ::testing::Test {
 protected:
  RemoteWriteSettingsTest() { dir_.Write("node.lstmad", ""); }

  // The model's `remote_write` is on line 3.
  core::Result<Settings> Parse(const std::string& remote_write, const std::string& root = "") const {
    const std::string yaml = "models:\n  - name: node\n    remote_write: " + remote_write +
                             "\n    path: node.lstmad\n    measurement: node\n" + root;
    return ParseSettings(yaml, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& remote_write) const {
    const core::Result<Settings> s = Parse(remote_write);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  TempDir dir_;
};

TEST_F(RemoteWriteSettingsTest, ReadsSelectorsInFileOrderAndLimits) {
  const core::Result<Settings> s = Parse(
      R"({ features: { load: 'node:load1', mem: 'node_mem{kind="free", job!=''x'',}' }, stream_labels: [instance] })",
      "remote_write: { max_body_bytes: 2048, max_uncompressed_bytes: 4096, max_series_per_request: 7,"
      " max_pending_timestamps: 3, max_delay: 2m }\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const ModelRemoteWrite& rw = s->models[0].remote_write;
  ASSERT_EQ(rw.features.size(), 2u);
  EXPECT_EQ(rw.features[0].first, "load");
  EXPECT_EQ(rw.features[0].second.metric, "node:load1");
  EXPECT_TRUE(rw.features[0].second.matchers.empty());
  EXPECT_EQ(rw.features[1].second.metric, "node_mem");
  EXPECT_EQ(rw.features[1].second.matchers,
            (std::vector<LabelMatcher>{{"kind", "free", true}, {"job", "x", false}}));
  EXPECT_EQ(rw.stream_labels, (std::vector<std::string>{"instance"}));
  EXPECT_EQ(s->remote_write.max_body_bytes, 2048);
  EXPECT_EQ(s->remote_write.max_uncompressed_bytes, 4096);
  EXPECT_EQ(s->remote_write.max_series_per_request, 7);
  EXPECT_EQ(s->remote_write.max_pending_timestamps, 3);
  EXPECT_EQ(s->remote_write.max_delay_s, 120);
}

TEST_F(RemoteWriteSettingsTest, AbsentMeansNoneAndDefaults) {
  const core::Result<Settings> s = ParseSettings(
      "models: [{ name: node, path: node.lstmad, measurement: node }]\n", "lstmad.yaml", dir_.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->models[0].remote_write.enabled());
  EXPECT_EQ(s->remote_write.max_body_bytes, 8 << 20);
  EXPECT_EQ(s->remote_write.max_series_per_request, 20000);
  EXPECT_EQ(s->remote_write.max_pending_timestamps, 8);
  EXPECT_EQ(s->remote_write.max_delay_s, 60);
}

TEST_F(RemoteWriteSettingsTest, NamesWhatIsWrong) {
  EXPECT_EQ(ErrorOf("{ stream_labels: [instance] }"),
            "lstmad.yaml:3: models[0].remote_write: features: at least one feature's selector is required");
  EXPECT_EQ(ErrorOf("{ features: { load: '1x' } }"),
            "lstmad.yaml:3: models[0].remote_write.features.load: invalid series selector \"1x\": expected a "
            "metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at column 1");
  EXPECT_EQ(ErrorOf(R"({ features: { load: 'up{job=~"a.*"}' } })"),
            "lstmad.yaml:3: models[0].remote_write.features.load: invalid series selector "
            "\"up{job=~\\\"a.*\\\"}\": "
            "regular-expression matchers (=~, !~) are not supported; use = or !=");
  EXPECT_EQ(
      ErrorOf(R"({ features: { load: 'up{job="a"' } })"),
      "lstmad.yaml:3: models[0].remote_write.features.load: invalid series selector \"up{job=\\\"a\\\"\": "
      "expected ',' or '}' at column 11");
  EXPECT_EQ(ErrorOf(R"({ features: { load: 'up{job="a",job="b"}' } })"),
            "lstmad.yaml:3: models[0].remote_write.features.load: invalid series selector "
            "\"up{job=\\\"a\\\",job=\\\"b\\\"}\": label job is matched twice");
  EXPECT_EQ(ErrorOf(R"({ features: { load: 'up{__name__="x"}' } })"),
            "lstmad.yaml:3: models[0].remote_write.features.load: invalid series selector "
            "\"up{__name__=\\\"x\\\"}\": select the metric by its name before '{', not by __name__");
  EXPECT_EQ(ErrorOf("{ features: { load: up }, stream_labels: [instance, instance] }"),
            "lstmad.yaml:3: models[0].remote_write.stream_labels[1]: label instance is listed twice");
  EXPECT_EQ(ErrorOf("{ features: { load: up }, stream_labels: ['a-b'] }"),
            "lstmad.yaml:3: models[0].remote_write.stream_labels[0]: expected a label name "
            "([a-zA-Z_][a-zA-Z0-9_]*, not __name__), got \"a-b\"");
}

}  // namespace
}  // namespace lstmad::config
