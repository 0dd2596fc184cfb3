#include "hdf5_header_check.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "hdf5_layout.h"

namespace lstmad::keras {
namespace {

using hdf5_layout::FindSuperblock;
using hdf5_layout::Fits;
using hdf5_layout::LittleEndian;
using hdf5_layout::Superblock;

constexpr uint64_t kContinuation = 0x10;  // message types (spec, "Object Header Messages")
constexpr uint64_t kSymbolTable = 0x11;
constexpr uint64_t kAttribute = 0x0C;
constexpr uint64_t kVariableLengthClass = 9;

// A run of messages: [begin, end) in the image, in the header's version.
struct Chunk {
  uint64_t begin;
  uint64_t end;
};

class HeaderWalk {
 public:
  HeaderWalk(std::string_view image, const Superblock& sb, uint64_t header_at, bool attributes)
      : image_(image), sb_(sb), header_at_(header_at), attributes_(attributes) {}

  core::Status Run() {
    std::vector<Chunk> pending;
    if (!FirstChunk(&pending)) return core::Status::Ok();  // not a header: HDF5 says so itself
    std::unordered_set<uint64_t> seen;
    int chunks = 0;
    while (!pending.empty()) {
      const Chunk chunk = pending.back();
      pending.pop_back();
      if (!seen.insert(chunk.begin).second) continue;
      if (++chunks > kMaxHeaderChunks)
        return Damaged("leads to more than " + std::to_string(kMaxHeaderChunks) + " chunks");
      LSTMAD_RETURN_IF_ERROR(Messages(chunk, &pending));
    }
    return core::Status::Ok();
  }

 private:
  // Version 1: version, reserved, message count (2), reference count (4),
  // chunk size (4), padding to 16; version 2: "OHDR", version, flags, times
  // (16, flag 0x20), attribute phase change values (4, flag 0x10), chunk size
  // (1 << (flags & 3) bytes), messages, checksum (4).
  bool FirstChunk(std::vector<Chunk>* pending) {
    const uint64_t p = header_at_;
    if (Fits(image_, p, 16) && image_[p] == 1) {
      version2_ = false;
      const uint64_t size = LittleEndian(image_, p + 8, 4);
      if (!Fits(image_, p + 16, size)) return false;  // HDF5 checks its first chunk against the file
      pending->push_back({p + 16, p + 16 + size});
      return true;
    }
    if (!Fits(image_, p, 6) || image_.substr(p, 4) != "OHDR" || image_[p + 4] != 2) return false;
    version2_ = true;
    const auto flags = static_cast<uint8_t>(image_[p + 5]);
    creation_order_ = (flags & 0x04) != 0;
    const uint64_t size_at = p + 6 + ((flags & 0x20) ? 16 : 0) + ((flags & 0x10) ? 4 : 0);
    const size_t size_bytes = size_t{1} << (flags & 3);
    if (!Fits(image_, size_at, size_bytes)) return false;
    const uint64_t size = LittleEndian(image_, size_at, size_bytes);
    if (!Fits(image_, size_at + size_bytes, size)) return false;
    pending->push_back({size_at + size_bytes, size_at + size_bytes + size});
    return true;
  }

  // Message headers: version 1, type (2), size (2), flags (1), reserved (3);
  // version 2, type (1), size (2), flags (1), creation order (2, if tracked).
  core::Status Messages(const Chunk& chunk, std::vector<Chunk>* pending) {
    const uint64_t header = version2_ ? (creation_order_ ? 6 : 4) : 8;
    for (uint64_t p = chunk.begin; chunk.end - p >= header;) {
      const uint64_t type = LittleEndian(image_, p, version2_ ? 1 : 2);
      const uint64_t size = LittleEndian(image_, p + (version2_ ? 1 : 2), 2);
      const uint64_t data = p + header;
      if (size > chunk.end - data) break;  // HDF5 refuses the chunk: it loads nothing past it
      if (attributes_ && type == kAttribute) {
        const auto flags = static_cast<uint8_t>(image_[p + (version2_ ? 3 : 4)]);
        LSTMAD_RETURN_IF_ERROR(Attribute(data, size, flags));
      }
      if (type == kContinuation && size >= sb_.offsets + sb_.lengths) {
        LSTMAD_RETURN_IF_ERROR(Continuation(data, pending));
      } else if (type == kSymbolTable && size >= 2 * sb_.offsets) {
        LSTMAD_RETURN_IF_ERROR(LocalHeap(LittleEndian(image_, data + sb_.offsets, sb_.offsets)));
      }
      p = data + size;
    }
    return core::Status::Ok();
  }

