// Internal: the few fixed parts of the HDF5 file format (HDF5 file format
// specification, "Superblock") that the guards in hdf5_heap_check.h and
// hdf5_header_check.h decode from a file image. Pure functions on bytes;
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lstmad::keras::hdf5_layout {

inline constexpr std::string_view kSuperblockSignature("\211HDF\r\n\032\n", 8);

inline uint64_t LittleEndian(std::string_view bytes, size_t offset, size_t size) {
  uint64_t v = 0;
  for (size_t i = size; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return v;
}

// Whether `size` bytes from `at` lie within `bytes` (no overflow).
inline bool Fits(std::string_view bytes, uint64_t at, uint64_t size) {
  return at <= bytes.size() && size <= bytes.size() - at;
}

// Sizes of addresses and lengths this code decodes (HDF5 also allows 16 and
// 32 for addresses).
inline bool Supported(size_t size) { return size == 2 || size == 4 || size == 8; }

// Where HDF5 finds the superblock (it looks at 0, 512, 1024, 2048, ...: a user
// block may come first, and addresses are relative to the superblock) and
// what it declares.
struct Superblock {
  bool found = false;  // the signature
  size_t at = 0;
  unsigned version = 0;
  size_t offsets = 0;  // size of an address
  size_t lengths = 0;  // size of a length

  // Both sizes decodable and the fixed part within the image.
  bool readable(std::string_view image) const {
    return found && Supported(offsets) && Supported(lengths) && Fits(image, at, 28 + 6 * offsets);
  }
  // The image offset of `address` (relative to the superblock), or none
  // (image.size()) when it is HDF5's undefined address or past the image.
  uint64_t Locate(std::string_view image, uint64_t address) const {
    const uint64_t undefined = offsets == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * offsets)) - 1;
    if (address == undefined || address >= image.size() - at) return image.size();
    return at + address;
  }
  // The root group's object header address (versions 0 and 1: in the root
  // symbol table entry after the four addresses; 2 and 3: the fourth address).
  uint64_t RootAddress(std::string_view image) const {
    const size_t fixed = version == 0 ? 24 : version == 1 ? 28 : 12;
    return LittleEndian(image, at + fixed + (version <= 1 ? 5 : 3) * offsets, offsets);
  }
  // The superblock extension's object header address (versions 2 and 3 only).
  uint64_t ExtensionAddress(std::string_view image) const {
    const uint64_t undefined = offsets == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * offsets)) - 1;
    return version >= 2 ? LittleEndian(image, at + 12 + offsets, offsets) : undefined;
  }
};

inline Superblock FindSuperblock(std::string_view image) {
  for (size_t at = 0; at + 16 <= image.size(); at = at == 0 ? 512 : at * 2) {
    if (image.substr(at, kSuperblockSignature.size()) != kSuperblockSignature) continue;
    const auto version = static_cast<uint8_t>(image[at + 8]);
    // Versions 0 and 1: the sizes at bytes 13 and 14; 2 and 3: at bytes 9 and 10.
    const size_t offsets = static_cast<uint8_t>(image[at + (version <= 1 ? 13 : 9)]);
    const size_t lengths = static_cast<uint8_t>(image[at + (version <= 1 ? 14 : 10)]);
    return Superblock{true, at, version, offsets, lengths};
  }
  return Superblock{};
}

}  // namespace lstmad::keras::hdf5_layout
