// Test support for the importer's unit tests: the bytes of a file under
// ../shared/keras-models, little-endian fields written into an image, and
// feature names f0, f1, ...
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace lstmad::keras::testing {

// The bytes of `relative` under LSTMAD_KERAS_MODELS_DIR (a failed expectation if unreadable).
inline std::string ReadBytes(const std::string& relative) {
  const std::string path = std::string(LSTMAD_KERAS_MODELS_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes the low `size` bytes of `v`, little-endian, at `offset` of `out`.
inline void Put(uint64_t v, size_t offset, int size, std::string* out) {
  for (int i = 0; i < size; ++i)
    (*out)[offset + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// `n` feature names: f0, f1, ...
inline std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("f" + std::to_string(i));
  return names;
}

}  // namespace lstmad::keras::testing
