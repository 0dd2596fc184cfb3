// Whole-file reads and writes for core and everything above it: one bounded
// read, so no input can make a caller allocate without limit, and one atomic
// write, so a reader never sees a half-written file and a crash leaves either
// the old file or the new one.
//
// Errors name the path and the reason (the errno text where there is one).
// The functions keep no state and are reentrant; two writers of the same
// path at once race for its `.tmp` file and are not supported.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lstmad/core/status.h"

namespace lstmad::core {

// Reads all of the regular file at `path`. Refuses, without reading, a path
// that cannot be opened, one that is not a regular file (a directory, a
// device such as /dev/zero, a FIFO) and one whose size is over `max_bytes`;
// a file that grows past `max_bytes` while being read (or that, like /proc
// files, reports no size) is refused once it does, so at most max_bytes + 1
// bytes are ever held.
Result<std::string> ReadFileBounded(const std::string& path, uint64_t max_bytes);

// The first bytes of a regular file and its size, so a format's fixed header
// can be checked against the file before the whole file is read (and
// allocated for). Refuses what ReadFileBounded refuses for not being a
// regular file; `bytes` is shorter than asked only when the file is.
struct FilePrefix {
  std::string bytes;
  uint64_t file_size = 0;
};
Result<FilePrefix> ReadFilePrefix(const std::string& path, size_t max_bytes);

// Ok when WriteFileAtomically may write `path`: it does not exist or is a
// regular file (a symlink counts as what it points to). Otherwise an Invalid
// status, "PATH: not a regular file (a character device): refusing to
// replace it": renaming a new file over a device, FIFO or socket would swap
// it for a plain file for every other user of the machine (as root,
// `--out /dev/null` would break /dev/null). Commands call it before long work
// so that a bad destination fails at once instead of after training.
Status CheckReplaceable(const std::string& path);

// Replaces `path` with `bytes`: writes `path`.tmp in the same directory,
// fsyncs it, renames it over `path` and fsyncs the directory. Refuses a `path`
// that exists and is not a regular file with CheckReplaceable's Invalid
// status (so `--out /dev/null` leaves /dev/null alone). On any failure the .tmp file is removed and an
// existing `path` is left as it was. The new file gets `permissions` less the umask (0600 for files only
// their owner may read, such as the daemon's snapshot).
inline constexpr uint32_t kDefaultFilePermissions = 0666;
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           uint32_t permissions = kDefaultFilePermissions);

}  // namespace lstmad::core
