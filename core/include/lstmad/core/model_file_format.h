// The lstmad model file format's constants, mirrored from docs/model-format.md
// (the document is the specification; change both together). Also the
// checksum function (core/crc32c.h), so tools and tests can build or re-seal
// files.
//
// Layout (all integers little-endian):
//   magic "LSTMADMF" | u32 version | u64 file size | sections... | u32 CRC-32C
// A section is: 4-byte ASCII tag | u64 payload length | payload.
//
// Constants only, plus one pure function: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lstmad/core/crc32c.h"

namespace lstmad::core::model_file {

inline constexpr std::string_view kMagic = "LSTMADMF";
inline constexpr uint32_t kVersion = 1;  // the only version this build reads and writes

// Byte offsets of the fixed header.
inline constexpr size_t kMagicOffset = 0;
inline constexpr size_t kVersionOffset = 8;
inline constexpr size_t kFileSizeOffset = 12;
inline constexpr size_t kFixedHeaderSize = 20;  // magic + version + file size
inline constexpr size_t kTrailerSize = 4;       // CRC-32C of every byte before it
inline constexpr size_t kMinFileSize = kFixedHeaderSize + kTrailerSize;

// A section header: tag then payload length.
inline constexpr size_t kTagSize = 4;
inline constexpr size_t kSectionHeaderSize = kTagSize + 8;

// Section tags. A tag whose first letter is upper case is critical: a reader
// that does not know it must refuse the file. Lower case marks an ancillary
// section that readers skip when unknown.
inline constexpr std::string_view kHeaderTag = "HEAD";   // key=value text: all but the weights
inline constexpr std::string_view kWeightsTag = "WGHT";  // binary float32 tensors

// Header text escaping: bytes outside [kFirstPlainByte, kLastPlainByte], and
// kEscapeByte and kSeparatorByte themselves, are written %XX (upper-case hex).
inline constexpr char kEscapeByte = '%';
inline constexpr char kSeparatorByte = '=';
inline constexpr unsigned char kFirstPlainByte = 0x20;
inline constexpr unsigned char kLastPlainByte = 0x7E;

// Reader limits: anything larger is refused before allocating.
inline constexpr int kMaxDimension = 1 << 20;  // timesteps, features, units, repeat
inline constexpr int kMaxLayers = 1024;
inline constexpr size_t kMaxTensorNameSize = 64;
inline constexpr uint64_t kMaxFileBytes = uint64_t{1} << 31;  // LoadModel reads at most this

// The trailer's checksum: CRC-32C (core/crc32c.h), also reachable here.
using ::lstmad::core::Crc32c;

}  // namespace lstmad::core::model_file
