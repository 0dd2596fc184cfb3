// `promtool check metrics` for unit tests that produce a Prometheus text
// exposition: Prometheus' own linter, not ours, judges it.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace lstmad::testing {

inline constexpr const char* kPromtool = "/usr/bin/promtool";

inline bool HavePromtool() { return ::access(kPromtool, X_OK) == 0; }

// What `promtool check metrics` says about `exposition`: "" when it passes.
inline std::string PromtoolProblems(const std::string& exposition) {
  std::string path = ::testing::TempDir() + "promtool_input.XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return "mkstemp failed";
  ::close(fd);
  std::ofstream(path) << exposition;
  const std::string command = std::string(kPromtool) + " check metrics < '" + path + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string output;
  char buffer[512];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  std::remove(path.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && output.empty()) return "";
  return "promtool exit status " + std::to_string(status) + ": " + output;
}

}  // namespace lstmad::testing
