#include "zip_archive.h"

#include <zip.h>

#include <utility>

namespace lstmad::keras {

using core::Result;
using core::Status;

bool LooksLikeZip(std::string_view bytes) {
  return bytes.starts_with(std::string_view("PK\3\4", 4)) ||
         bytes.starts_with(std::string_view("PK\5\6", 4));
}

Result<ZipArchive> ZipArchive::Open(std::string_view bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return Status::Error("cannot read the zip archive");
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    const std::string why = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    return Status::Error("not a readable zip archive (" + why + ")");
  }
  zip_error_fini(&error);
  return ZipArchive(archive);
}

ZipArchive::~ZipArchive() {
  if (archive_ != nullptr) zip_discard(archive_);
}

ZipArchive::ZipArchive(ZipArchive&& other) noexcept
    : archive_(std::exchange(other.archive_, nullptr)) {}

Result<std::optional<std::string>> ZipArchive::Read(const std::string& name,
                                                    uint64_t max_size) const {
  const zip_int64_t index = zip_name_locate(archive_, name.c_str(), 0);
  if (index < 0) return std::optional<std::string>();
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive_, static_cast<zip_uint64_t>(index), 0, &stat) != 0 ||
      (stat.valid & ZIP_STAT_SIZE) == 0) {
    return Status::Error(name + ": unreadable zip entry");
  }
  if (stat.size > max_size) {
    return Status::Error(name + ": " + std::to_string(stat.size) + " bytes, over the " +
                         std::to_string(max_size) + "-byte limit");
  }
  zip_file_t* file = zip_fopen_index(archive_, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr) {
    return Status::Error(name + ": cannot open zip entry (" + zip_strerror(archive_) + ")");
  }
  std::string data(static_cast<size_t>(stat.size), '\0');
  zip_uint64_t done = 0;
  bool failed = false;
  while (done < stat.size) {
    const zip_int64_t n = zip_fread(file, data.data() + done, stat.size - done);
    if (n <= 0) {
      failed = true;
      break;
    }
    done += static_cast<zip_uint64_t>(n);
  }
  // One more read must hit the end: it also makes libzip check the CRC.
  char extra = 0;
  if (!failed && zip_fread(file, &extra, 1) != 0) failed = true;
  const std::string why = failed ? zip_file_strerror(file) : "";
  zip_fclose(file);
  if (failed) return Status::Error(name + ": damaged zip entry (" + why + ")");
  return std::optional<std::string>(std::move(data));
}

}  // namespace lstmad::keras
