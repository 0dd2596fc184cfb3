// The shared binary encoding: what is put comes back, and a reader refuses
// counts that run past the input or over the caller's maximum.
#include "lstmad/core/byte_codec.h"

#include <gtest/gtest.h>

namespace lstmad::core::bytes {
namespace {

TEST(ByteCodecTest, RoundTripsValuesStringsAndArrays) {
  std::string out;
  Put<uint8_t>(&out, 7);
  Put<int64_t>(&out, -1234567890123);
  Put<double>(&out, 0.1);
  PutString(&out, "pump,site=s7");
  PutCounted(&out, std::vector<float>{1.5f, -2.0f});
  PutValues(&out, std::vector<int64_t>{3, 4, 5});
  // Little-endian: the int64's lowest byte comes first.
  EXPECT_EQ(static_cast<uint8_t>(out[1]), static_cast<uint8_t>(-1234567890123 & 0xff));
  std::string_view in(out);
  uint8_t a = 0;
  int64_t b = 0;
  double c = 0;
  std::string s;
  std::vector<float> f;
  std::vector<int64_t> v;
  ASSERT_TRUE(Get(&in, &a) && Get(&in, &b) && Get(&in, &c) && GetString(&in, &s) && GetCounted(&in, 2, &f) &&
              GetValues(&in, 3, &v));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(b, -1234567890123);
  EXPECT_EQ(c, 0.1);
  EXPECT_EQ(s, "pump,site=s7");
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(v, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_TRUE(in.empty());
}

TEST(ByteCodecTest, RefusesShortInputAndOversizedCounts) {
  std::string out;
  PutCounted(&out, std::vector<double>{1, 2, 3});
  for (size_t n = 0; n < out.size(); ++n) {
    std::string_view in(out.data(), n);
    std::vector<double> values;
    EXPECT_FALSE(GetCounted(&in, 10, &values)) << n;
  }
  std::string_view in(out);
  std::vector<double> values;
  EXPECT_FALSE(GetCounted(&in, 2, &values));  // over the caller's maximum
  std::string huge;
  Put<uint32_t>(&huge, 0xffffffffu);  // a string "of 4 GiB" in 4 bytes
  std::string_view h(huge);
  std::string s;
  EXPECT_FALSE(GetString(&h, &s));
  std::string_view e;
  std::vector<float> none;
  EXPECT_TRUE(GetValues(&e, 0, &none));  // zero values from nothing
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace lstmad::core::bytes
