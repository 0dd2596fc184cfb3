// Test helpers for config tests: a scratch directory, whole-file reads and the
// `models:` section that settings tests put before the section they test.
// TempDir owns its directory and deletes it, contents included, when destroyed.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace lstmad::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "lstmad-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = std::filesystem::path(pattern).lexically_normal().string();
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `contents` to `relative` under the directory, creating folders;
  // returns the full path.
  std::string Write(const std::string& relative, std::string_view contents) const {
    const std::filesystem::path file = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << contents;
    EXPECT_TRUE(out.good()) << file;
    return file.string();
  }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Lines 1-2 of a configuration: one model, pump, at pump.lstmad (which the
// test writes into its TempDir); the section under test starts on line 3.
inline constexpr char kModels[] = "models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n";

// The example configuration shipped in config/.
inline std::string ExamplePath() { return std::string(LSTMAD_SOURCE_DIR) + "/config/lstmad.example.yaml"; }

}  // namespace lstmad::config::testing
