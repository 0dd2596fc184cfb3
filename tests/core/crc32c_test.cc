// Tests of core::Crc32c against published check values.
#include "lstmad/core/crc32c.h"

#include <string>

#include <gtest/gtest.h>

#include "lstmad/core/model_file_format.h"

namespace lstmad::core {
namespace {

TEST(Crc32cTest, MatchesTheCatalogueCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, MatchesTheIscsiTestVectors) {
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
}

TEST(Crc32cTest, IsTheSameFunctionTheModelFileFormatNames) {
  EXPECT_EQ(model_file::Crc32c("123456789"), Crc32c("123456789"));
}

}  // namespace
}  // namespace lstmad::core
