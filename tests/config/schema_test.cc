// The configuration schema (lstmad/config/schema.h) against what the reader
// enforces and against docs/configuration.md: every key the reader accepts is
// documented in the key table, and every documented key is accepted.
#include "lstmad/config/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::ReadFile;
using testing::TempDir;

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The key paths in the first column of docs/configuration.md's "## Keys"
// table: every `code` span of the cell (one row may document several keys,
// e.g. `metrics.tls.cert`, `metrics.tls.key`).
std::set<std::string> DocumentedKeys(const std::string& markdown) {
  std::set<std::string> out;
  std::istringstream in(markdown);
  std::string line;
  bool in_keys = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_keys = line == "## Keys";
    if (!in_keys || line.rfind("| `", 0) != 0) continue;
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    for (size_t open = cell.find('`'); open != std::string::npos; open = cell.find('`', open)) {
      const size_t close = cell.find('`', open + 1);
      if (close == std::string::npos) break;
      out.insert(cell.substr(open + 1, close - open - 1));
      open = close + 1;
    }
  }
  return out;
}

std::string ConfigurationDoc() { return ReadFile(std::string(LSTMAD_SOURCE_DIR) + "/docs/configuration.md"); }

TEST(SchemaTest, KeyPathsJoinSectionsAndMarkWhichHoldSections) {
  const std::vector<SchemaKey> keys = SchemaKeys();
  const auto find = [&](const std::string& path) {
    const auto it =
        std::find_if(keys.begin(), keys.end(), [&](const SchemaKey& k) { return k.path == path; });
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
        // The keys a list item needs before the unknown one.
        std::string required;
        if (list == "models") required = "name: m, path: m.lstmad, measurement: m, ";
        if (list == "subscriptions") required = "topic: a/b, ";
        ASSERT_FALSE(required.empty()) << "a list section the test cannot fill in: " << section.path;
        yaml = list + ": [{" + required + yaml + "}]";
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

TEST(SchemaTest, EveryAcceptedKeyIsDocumented) {
  const std::set<std::string> documented = DocumentedKeys(ConfigurationDoc());
  std::vector<std::string> missing;
  for (const SchemaKey& key : SchemaKeys()) {
    // A section is documented through its keys; a row of its own is optional.
    if (!key.section && documented.count(key.path) == 0) missing.push_back(key.path);
  }
  EXPECT_TRUE(missing.empty()) << "keys the reader accepts that docs/configuration.md's key table "
                                  "does not document: "
                               << Join(missing);
}

TEST(SchemaTest, EveryDocumentedKeyIsAccepted) {
  const std::set<std::string> documented = DocumentedKeys(ConfigurationDoc());
  ASSERT_FALSE(documented.empty()) << "no key table found in docs/configuration.md";
  std::set<std::string> accepted;
  for (const SchemaKey& key : SchemaKeys()) accepted.insert(key.path);
  std::vector<std::string> extra;
  for (const std::string& key : documented) {
    if (accepted.count(key) == 0) extra.push_back(key);
  }
  EXPECT_TRUE(extra.empty()) << "keys docs/configuration.md documents that the reader rejects as "
                                "unknown: "
                             << Join(extra);
}

}  // namespace
}  // namespace lstmad::config
