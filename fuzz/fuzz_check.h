// What the fuzz harnesses share: a property check that reports and aborts.
// libFuzzer treats the abort as a crash and saves the input as crash-<sha1>,
// so a broken property is a finding just like a sanitizer report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace lstmad::fuzz {

[[noreturn]] inline void PropertyFailed(const char* file, int line, const char* condition,
                                        std::string_view detail) {
  std::fprintf(stderr, "%s:%d: property violated: %s\n  %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace lstmad::fuzz

// LSTMAD_FUZZ_CHECK(condition, detail): `detail` (anything convertible to a
// string_view) is evaluated only when the condition fails.
#define LSTMAD_FUZZ_CHECK(condition, detail)                                                    \
  do {                                                                                          \
    if (!(condition)) ::lstmad::fuzz::PropertyFailed(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)
