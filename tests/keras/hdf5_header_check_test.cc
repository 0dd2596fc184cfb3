// The guard against HDF5 1.10's allocations sized by unchecked header
// lengths (hdf5_header_check.h): found by the keras fuzz target as a 21 KB
// file whose object header continuation claimed 8 GiB.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hdf5_header_check.h"
#include "support/keras_test_bytes.h"

namespace lstmad::keras {
namespace {

using testing::Put;

// A version-0 superblock (8-byte offsets and lengths) whose root group's
// object header, version 1, is at byte 96 and holds one message of `type`
// with 16 bytes of data (two 8-byte fields, `a` and `b`) then a null message.
std::string ImageWithRootMessage(uint64_t type, uint64_t a, uint64_t b) {
  std::string image(256, '\0');
  image.replace(0, 8, "\211HDF\r\n\032\n");
  image[13] = 8;
  image[14] = 8;
  Put(96, 64, 8, &image);   // root symbol table entry: object header address
  image[96] = 1;            // header version 1
  Put(2, 98, 2, &image);    // two messages
  Put(32, 104, 4, &image);  // chunk size
  Put(type, 112, 2, &image);
  Put(16, 114, 2, &image);
  Put(a, 120, 8, &image);
  Put(b, 128, 8, &image);
  return image;
}

constexpr uint64_t kContinuation = 0x10;
constexpr uint64_t kSymbolTable = 0x11;

TEST(ObjectHeaderCheckTest, FollowsContinuationsTheFileHolds) {
  EXPECT_TRUE(CheckRootObjectHeaders(ImageWithRootMessage(kContinuation, 200, 40)).ok());
  // A continuation back to the first chunk: a cycle HDF5 would refuse, not a hang here.
  EXPECT_TRUE(CheckRootObjectHeaders(ImageWithRootMessage(kContinuation, 112, 32)).ok());
  EXPECT_TRUE(CheckObjectHeader(ImageWithRootMessage(kContinuation, 200, 40), 96).ok());
}

TEST(ObjectHeaderCheckTest, RefusesContinuationsPastTheFile) {
  EXPECT_EQ(
      CheckRootObjectHeaders(ImageWithRootMessage(kContinuation, 200, uint64_t{1} << 33)).message(),
      "damaged HDF5 file: the object header at byte 96 continues at byte 200 for 8589934592 bytes, which "
      "the file does not hold");
  EXPECT_EQ(CheckRootObjectHeaders(ImageWithRootMessage(kContinuation, 131320443728495, 64)).message(),
            "damaged HDF5 file: the object header at byte 96 continues at byte 131320443728495 for 64 bytes, "
            "which the file does not hold");
  EXPECT_FALSE(CheckRootObjectHeaders(ImageWithRootMessage(kContinuation, 200, 0)).ok());
  // Found in a continuation chunk, too: the first continues at 160, whose
  // first message continues past the file.
  std::string chained = ImageWithRootMessage(kContinuation, 160, 32);
  Put(kContinuation, 160, 2, &chained);
  Put(16, 162, 2, &chained);
  Put(240, 168, 8, &chained);
  Put(17, 176, 8, &chained);
  EXPECT_EQ(
      CheckRootObjectHeaders(chained).message(),
      "damaged HDF5 file: the object header at byte 96 continues at byte 240 for 17 bytes, which the file "
      "does not hold");
}

TEST(ObjectHeaderCheckTest, RefusesLocalHeapsLargerThanTheFile) {
  // Symbol table message: B-tree address, local heap address (160).
  std::string image = ImageWithRootMessage(kSymbolTable, 0, 160);
  image.replace(160, 4, "HEAP");
  Put(40, 168, 8, &image);   // data segment size
  Put(200, 184, 8, &image);  // data segment address
  EXPECT_TRUE(CheckRootObjectHeaders(image).ok());
  Put(uint64_t{1} << 33, 168, 8, &image);
  EXPECT_EQ(
      CheckRootObjectHeaders(image).message(),
      "damaged HDF5 file: the local heap at byte 160 claims a data segment of 8589934592 bytes at byte 200, "
      "which the file does not hold");
}

TEST(ObjectHeaderCheckTest, RefusesLocalHeapsWhoseNamesHaveNoEnd) {
  // Found by the keras fuzz target: a link name strdup()ed past the heap
  // segment HDF5 read into memory.
  std::string image = ImageWithRootMessage(kSymbolTable, 0, 160);
  image.replace(160, 4, "HEAP");
  Put(40, 168, 8, &image);   // data segment size: bytes 200 .. 239
  Put(200, 184, 8, &image);  // data segment address
  image.replace(200, 5, "abcd");
  EXPECT_TRUE(CheckRootObjectHeaders(image).ok());  // "abcd" and its NUL; the rest zeros
  image.replace(205, 35, std::string(35, 'x'));      // the segment's last byte is not NUL
  EXPECT_EQ(CheckRootObjectHeaders(image).message(),
            "damaged HDF5 file: the local heap at byte 160 has a data segment that does not end in a NUL "
            "byte, so a link name in it has no end");
}

TEST(ObjectHeaderCheckTest, LeavesWhatHdf5RefusesItselfToHdf5) {
  std::string no_header = ImageWithRootMessage(kContinuation, 200, uint64_t{1} << 33);
  no_header[96] = 7;  // no header version 7
  EXPECT_TRUE(CheckRootObjectHeaders(no_header).ok());
  std::string overrun = ImageWithRootMessage(kContinuation, 200, uint64_t{1} << 33);
  Put(4000, 114, 2, &overrun);  // the message overruns its chunk: HDF5 stops there
  EXPECT_TRUE(CheckRootObjectHeaders(overrun).ok());
  EXPECT_TRUE(CheckObjectHeader(ImageWithRootMessage(kContinuation, 200, uint64_t{1} << 33), 5000).ok());
}

// The root header holding one attribute message (version 1): name "a",
// a 4-byte integer datatype, a rank-1 dataspace of `count` elements, and 8
// bytes of room for values.
std::string ImageWithRootAttribute(uint64_t count) {
  std::string image(256, '\0');
  image.replace(0, 8, "\211HDF\r\n\032\n");
  image[13] = 8;
  image[14] = 8;
  Put(96, 64, 8, &image);
  image[96] = 1;
  Put(1, 98, 2, &image);
  Put(56, 104, 4, &image);  // chunk: one 8-byte message header, 48 bytes of data
  Put(0x0C, 112, 2, &image);
  Put(48, 114, 2, &image);
  image[120] = 1;           // attribute message version 1
  Put(2, 122, 2, &image);   // name size
  Put(8, 124, 2, &image);   // datatype size
  Put(16, 126, 2, &image);  // dataspace size
  image[128] = 'a';
  image[136] = 0x10;       // datatype: version 1, class 0 (integer)
  Put(4, 140, 4, &image);  // of 4 bytes
  image[144] = 1;          // dataspace version 1
  image[145] = 1;          // rank 1
  Put(count, 152, 8, &image);
  return image;
}

TEST(AttributeMessageCheckTest, AcceptsValuesThatFitTheMessage) {
  EXPECT_TRUE(CheckAttributeMessages(ImageWithRootAttribute(2), 96).ok());
  EXPECT_TRUE(CheckAttributeMessages(ImageWithRootAttribute(0), 96).ok());
}

TEST(AttributeMessageCheckTest, RefusesValuesLargerThanTheMessage) {
  const std::string larger =
      "damaged HDF5 file: the object header at byte 96 has an attribute at byte 120 larger than its message";
  EXPECT_EQ(CheckAttributeMessages(ImageWithRootAttribute(3), 96).message(), larger);
  EXPECT_EQ(CheckAttributeMessages(ImageWithRootAttribute(uint64_t{1} << 62), 96).message(), larger);
  // The walk that only vets lengths leaves attributes alone.
  EXPECT_TRUE(CheckObjectHeader(ImageWithRootAttribute(3), 96).ok());
}

TEST(AttributeMessageCheckTest, RefusesVariableLengthElementsDeclaredAtAnotherSize) {
  // Found by the keras fuzz target: HDF5 1.10 sized the buffer by the
  // declared 12 bytes and copied the 16 a variable-length element is stored in.
  std::string image = ImageWithRootAttribute(0);
  image[136] = 0x19;        // datatype: version 1, class 9 (variable-length)
  Put(16, 140, 4, &image);  // 4 (length) + 8 (collection address) + 4 (index)
  EXPECT_TRUE(CheckAttributeMessages(image, 96).ok());
  Put(12, 140, 4, &image);
  EXPECT_EQ(CheckAttributeMessages(image, 96).message(),
            "damaged HDF5 file: the object header at byte 96 has an attribute at byte 120 whose variable-length "
            "elements are declared 12 bytes, not the 16 they are stored in");
}

TEST(AttributeMessageCheckTest, RefusesSharedAttributes) {
  std::string image = ImageWithRootAttribute(1);
  image[116] = 0x02;  // the message is shared: stored elsewhere
  EXPECT_EQ(
      CheckAttributeMessages(image, 96).message(),
      "damaged HDF5 file: the object header at byte 96 has an attribute at byte 120 with shared parts, which "
      "Keras files do not have");
}

}  // namespace
}  // namespace lstmad::keras
