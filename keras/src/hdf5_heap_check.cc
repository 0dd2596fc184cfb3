#include "hdf5_heap_check.h"

#include <cstdint>
#include <string>

namespace lstmad::keras {
namespace {

constexpr std::string_view kSuperblockSignature("\211HDF\r\n\032\n", 8);
constexpr std::string_view kCollectionSignature("GCOL", 4);
constexpr uint64_t kAlignment = 8;  // objects are padded to 8 bytes (H5HG_ALIGNMENT)

uint64_t LittleEndian(std::string_view bytes, size_t offset, size_t size) {
  uint64_t v = 0;
  for (size_t i = size; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return v;
}

// The superblock's "size of lengths" (2, 4 or 8), or 0 when there is no
// readable superblock. HDF5 looks for it at 0, 512, 1024, 2048, ...
size_t SizeOfLengths(std::string_view image) {
  for (size_t at = 0; at + 16 <= image.size(); at = at == 0 ? 512 : at * 2) {
    if (image.substr(at, kSuperblockSignature.size()) != kSuperblockSignature) continue;
    const auto version = static_cast<uint8_t>(image[at + 8]);
    // Versions 0 and 1: sizes at bytes 13 and 14; 2 and 3: at bytes 9 and 10.
    const size_t size = static_cast<uint8_t>(image[at + (version <= 1 ? 14 : 10)]);
    return size == 2 || size == 4 || size == 8 ? size : 0;
  }
  return 0;
}

// Layout of a collection (HDF5 file format spec, "Global Heap"): "GCOL",
// version 1, 3 reserved bytes, the collection size (a length), then objects:
// index (2 bytes), reference count (2), reserved (4), size (a length), data
// padded to 8 bytes. Index 0 is free space, and its size includes its header.
core::Status WalkCollection(std::string_view image, size_t at, size_t length_size) {
  const uint64_t size = LittleEndian(image, at + 8, length_size);
  if (size > image.size() - at) return core::Status::Ok();  // HDF5 cannot read it: its own error
  const uint64_t object_header = 8 + length_size;
  const uint64_t end = at + size;
  uint64_t p = at + 8 + length_size;
  auto damaged = [&](const std::string& why) {
    return core::Status::Error("damaged HDF5 file: the global heap collection at byte " + std::to_string(at) +
                               " has an object at byte " + std::to_string(p) + " " + why);
  };
  while (p < end) {
    if (end - p < object_header) break;  // too small for an object: trailing free space
    const uint64_t index = LittleEndian(image, p, 2);
    const uint64_t object_size = LittleEndian(image, p + 8, length_size);
    if (object_size > end - p) return damaged("larger than the collection");
    const uint64_t need =
        index > 0 ? object_header + (object_size + kAlignment - 1) / kAlignment * kAlignment : object_size;
    if (need == 0) return damaged("of size 0");
    if (need > end - p) return damaged("running past the collection's end");
    p += need;
  }
  return core::Status::Ok();
}

}  // namespace

core::Status CheckGlobalHeapCollections(std::string_view image) {
  const size_t length_size = SizeOfLengths(image);
  if (length_size == 0) return core::Status::Ok();
  const size_t header = 8 + length_size;
  for (size_t at = image.find(kCollectionSignature); at != std::string_view::npos;
       at = image.find(kCollectionSignature, at + 1)) {
    if (image.size() - at < header || image[at + 4] != 1) continue;  // not a version-1 collection
    LSTMAD_RETURN_IF_ERROR(WalkCollection(image, at, length_size));
  }
  return core::Status::Ok();
}

}  // namespace lstmad::keras
