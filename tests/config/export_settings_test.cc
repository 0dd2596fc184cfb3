// models[].export and models[].export_band_sigmas: what the reader accepts
// and the exact message of each way it can be wrong.
#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::TempDir;

class ExportSettingsTest : public ::testing::Test {
 protected:
  ExportSettingsTest() { dir_.Write("pump.lstmad", ""); }

  // The model entry starts on line 2; `extra` is on line 3.
  core::Result<Settings> Parse(const std::string& extra) const {
    const std::string yaml =
        "models:\n  - name: pump\n    " + extra + "\n    path: pump.lstmad\n    measurement: pump\n";
    return ParseSettings(yaml, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& extra) const {
    const core::Result<Settings> s = Parse(extra);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  TempDir dir_;
};

TEST_F(ExportSettingsTest, AbsentMeansNothingExported) {
  const core::Result<Settings> s = Parse("threshold: 1");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const ExportSettings& e = s->models[0].exports;
  EXPECT_FALSE(e.any());
  EXPECT_EQ(e.band_sigmas, 3.0);
}

TEST_F(ExportSettingsTest, ReadsEachKind) {
  const core::Result<Settings> s = Parse("export: [expected, band]");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const ExportSettings& e = s->models[0].exports;
  EXPECT_FALSE(e.observed);
  EXPECT_TRUE(e.expected);
  EXPECT_TRUE(e.band);
  EXPECT_FALSE(e.error_share);
  const core::Result<Settings> all = Parse("export: [observed, expected, band, error_share]");
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(all->models[0].exports.observed && all->models[0].exports.error_share);
}

TEST_F(ExportSettingsTest, ReadsTheBandWidth) {
  const core::Result<Settings> s = Parse("export_band_sigmas: 2.5");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->models[0].exports.band_sigmas, 2.5);
}

TEST_F(ExportSettingsTest, NamesWhatIsWrongAndWhere) {
  EXPECT_EQ(ErrorOf("export: [expected, yhat]"),
            "lstmad.yaml:3: models[0].export[1]: expected one of observed, expected, band, error_share; got "
            "\"yhat\"");
  EXPECT_EQ(ErrorOf("export: [band, band]"), "lstmad.yaml:3: models[0].export[1]: listed twice");
  EXPECT_EQ(ErrorOf("export_band_sigmas: -1"),
            "lstmad.yaml:3: models[0].export_band_sigmas: must be from 0 to 100, got -1");
}

}  // namespace
}  // namespace lstmad::config
