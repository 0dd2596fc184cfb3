// models[].guards: what the reader accepts (in file order, defaults for
// keys left out) and the exact message of each way it can be wrong.
#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::TempDir;

class GuardSettingsTest : public ::testing::Test {
 protected:
  GuardSettingsTest() { dir_.Write("pump.lstmad", ""); }

  // The model entry starts on line 2; `guards` is its last key, on line 3.
  core::Result<Settings> Parse(const std::string& guards) const {
    const std::string yaml = "models:\n  - name: pump\n    guards: " + guards +
                             "\n    path: pump.lstmad\n    measurement: pump\n";
    return ParseSettings(yaml, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& guards) const {
    const core::Result<Settings> s = Parse(guards);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  TempDir dir_;
};

TEST_F(GuardSettingsTest, ReadsEachFeaturesGuardInFileOrder) {
  const core::Result<Settings> s = Parse(
      "{ temperature: { direction: above, min_deviation: 2.5, valid_range: [-20, 120] },"
      " pressure: { direction: below }, flow: { valid_range: [0, 1e3] } }");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const core::NamedGuards& g = s->models[0].guards;
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].first, "temperature");
  EXPECT_EQ(g[0].second.direction, core::Direction::kAbove);
  EXPECT_EQ(g[0].second.min_deviation, 2.5);
  ASSERT_TRUE(g[0].second.valid_range.has_value());
  EXPECT_EQ(g[0].second.valid_range->first, -20.0);
  EXPECT_EQ(g[0].second.valid_range->second, 120.0);
  EXPECT_EQ(g[1].first, "pressure");
  EXPECT_EQ(g[1].second.direction, core::Direction::kBelow);
  EXPECT_EQ(g[1].second.min_deviation, 0.0);
  EXPECT_FALSE(g[1].second.valid_range.has_value());
  EXPECT_EQ(g[2].first, "flow");
  EXPECT_EQ(g[2].second.direction, core::Direction::kBoth);
  EXPECT_EQ(g[2].second.valid_range->second, 1000.0);
}

TEST_F(GuardSettingsTest, AbsentMeansNoGuards) {
  const core::Result<Settings> s = ParseSettings(
      "models: [{ name: pump, path: pump.lstmad, measurement: pump }]\n", "lstmad.yaml", dir_.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->models[0].guards.empty());
}

TEST_F(GuardSettingsTest, ErrorsNameTheLineAndTheKey) {
  EXPECT_EQ(ErrorOf("{ temperature: { direction: up } }"),
            "lstmad.yaml:3: models[0].guards.temperature.direction: expected one of both, above, below; "
            "got \"up\"");
  EXPECT_EQ(ErrorOf("{ temperature: { min_deviation: -1 } }"),
            "lstmad.yaml:3: models[0].guards.temperature.min_deviation: must be >= 0, got -1");
  EXPECT_EQ(ErrorOf("{ temperature: { valid_range: [1] } }"),
            "lstmad.yaml:3: models[0].guards.temperature.valid_range: expected [lo, hi], got 1 value(s)");
  EXPECT_EQ(ErrorOf("{ temperature: { valid_range: [5, 5] } }"),
            "lstmad.yaml:3: models[0].guards.temperature.valid_range: lo must be below hi, got [5, 5]");
  EXPECT_EQ(ErrorOf("{ temperature: { valid_range: [0, .inf] } }"),
            "lstmad.yaml:3: models[0].guards.temperature.valid_range[1]: expected a finite number, got \".inf\"");
  EXPECT_EQ(ErrorOf("{ temperature: { valid_range: 5 } }"),
            "lstmad.yaml:3: models[0].guards.temperature.valid_range: expected a list, got \"5\"");
  EXPECT_EQ(ErrorOf("{ temperature: { limit: 5 } }"),
            "lstmad.yaml:3: models[0].guards.temperature.limit: unknown key (expected one of: direction, "
            "min_deviation, valid_range)");
  EXPECT_EQ(ErrorOf("[temperature]"), "lstmad.yaml:3: models[0].guards: expected a map, got a list");
}

}  // namespace
}  // namespace lstmad::config
