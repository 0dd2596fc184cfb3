#include "lstmad/core/denormals.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace lstmad::core {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
constexpr unsigned kFlushBits = 0x8040;
unsigned long long ReadMode() noexcept { return _mm_getcsr(); }
void WriteMode(unsigned long long mode) noexcept { _mm_setcsr(static_cast<unsigned>(mode)); }
#elif defined(__aarch64__)
// FPCR's FZ bit (24): flushes denormal inputs and results alike.
constexpr unsigned long long kFlushBits = 1ULL << 24;
unsigned long long ReadMode() noexcept {
  unsigned long long mode;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(mode));
  return mode;
}
void WriteMode(unsigned long long mode) noexcept { __asm__ __volatile__("msr fpcr, %0" : : "r"(mode)); }
#else
constexpr unsigned long long kFlushBits = 0;
unsigned long long ReadMode() noexcept { return 0; }
void WriteMode(unsigned long long) noexcept {}
#endif

}  // namespace

FlushDenormals::FlushDenormals() noexcept : previous_(ReadMode()) {
  if (supported()) WriteMode(previous_ | kFlushBits);
}

FlushDenormals::~FlushDenormals() {
  if (supported()) WriteMode(previous_);
}

bool FlushDenormals::supported() noexcept { return kFlushBits != 0; }

}  // namespace lstmad::core
