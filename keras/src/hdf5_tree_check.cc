#include "hdf5_tree_check.h"

#include "hdf5_layout.h"

#include <cstdint>
#include <string>

namespace lstmad::keras {
namespace {

using hdf5_layout::Fits;
using hdf5_layout::LittleEndian;
using hdf5_layout::Superblock;

constexpr std::string_view kTreeSignature("TREE", 4);
constexpr std::string_view kSymbolNodeSignature("SNOD", 4);

core::Status Damaged(size_t at, const std::string& why) {
  return core::Status::Error("damaged HDF5 file: the group B-tree node at byte " + std::to_string(at) + " " + why);
}

// Layout (HDF5 file format spec, "Version 1 B-trees"): "TREE", node type
// (0: group), node level, entries used (2 bytes), left and right sibling
// addresses, then key 0, child 0, key 1, ..., child n-1, key n; a group
// node's key is a length (an offset into the local heap).
core::Status CheckTreeNode(std::string_view image, const Superblock& sb, size_t at) {
  const size_t header = 8 + 2 * sb.offsets;
  if (!Fits(image, at, header)) return core::Status::Ok();  // HDF5 cannot read it: its own error
  if (image[at + 4] != 0) return core::Status::Ok();         // chunk indexes: keys of another shape
  const unsigned level = static_cast<uint8_t>(image[at + 5]);
  const uint64_t entries = LittleEndian(image, at + 6, 2);
  const uint64_t step = sb.lengths + sb.offsets;
  if (!Fits(image, at + header, entries * step + sb.lengths)) {
    return Damaged(at, "has " + std::to_string(entries) + " entries, more than the file holds");
  }
  const std::string_view expected = level > 0 ? kTreeSignature : kSymbolNodeSignature;
  for (uint64_t i = 0; i < entries; ++i) {
    const uint64_t child = LittleEndian(image, at + header + i * step + sb.lengths, sb.offsets);
    const uint64_t located = sb.Locate(image, child);
    if (!Fits(image, located, expected.size()) || image.substr(located, expected.size()) != expected) {
      return Damaged(at, "has a child at address " + std::to_string(child) + ", which holds no " +
                             std::string(level > 0 ? "B-tree node" : "symbol table node"));
    }
  }
  return core::Status::Ok();
}

// Layout: "SNOD", version 1, a reserved byte, the number of symbols (2
// bytes), then that many entries of (link name offset, object header
// address, cache type (4), reserved (4), scratch pad (16)).
core::Status CheckSymbolNode(std::string_view image, const Superblock& sb, size_t at) {
  if (!Fits(image, at, 8) || image[at + 4] != 1) return core::Status::Ok();
  const uint64_t symbols = LittleEndian(image, at + 6, 2);
  const uint64_t entry = sb.lengths + sb.offsets + 24;
  if (!Fits(image, at + 8, symbols * entry)) {
    return core::Status::Error("damaged HDF5 file: the symbol table node at byte " + std::to_string(at) +
                               " has " + std::to_string(symbols) + " entries, more than the file holds");
  }
  return core::Status::Ok();
}

}  // namespace

core::Status CheckGroupTrees(std::string_view image) {
  const Superblock sb = hdf5_layout::FindSuperblock(image);
  if (!sb.readable(image)) return core::Status::Ok();
  for (size_t at = image.find(kTreeSignature); at != std::string_view::npos; at = image.find(kTreeSignature, at + 1)) {
    LSTMAD_RETURN_IF_ERROR(CheckTreeNode(image, sb, at));
  }
  for (size_t at = image.find(kSymbolNodeSignature); at != std::string_view::npos;
       at = image.find(kSymbolNodeSignature, at + 1)) {
    LSTMAD_RETURN_IF_ERROR(CheckSymbolNode(image, sb, at));
  }
  return core::Status::Ok();
}

}  // namespace lstmad::keras
