// How much memory this process may use: the machine's physical memory, or
// its cgroup's limit where that is lower. A service's MemoryMax= (systemd)
// and a container's memory limit (deploy/kubernetes sets 1Gi) are cgroup
// limits the machine's figure knows nothing of, and the kernel kills the
// process at them. Both cgroup versions are read: v2's memory.max and v1's
// memory.limit_in_bytes, at the process's cgroup path (/proc/self/cgroup)
// and each of its ancestors, since a limit on a parent slice binds too; a
// container that sees its own cgroup at the root of the mount is covered
// by the root's file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lstmad::daemon {

struct MemoryLimit {
  double bytes = 0;  // 0: nothing could be read
  bool from_cgroup = false;
};

// The machine's physical memory, lowered to the cgroup limit if any.
MemoryLimit UsableMemory();

// The lowest cgroup memory limit that applies to a process whose
// /proc/self/cgroup reads `proc_self_cgroup`, with the cgroup file systems
// mounted under `cgroup_root` (/sys/fs/cgroup); none when there is no limit
// ("max", or v1's "unlimited" value near 2^63) or no file can be read.
std::optional<double> CgroupMemoryLimit(const std::string& cgroup_root, std::string_view proc_self_cgroup);

}  // namespace lstmad::daemon
