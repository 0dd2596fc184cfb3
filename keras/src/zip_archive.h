// Internal: reads named members of a zip archive held in memory (a Keras 3
// `.keras` file), through libzip.
//
// Input is untrusted: a member's declared size is checked against a limit
// before anything is allocated, the bytes read must match it, and libzip
// checks each member's CRC. Errors carry no file name: the caller adds it.
// Not thread-safe; one object per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lstmad/core/status.h"

struct zip;

namespace lstmad::keras {

class ZipArchive {
 public:
  // `bytes` must outlive the object.
  static core::Result<ZipArchive> Open(std::string_view bytes);
  ~ZipArchive();
  ZipArchive(ZipArchive&& other) noexcept;
  ZipArchive& operator=(ZipArchive&&) = delete;
  ZipArchive(const ZipArchive&) = delete;

  // The member called `name`, or nullopt when the archive has none.
  core::Result<std::optional<std::string>> Read(const std::string& name, uint64_t max_size) const;

 private:
  explicit ZipArchive(struct zip* archive) : archive_(archive) {}
  struct zip* archive_ = nullptr;
};

// Zip archives start with a local file header ("PK\3\4"), or with the end of
// central directory record ("PK\5\6") when empty.
bool LooksLikeZip(std::string_view bytes);

}  // namespace lstmad::keras
