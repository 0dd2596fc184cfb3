#include "net/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>

namespace lstmad::daemon {
namespace {

constexpr size_t kStep = 16384;

// Owns a z_stream set up for gzip only (not raw deflate nor zlib-wrapped).
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool ok_ = false;
};

GunzipResult Fail(GunzipResult result, std::string* error, const char* what) {
  if (error != nullptr) *error = what;
  return result;
}

}  // namespace

GunzipResult Gunzip(std::string_view in, size_t max_output, std::string* out, std::string* error) {
  out->clear();
  Inflater inflater;
  if (!inflater.ok()) return Fail(GunzipResult::kCorrupt, error, "zlib could not start");
  z_stream& z = inflater.z();
  // zlib counts in uInt; bodies are bounded far below 4 GiB by their routes.
  if (in.size() > std::numeric_limits<uInt>::max()) return Fail(GunzipResult::kTooLarge, error, "input too large");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::array<char, kStep> chunk;
  bool member_ended = false;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = chunk.size() - z.avail_out;
    if (out->size() + produced > max_output) {
      return Fail(GunzipResult::kTooLarge, error, "decoded body over the limit");
    }
    out->append(chunk.data(), produced);
    if (rc == Z_STREAM_END) {
      member_ended = true;
      // Concatenated members are one stream (RFC 1952 section 2.2).
      if (z.avail_in == 0) return GunzipResult::kOk;
      if (inflateReset(&z) != Z_OK) return Fail(GunzipResult::kCorrupt, error, "zlib could not restart");
      member_ended = false;
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // the input ended inside a member
    if (rc != Z_OK) return Fail(GunzipResult::kCorrupt, error, z.msg != nullptr ? z.msg : "not gzip");
    if (z.avail_in == 0 && produced == 0) break;
  }
  return member_ended ? GunzipResult::kOk : Fail(GunzipResult::kCorrupt, error, "gzip data cut short");
}

}  // namespace lstmad::daemon
