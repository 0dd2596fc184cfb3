// The memory a process may use, read from a fake cgroup tree: v2's
// memory.max and v1's memory.limit_in_bytes, the lowest along the process's
// cgroup path and its ancestors, "max" and v1's unlimited value as no limit.
#include "obs/memory_limit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lstmad::daemon {
namespace {

namespace fs = std::filesystem;

class MemoryLimitTest : public ::testing::Test {
 protected:
  MemoryLimitTest()
      : root_(fs::temp_directory_path() /
              ("lstmad-cgroup-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(root_);
  }
  ~MemoryLimitTest() override { fs::remove_all(root_); }

  void Write(const std::string& relative, const std::string& text) {
    const fs::path file = root_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  std::optional<double> Limit(const std::string& proc_self_cgroup) const {
    return CgroupMemoryLimit(root_.string(), proc_self_cgroup);
  }

  fs::path root_;
};

TEST_F(MemoryLimitTest, V2TakesTheLowestLimitAlongThePath) {
  // systemd: the service's MemoryMax= under a slice that has a lower one.
  Write("system.slice/lstmad.service/memory.max", "4294967296\n");
  Write("system.slice/memory.max", "1073741824\n");
  EXPECT_EQ(Limit("0::/system.slice/lstmad.service\n"), 1073741824.0);
  Write("system.slice/memory.max", "max\n");
  EXPECT_EQ(Limit("0::/system.slice/lstmad.service\n"), 4294967296.0);
}

TEST_F(MemoryLimitTest, V2WithoutALimitHasNone) {
  Write("system.slice/lstmad.service/memory.max", "max\n");
  EXPECT_EQ(Limit("0::/system.slice/lstmad.service\n"), std::nullopt);
  EXPECT_EQ(Limit("0::/not/mounted/here\n"), std::nullopt);
  EXPECT_EQ(Limit(""), std::nullopt);
}

TEST_F(MemoryLimitTest, AContainerSeesItsLimitAtTheRoot) {
  // A cgroup namespace: the process is at "/", the container's limit at the
  // mount's root (deploy/kubernetes' 1Gi).
  Write("memory.max", "1073741824\n");
  EXPECT_EQ(Limit("0::/\n"), 1073741824.0);
}

TEST_F(MemoryLimitTest, V1ReadsTheMemoryControllersHierarchy) {
  // Host path not visible in the container's mount; its root holds the limit.
  Write("memory/memory.limit_in_bytes", "536870912\n");
  const std::string v1 =
      "12:pids:/docker/abc\n"
      "4:memory:/docker/abc\n"
      "3:cpu,cpuacct:/docker/abc\n"
      "0::/\n";
  EXPECT_EQ(Limit(v1), 536870912.0);
  // v1's "unlimited" is the largest page-aligned int64, not a limit.
  Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
  EXPECT_EQ(Limit(v1), std::nullopt);
  // A controller list that holds memory among others counts too.
  Write("memory/docker/abc/memory.limit_in_bytes", "268435456\n");
  EXPECT_EQ(Limit("5:cpuset,memory:/docker/abc\n"), 268435456.0);
  // ...but not a controller whose name only contains it.
  EXPECT_EQ(Limit("5:memoryfoo:/docker/abc\n"), std::nullopt);
}

TEST_F(MemoryLimitTest, TextThatIsNotANumberIsNoLimit) {
  Write("memory.max", "12 GB\n");
  EXPECT_EQ(Limit("0::/\n"), std::nullopt);
  Write("memory.max", "-1\n");
  EXPECT_EQ(Limit("0::/\n"), std::nullopt);
  Write("memory.max", std::string(400, '9') + "\n");  // beyond a double: no limit, no exception
  EXPECT_EQ(Limit("0::/\n"), std::nullopt);
  EXPECT_EQ(Limit("garbage without colons\n"), std::nullopt);
}

TEST(UsableMemoryTest, IsPositiveOnThisMachine) {
  const MemoryLimit memory = UsableMemory();
  EXPECT_GT(memory.bytes, 0);
}

}  // namespace
}  // namespace lstmad::daemon
