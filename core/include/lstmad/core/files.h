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

// Replaces `path` with `bytes`: writes `path`.tmp in the same directory,
// fsyncs it, renames it over `path` and fsyncs the directory. Refuses a `path`
// that exists and is not a regular file (so `--out /dev/null` leaves
// /dev/null alone). On any failure the .tmp file is removed and an existing
// `path` is left as it was. The new file gets `permissions` less the umask
// (0600 for files only their owner may read, such as the daemon's snapshot).
inline constexpr uint32_t kDefaultFilePermissions = 0666;
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           uint32_t permissions = kDefaultFilePermissions);

}  // namespace lstmad::core
