// models[i].retrain: what it parses to, its defaults, and its errors.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::ExamplePath;
using testing::ReadFile;
using testing::TempDir;

// The retrain map goes on line 5.
std::string WithRetrain(const std::string& retrain) {
  return "models:\n  - name: pump\n    path: pump.lstmad\n    measurement: pump\n    retrain: " + retrain +
         "\n";
}

class RetrainSettingsTest : public ::testing::Test {
 protected:
  RetrainSettingsTest() { dir_.Write("pump.lstmad", ""); }
  core::Result<Settings> Parse(const std::string& retrain) const {
    return ParseSettings(WithRetrain(retrain), "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& retrain) const {
    const core::Result<Settings> s = Parse(retrain);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }
  TempDir dir_;
};

TEST_F(RetrainSettingsTest, AbsentMeansOff) {
  const core::Result<Settings> s = ParseSettings(
      "models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n", "lstmad.yaml", dir_.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->models[0].retrain.enabled());
}

TEST_F(RetrainSettingsTest, RequiredKeysAndDefaults) {
  const core::Result<Settings> s = Parse("{ every: 24h, min_windows: 10000 }");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const RetrainSettings& r = s->models[0].retrain;
  EXPECT_TRUE(r.enabled());
  EXPECT_EQ(r.every_s, 86400.0);
  EXPECT_EQ(r.min_windows, 10000);
  EXPECT_EQ(r.max_windows, 40000);  // 4 * min_windows
  EXPECT_EQ(r.epochs, 5);
  EXPECT_EQ(r.holdout, 0.2);
  EXPECT_EQ(r.scope, RetrainScope::kModel);
}

TEST_F(RetrainSettingsTest, ReadsEveryKey) {
  const core::Result<Settings> s =
      Parse("{ every: 90s, min_windows: 300, max_windows: 500, epochs: 3, holdout: 0.25, scope: stream }");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const RetrainSettings& r = s->models[0].retrain;
  EXPECT_EQ(r.every_s, 90.0);
  EXPECT_EQ(r.min_windows, 300);
  EXPECT_EQ(r.max_windows, 500);
  EXPECT_EQ(r.epochs, 3);
  EXPECT_EQ(r.holdout, 0.25);
  EXPECT_EQ(r.scope, RetrainScope::kStream);
}

TEST_F(RetrainSettingsTest, ErrorsNameTheKeyAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"{ min_windows: 100 }", "lstmad.yaml:5: models[0].retrain.every: required key is missing"},
      {"{ every: 1h }", "lstmad.yaml:5: models[0].retrain.min_windows: required key is missing"},
      {"{ every: soon, min_windows: 100 }",
       "lstmad.yaml:5: models[0].retrain.every: expected a duration like 30s, 5m or 1h from 1s to "
       "2592000s, got \"soon\""},
      {"{ every: 1h, min_windows: 5 }", "lstmad.yaml:5: models[0].retrain.min_windows: must be >= 10, got 5"},
      {"{ every: 1h, min_windows: 100, max_windows: 50 }",
       "lstmad.yaml:5: models[0].retrain.max_windows: 50 is less than min_windows (100)"},
      {"{ every: 1h, min_windows: 100, holdout: 0.9 }",
       "lstmad.yaml:5: models[0].retrain.holdout: must be from 0.05 to 0.5, got 0.9"},
      {"{ every: 1h, min_windows: 100, epochs: 0 }",
       "lstmad.yaml:5: models[0].retrain.epochs: must be from 1 to 1000, got 0"},
      {"{ every: 1h, min_window: 100 }",
       "lstmad.yaml:5: models[0].retrain.min_window: unknown key, did you mean \"min_windows\"? (expected "
       "one of: every, "
       "min_windows, max_windows, epochs, holdout, scope)"},
      {"{ every: 1h, min_windows: 100, scope: fleet }",
       "lstmad.yaml:5: models[0].retrain.scope: expected one of model, stream; got \"fleet\""},
  };
  for (const auto& [retrain, error] : cases) EXPECT_EQ(ErrorOf(retrain), error) << retrain;
}

TEST_F(RetrainSettingsTest, ExampleFileDocumentsEveryKey) {
  const std::string example = ReadFile(ExamplePath());
  for (const char* key :
       {"retrain:", "every:", "min_windows:", "max_windows:", "epochs:", "holdout:", "scope:"}) {
    EXPECT_NE(example.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace lstmad::config