  // Continuation: address, length. HDF5 allocates the length before reading.
  // Version 2 chunks are "OCHK", messages, checksum (4).
  core::Status Continuation(uint64_t data, std::vector<Chunk>* pending) {
    const uint64_t address = LittleEndian(image_, data, sb_.offsets);
    const uint64_t length = LittleEndian(image_, data + sb_.offsets, sb_.lengths);
    const uint64_t at = sb_.Locate(image_, address);
    if (length == 0 || at == image_.size() || !Fits(image_, at, length)) {
      return Damaged("continues at byte " + std::to_string(address) + " for " + std::to_string(length) +
                     " bytes, which the file does not hold");
    }
    if (!version2_) {
      pending->push_back({at, at + length});
    } else if (length >= 8 && image_.substr(at, 4) == "OCHK") {
      pending->push_back({at + 4, at + length - 4});
    }  // else HDF5 refuses the chunk, after loading only what the file holds
    return core::Status::Ok();
  }

  // Local heap (spec, "Local Heaps"): "HEAP", version 0, reserved (3), data
  // segment size (a length), free list offset (a length), data segment
  // address. HDF5 allocates the size before reading when the segment does
  // not follow the header.
  core::Status LocalHeap(uint64_t address) {
    const uint64_t at = sb_.Locate(image_, address);
    if (!Fits(image_, at, 8 + 2 * sb_.lengths + sb_.offsets) || image_.substr(at, 4) != "HEAP") {
      return core::Status::Ok();  // HDF5 refuses it itself
    }
    const uint64_t size = LittleEndian(image_, at + 8, sb_.lengths);
    const uint64_t data_address = LittleEndian(image_, at + 8 + 2 * sb_.lengths, sb_.offsets);
    const uint64_t data_at = sb_.Locate(image_, data_address);
    if (data_at == image_.size() || !Fits(image_, data_at, size)) {
      return core::Status::Error("damaged HDF5 file: the local heap at byte " + std::to_string(at) +
                                 " claims a data segment of " + std::to_string(size) + " bytes at byte " +
                                 std::to_string(data_address) + ", which the file does not hold");
    }
    // The segment holds the group's link names, NUL-terminated (its free
    // blocks end in a little-endian length, whose top byte is 0). HDF5 1.10
    // strdup()s a name at any offset inside it: without a NUL at the end, a
    // name runs past the segment it read into memory.
    if (size > 0 && image_[static_cast<size_t>(data_at + size - 1)] != '\0') {
      return core::Status::Error("damaged HDF5 file: the local heap at byte " + std::to_string(at) +
                                 " has a data segment that does not end in a NUL byte, so a link name "
                                 "in it has no end");
    }
    return core::Status::Ok();
  }

