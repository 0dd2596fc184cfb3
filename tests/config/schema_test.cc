// The configuration schema (lstmad/config/schema.h) against what the reader
// enforces.
#include "lstmad/config/schema.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::TempDir;

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

TEST(SchemaTest, KeyPathsJoinSectionsAndMarkWhichHoldSections) {
  const std::vector<SchemaKey> keys = SchemaKeys();
  const auto find = [&](const std::string& path) {
    const auto it = std::find_if(keys.begin(), keys.end(), [&](const SchemaKey& k) { return k.path == path; });
    return it == keys.end() ? std::string("absent") : it->section ? "section" : "value";
  };
  EXPECT_EQ(find("ingest"), "section");
  EXPECT_EQ(find("ingest.listen"), "value");
  EXPECT_EQ(find("models"), "section");  // a list of maps: models[]
  EXPECT_EQ(find("models[].alert"), "section");
  EXPECT_EQ(find("models[].alert.for"), "value");
  EXPECT_EQ(find("metrics.basic_auth_users"), "value");  // keyed by user names
  EXPECT_EQ(find("nats.tls.ca"), "value");
  EXPECT_EQ(find("models.alert"), "absent");
  size_t total = 0;
  for (const SchemaSection& section : Schema()) total += section.keys.size();
  EXPECT_EQ(keys.size(), total);
}

// Puts `not_a_key: 1` into each section of the schema and checks that the
// reader refuses it listing exactly the section's schema keys: the schema is
// what the reader enforces, not a copy that could drift from it.
TEST(SchemaTest, ReaderAcceptsExactlyEachSectionsSchemaKeys) {
  TempDir dir;
  dir.Write("m.lstmad", "");
  for (const SchemaSection& section : Schema()) {
    // "models[].detector" -> models: [{name: m, ..., detector: {not_a_key: 1}}]
    std::vector<std::string> parts;
    std::istringstream in{std::string(section.path)};
    for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
    std::string yaml = "not_a_key: 1";
    std::string error_path = "not_a_key";
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->ends_with("[]")) {
        const std::string list = it->substr(0, it->size() - 2);
        ASSERT_EQ(list, "models") << "a list section the test cannot fill in: " << section.path;
        yaml = list + ": [{name: m, path: m.lstmad, measurement: m, " + yaml + "}]";
        error_path = list + "[0]." + error_path;
      } else {
        yaml = *it + ": {" + yaml + "}";
        error_path = *it + "." + error_path;
      }
    }
    yaml = "{" + yaml + "}\n";
    std::vector<std::string> expected(section.keys.begin(), section.keys.end());
    const core::Result<Settings> parsed = ParseSettings(yaml, "lstmad.yaml", dir.path());
    ASSERT_FALSE(parsed.ok()) << yaml;
    EXPECT_EQ(parsed.status().message(),
              "lstmad.yaml:1: " + error_path + ": unknown key (expected one of: " + Join(expected) + ")")
        << yaml;
  }
}

}  // namespace
}  // namespace lstmad::config
