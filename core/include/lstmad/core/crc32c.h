// CRC-32C (Castagnoli): the checksum of the model file, the daemon's stream
// snapshot and the cluster checkpoints. Reflected polynomial 0x82F63B78,
// initial value and final xor 0xFFFFFFFF, as used by iSCSI, ext4 and leveldb;
// check value Crc32c("123456789") == 0xE3069283.
//
// A pure function over a constant table: safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace lstmad::core {

uint32_t Crc32c(std::string_view bytes);
// The CRC-32C of the bytes `crc` was computed over followed by `bytes`:
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b), without joining them.
uint32_t Crc32cExtend(uint32_t crc, std::string_view bytes);

}  // namespace lstmad::core