  // Attribute message (spec, "Attribute Message"): version, reserved or
  // flags, name size (2), datatype size (2), dataspace size (2), [version 3:
  // name encoding], name, datatype, dataspace (each padded to 8 in version
  // 1), data. HDF5 1.10 copies nelmts x the datatype's size from the data
  // without checking it against the message: it must fit.
  core::Status Attribute(uint64_t data, uint64_t size, uint8_t message_flags) {
    const std::string_view m = image_.substr(data, size);
    const auto version = m.empty() ? 0 : static_cast<uint8_t>(m[0]);
    if (version < 1 || version > 3 || m.size() < 8) return core::Status::Ok();  // HDF5 refuses it
    const std::string at = "an attribute at byte " + std::to_string(data);
    if ((message_flags & 0x02) || (version >= 2 && (m[1] & 0x03))) {
      return Damaged("has " + at + " with shared parts, which Keras files do not have");
    }
    auto padded = [&](uint64_t n) { return version == 1 ? (n + 7) / 8 * 8 : n; };
    const uint64_t name = padded(LittleEndian(m, 2, 2));
    const uint64_t type = padded(LittleEndian(m, 4, 2));
    const uint64_t space = padded(LittleEndian(m, 6, 2));
    const uint64_t type_at = (version == 3 ? 9 : 8) + name;
    const uint64_t space_at = type_at + type;
    const uint64_t values_at = space_at + space;
    if (values_at > m.size() || type < 8 || space < 4)
      return Damaged("has " + at + " larger than its message");
    // Datatype: class and version (1), class bits (3), size (4); a
    // variable-length element is stored as length, address, index.
    const bool variable = (m[type_at] & 0x0f) == kVariableLengthClass;
    const uint64_t declared = LittleEndian(m, type_at + 4, 4);
    const uint64_t element = variable ? 8 + sb_.offsets : declared;
    // HDF5 1.10 sizes the attribute's buffer by the declared size and then
    // copies the stored size per element: the two must agree.
    if (variable && declared != element) {
      return Damaged("has " + at + " whose variable-length elements are declared " + std::to_string(declared) +
                     " bytes, not the " + std::to_string(element) + " they are stored in");
    }
    // Dataspace: version (1), rank (1), flags (1), then version 1: 5
    // reserved bytes, version 2: the type (2 is the null space); the sizes.
    const auto space_version = static_cast<uint8_t>(m[space_at]);
    const uint64_t rank = static_cast<uint8_t>(m[space_at + 1]);
    const uint64_t dims_at = space_at + (space_version == 1 ? 8 : 4);
    if (space_version == 2 && m[space_at + 3] == 2) return core::Status::Ok();  // no elements
    if (dims_at + rank * sb_.lengths > values_at) return Damaged("has " + at + " larger than its message");
    uint64_t bytes = element;
    for (uint64_t d = 0; d < rank; ++d) {
      const uint64_t n = LittleEndian(m, dims_at + d * sb_.lengths, sb_.lengths);
      if (n != 0 && bytes > (m.size() - values_at) / n)
        return Damaged("has " + at + " larger than its message");
      bytes *= n;
    }
    if (bytes > m.size() - values_at) return Damaged("has " + at + " larger than its message");
    return core::Status::Ok();
  }

  core::Status Damaged(const std::string& why) const {
    return core::Status::Error("damaged HDF5 file: the object header at byte " + std::to_string(header_at_) +
                               " " + why);
  }

  std::string_view image_;
  const Superblock& sb_;
  uint64_t header_at_;
  bool attributes_;
  bool version2_ = false;
  bool creation_order_ = false;
};

core::Status WalkHeader(std::string_view image, uint64_t address, bool attributes) {
  const Superblock sb = FindSuperblock(image);
  if (!sb.readable(image)) return core::Status::Ok();
  const uint64_t at = sb.Locate(image, address);
  if (at == image.size()) return core::Status::Ok();  // HDF5 refuses an address past the file
  return HeaderWalk(image, sb, at, attributes).Run();
}

}  // namespace

core::Status CheckObjectHeader(std::string_view image, uint64_t address) {
  return WalkHeader(image, address, /*attributes=*/false);
}

core::Status CheckAttributeMessages(std::string_view image, uint64_t address) {
  return WalkHeader(image, address, /*attributes=*/true);
}

core::Status CheckRootObjectHeaders(std::string_view image) {
  const Superblock sb = FindSuperblock(image);
  if (!sb.readable(image)) return core::Status::Ok();
  LSTMAD_RETURN_IF_ERROR(CheckObjectHeader(image, sb.RootAddress(image)));
  return CheckObjectHeader(image, sb.ExtensionAddress(image));
}

}  // namespace lstmad::keras
