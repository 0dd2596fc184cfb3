#include "obs/memory_limit.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace lstmad::daemon {
namespace {

// cgroup v1 says "no limit" with the largest page-aligned int64 (about
// 9.2e18); anything from 2^62 on is no limit in practice.
constexpr double kNoLimit = 4.611686018427387904e18;

// `path` and each of its ancestors, down to "" (the mount's root).
std::vector<std::string> SelfAndAncestors(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path.back() == '/') path.pop_back();
  for (;;) {
    out.push_back(path);
    if (path.empty()) break;
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  return out;
}

// The limit a memory.max / memory.limit_in_bytes file holds; none for "max",
// an unreadable file or text that is not a whole number.
std::optional<double> ReadLimit(const std::string& file) {
  std::ifstream in(file);
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) text.pop_back();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  // strtod, not stod: a number too long for a double reads as infinite (no
  // limit) instead of throwing.
  const double bytes = std::strtod(text.c_str(), nullptr);
  if (!(bytes < kNoLimit)) return std::nullopt;
  return bytes;
}

bool HasController(std::string_view list, std::string_view controller) {
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (list.substr(start, comma - start) == controller) return true;
    start = comma + 1;
  }
  return false;
}

}  // namespace

std::optional<double> CgroupMemoryLimit(const std::string& cgroup_root, std::string_view proc_self_cgroup) {
  std::optional<double> lowest;
  auto consider = [&lowest](const std::string& file) {
    if (const std::optional<double> limit = ReadLimit(file))
      lowest = std::min(lowest.value_or(*limit), *limit);
  };
  std::istringstream lines{std::string(proc_self_cgroup)};
  std::string line;
  while (std::getline(lines, line)) {
    // hierarchy-ID:controller-list:cgroup-path
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string_view id = std::string_view(line).substr(0, first);
    const std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (id == "0" && controllers.empty()) {
      for (const std::string& p : SelfAndAncestors(path)) consider(cgroup_root + p + "/memory.max");
    } else if (HasController(controllers, "memory")) {
      for (const std::string& p : SelfAndAncestors(path)) {
        consider(cgroup_root + "/memory" + p + "/memory.limit_in_bytes");
      }
    }
  }
  return lowest;
}

MemoryLimit UsableMemory() {
  MemoryLimit out;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) out.bytes = static_cast<double>(pages) * static_cast<double>(page);
  std::ifstream file("/proc/self/cgroup");
  std::stringstream text;
  text << file.rdbuf();
  if (const std::optional<double> limit = CgroupMemoryLimit("/sys/fs/cgroup", text.str())) {
    if (out.bytes == 0 || *limit < out.bytes) out = MemoryLimit{*limit, true};
  }
  return out;
}

}  // namespace lstmad::daemon
