#include "lstmad/core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace lstmad::core {
namespace {

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// Closes on every return path; close errors matter only for writes, which
// call Close() themselves.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Hands the descriptor to the caller, who closes it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }
  // Returns 0 or the errno of close().
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

std::string NotRegular(const std::string& path, mode_t mode) {
  return path + ": not a regular file (" + FileKind(mode) + ")";
}

std::string OverLimit(const std::string& path, uint64_t max_bytes) {
  return path + ": larger than the " + std::to_string(max_bytes) + "-byte limit";
}

// Writes all of `bytes`; returns 0 or the errno of the failing write.
int WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // no progress on a regular file: do not spin
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The rename is durable only once the directory entry is on disk too.
Status SyncDirectory(const std::string& path) {
  const std::string dir = DirectoryOf(path);
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // EINVAL: the file system cannot sync directories, so there is nothing to wait for.
  if (!fd.valid() || (::fsync(fd.get()) != 0 && errno != EINVAL)) {
    return Status::Error(path + ": written, but syncing its directory " + dir +
                         " failed: " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Writes and syncs `tmp`; the caller removes it on failure.
Status WriteTmp(const std::string& tmp, std::string_view bytes, uint32_t permissions) {
  // A stale tmp of an interrupted run would make O_EXCL fail forever.
  ::unlink(tmp.c_str());
  // O_EXCL also refuses to follow a symlink someone placed at the tmp path.
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(permissions)));
  if (!fd.valid()) return Status::Error(tmp + ": cannot create: " + ErrnoText(errno));
  if (const int err = WriteAll(fd.get(), bytes); err != 0) {
    return Status::Error(tmp + ": write failed: " + ErrnoText(err));
  }
  if (::fsync(fd.get()) != 0) return Status::Error(tmp + ": fsync failed: " + ErrnoText(errno));
  // close reports errors some file systems delay until then (NFS, quota).
  if (const int err = fd.Close(); err != 0) {
    return Status::Error(tmp + ": write failed on close: " + ErrnoText(err));
  }
  return Status::Ok();
}

// Opens `path` for reading if it is a regular file: `fd_out` gets the
// descriptor (the caller closes it), `size` the file's size.
Status OpenRegular(const std::string& path, int* fd_out, uint64_t* size) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return Status::Error(path + ": cannot open: " + ErrnoText(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Status::Error(path + ": cannot stat: " + ErrnoText(errno));
  if (!S_ISREG(st.st_mode)) return Status::Error(NotRegular(path, st.st_mode));
  *size = static_cast<uint64_t>(st.st_size);
  *fd_out = fd.Release();
  return Status::Ok();
}

}  // namespace

Result<FilePrefix> ReadFilePrefix(const std::string& path, size_t max_bytes) {
  int raw = -1;
  FilePrefix out;
  LSTMAD_RETURN_IF_ERROR(OpenRegular(path, &raw, &out.file_size));
  Fd fd(raw);
  out.bytes.resize(max_bytes);
  size_t got = 0;
  while (got < max_bytes) {
    const ssize_t n = ::read(fd.get(), out.bytes.data() + got, max_bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(path + ": read failed: " + ErrnoText(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.bytes.resize(got);
  return out;
}

Result<std::string> ReadFileBounded(const std::string& path, uint64_t max_bytes) {
  int raw = -1;
  uint64_t size = 0;
  LSTMAD_RETURN_IF_ERROR(OpenRegular(path, &raw, &size));
  Fd fd(raw);
  if (size > max_bytes) return Status::Error(OverLimit(path, max_bytes));
  std::string bytes;
  bytes.reserve(static_cast<size_t>(size));
  std::array<char, 1 << 16> chunk;
  while (true) {
    // Never ask for more than one byte past the limit: that byte proves the excess.
    const uint64_t left = max_bytes - bytes.size();
    const size_t want = left < chunk.size() ? static_cast<size_t>(left) + 1 : chunk.size();
    const ssize_t n = ::read(fd.get(), chunk.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(path + ": read failed: " + ErrnoText(errno));
    if (n == 0) break;
    bytes.append(chunk.data(), static_cast<size_t>(n));
    if (bytes.size() > max_bytes) return Status::Error(OverLimit(path, max_bytes));
  }
  return bytes;
}

Status CheckReplaceable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return Status::Invalid(NotRegular(path, st.st_mode) + ": refusing to replace it");
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes, uint32_t permissions) {
  LSTMAD_RETURN_IF_ERROR(CheckReplaceable(path));
  const std::string tmp = path + ".tmp";
  if (Status written = WriteTmp(tmp, bytes, permissions); !written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::Error(path + ": cannot rename " + tmp + " into place: " + ErrnoText(err));
  }
  return SyncDirectory(path);
}

}  // namespace lstmad::core
