#include "lstmad/core/crc32c.h"

#include <array>

namespace lstmad::core {
namespace {

// Byte-at-a-time table: the checksummed files are read once per load, so a
// slicing-by-8 or SSE4.2 version would not be noticed.
constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t Crc32c(std::string_view bytes) { return Crc32cExtend(0, bytes); }

uint32_t Crc32cExtend(uint32_t crc, std::string_view bytes) {
  crc ^= 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc = (crc >> 8) ^ kTable[(crc ^ static_cast<unsigned char>(c)) & 0xFFu];
  }
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace lstmad::core
