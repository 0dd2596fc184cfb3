#include "hdf5_heap_check.h"

#include "hdf5_layout.h"

#include <cstdint>
#include <string>

namespace lstmad::keras {
namespace {

using hdf5_layout::FindSuperblock;
using hdf5_layout::LittleEndian;
using hdf5_layout::Superblock;
using hdf5_layout::Supported;

constexpr std::string_view kCollectionSignature("GCOL", 4);
constexpr uint64_t kAlignment = 8;  // objects are padded to 8 bytes (H5HG_ALIGNMENT)

// One object of a collection as HDF5's decoder records it.
struct HeapObject {
  uint64_t index;
  uint64_t header_at;  // byte offset of the object's header in the image
  uint64_t size;       // bytes of data after the header
};

// Layout of a collection (HDF5 file format spec, "Global Heap"): "GCOL",
// version 1, 3 reserved bytes, the collection size (a length), then objects:
// index (2 bytes), reference count (2), reserved (4), size (a length), data
// padded to 8 bytes. Index 0 is free space, and its size includes its header.
// Calls visit(HeapObject) for each object, as HDF5 walks them; refuses what
// would stop HDF5's walk or carry it past the collection.
template <typename Visit>
core::Status WalkCollection(std::string_view image, size_t at, size_t length_size, Visit visit) {
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
    visit(HeapObject{index, p, object_size});
    p += need;
  }
  return core::Status::Ok();
}

// Vets one stored element at `element` (length, address, index).
core::Status CheckElement(std::string_view image, const Superblock& sb, std::string_view element) {
  const uint64_t length = LittleEndian(element, 0, 4);
  const uint64_t address = LittleEndian(element, 4, sb.offsets);
  const uint64_t index = LittleEndian(element, 4 + sb.offsets, 4);
  if (address == 0) return core::Status::Ok();  // HDF5's empty string: nothing is read
  const std::string what = "damaged HDF5 file: a variable-length string refers to ";
  const size_t header = 8 + sb.lengths;
  const uint64_t at = sb.at + address;  // cannot wrap: address < image.size() is checked first
  if (address >= image.size() || at >= image.size() || image.size() - at < header ||
      image.substr(at, 4) != kCollectionSignature || image[at + 4] != 1) {
    return core::Status::Error(what + "byte " + std::to_string(address) +
                               ", which holds no global heap collection");
  }
  const uint64_t size = LittleEndian(image, at + 8, sb.lengths);
  if (size < kMinCollectionSize || size > image.size() - at) {
    return core::Status::Error(what + "the global heap collection at byte " + std::to_string(at) +
                               ", whose size (" + std::to_string(size) + " bytes) is damaged");
  }
  int found = 0;
  uint64_t object_size = 0;
  LSTMAD_RETURN_IF_ERROR(WalkCollection(image, at, sb.lengths, [&](const HeapObject& o) {
    if (o.index != index) return;
    ++found;
    object_size = o.size;
  }));
  const std::string object =
      "object " + std::to_string(index) + " of the global heap collection at byte " + std::to_string(at);
  if (index == 0 || found != 1) {
    return core::Status::Error(what + object +
                               (index == 0   ? ", its free space"
                                : found == 0 ? ", which it does not hold"
                                             : ", which it holds more than once"));
  }
  if (object_size != length) {
    return core::Status::Error(what + object + " as " + std::to_string(length) +
                               " bytes long, but the object holds " + std::to_string(object_size));
  }
  return core::Status::Ok();
}

}  // namespace

core::Status CheckGlobalHeapCollections(std::string_view image) {
  const Superblock sb = FindSuperblock(image);
  if (!sb.found || !Supported(sb.lengths)) return core::Status::Ok();
  const size_t header = 8 + sb.lengths;
  for (size_t at = image.find(kCollectionSignature); at != std::string_view::npos;
       at = image.find(kCollectionSignature, at + 1)) {
    if (image.size() - at < header || image[at + 4] != 1) continue;  // not a version-1 collection
    LSTMAD_RETURN_IF_ERROR(WalkCollection(image, at, sb.lengths, [](const HeapObject&) {}));
  }
  return core::Status::Ok();
}

size_t StoredVariableLengthElementSize(std::string_view image) {
  const Superblock sb = FindSuperblock(image);
  return sb.found && Supported(sb.offsets) && Supported(sb.lengths) ? 4 + sb.offsets + 4 : 0;
}

core::Status CheckVariableLengthElements(std::string_view image, std::string_view stored, size_t count) {
  const Superblock sb = FindSuperblock(image);
  const size_t element_size = StoredVariableLengthElementSize(image);
  if (element_size == 0 || stored.size() / element_size != count || stored.size() % element_size != 0) {
    return core::Status::Error("variable-length strings in an HDF5 layout this reader cannot check");
  }
  for (size_t i = 0; i < count; ++i) {
    LSTMAD_RETURN_IF_ERROR(CheckElement(image, sb, stored.substr(i * element_size, element_size)));
  }
  return core::Status::Ok();
}

}  // namespace lstmad::keras
