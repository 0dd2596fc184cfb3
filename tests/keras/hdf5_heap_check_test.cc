// The guards in front of HDF5 1.10's global heap (hdf5_heap_check.h): its
// endless walk (found by the keras fuzz target as a 10 KB file that hung the
// importer) and its unchecked reads through damaged heap IDs (found by the
// same target as heap-buffer-overflows and SEGVs inside H5HG_read).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hdf5_heap_check.h"
#include "lstmad/keras/import.h"
#include "support/keras_test_bytes.h"

namespace lstmad::keras {
namespace {

using testing::Put;
using testing::ReadBytes;

// A version-0 superblock (8-byte lengths) and, at byte 64, one collection of
// `size` bytes whose first object has index `index` and size `object_size`.
std::string ImageWithCollection(uint64_t size, uint64_t index, uint64_t object_size) {
  std::string image(64 + size, '\0');
  image.replace(0, 8, "\211HDF\r\n\032\n");
  image[13] = 8;  // size of offsets
  image[14] = 8;  // size of lengths
  image.replace(64, 4, "GCOL");
  image[68] = 1;
  Put(size, 72, 8, &image);
  Put(index, 80, 2, &image);
  Put(object_size, 88, 8, &image);
  return image;
}

TEST(GlobalHeapCheckTest, AcceptsAWellFormedCollection) {
  // One 10-byte string (16 + 16 bytes) then free space to the end.
  std::string image = ImageWithCollection(4096, 1, 10);
  Put(0, 112, 2, &image);
  Put(4096 - 48, 120, 8, &image);
  EXPECT_TRUE(CheckGlobalHeapCollections(image).ok()) << CheckGlobalHeapCollections(image).message();
}

TEST(GlobalHeapCheckTest, RefusesObjectsThatStopOrOverrunTheWalk) {
  const core::Status empty_free_space = CheckGlobalHeapCollections(ImageWithCollection(4096, 0, 0));
  EXPECT_EQ(empty_free_space.message(),
            "damaged HDF5 file: the global heap collection at byte 64 has an object at byte 80 of size 0");
  // 16 + align(2^64 - 16) wraps to 0 in HDF5's size_t arithmetic.
  EXPECT_FALSE(CheckGlobalHeapCollections(ImageWithCollection(4096, 3, ~uint64_t{0} - 15)).ok());
  EXPECT_FALSE(CheckGlobalHeapCollections(ImageWithCollection(4096, 3, 4090)).ok());
}

TEST(GlobalHeapCheckTest, LeavesWhatHdf5RefusesItselfToHdf5) {
  std::string no_superblock = ImageWithCollection(4096, 0, 0);
  no_superblock[0] = 'x';
  EXPECT_TRUE(CheckGlobalHeapCollections(no_superblock).ok());
  std::string version_2 = ImageWithCollection(4096, 0, 0);
  version_2[68] = 2;
  EXPECT_TRUE(CheckGlobalHeapCollections(version_2).ok());
  // A collection claiming more bytes than the image holds cannot be read.
  std::string truncated = ImageWithCollection(4096, 0, 0);
  truncated.resize(2000);
  EXPECT_TRUE(CheckGlobalHeapCollections(truncated).ok());
}

TEST(GlobalHeapCheckTest, AcceptsEveryRealKerasFile) {
  for (const char* file : {"danielbarbosa-bearing/lstm_autoencoder.h5", "biobb-ml/ref_output_model_autoencoder.h5",
                           "fariha-masters-thesis/lstm_autoencoder.h5"}) {
    const std::string bytes = ReadBytes(file);
    EXPECT_NE(bytes.find("GCOL"), std::string::npos) << file;  // the check has something to walk
    EXPECT_TRUE(CheckGlobalHeapCollections(bytes).ok()) << file;
  }
}

// The fuzzer's finding, rebuilt on a real file: the first object of the
// collection holding model_config made free space of size 0. Without the
// check the import never returns (ctest's timeout would fail the test).
TEST(GlobalHeapCheckTest, ImporterRefusesTheEndlessHeapInsteadOfHanging) {
  std::string bytes = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  const size_t at = bytes.find("GCOL");
  ASSERT_NE(at, std::string::npos);
  Put(0, at + 16, 2, &bytes);  // index 0: free space
  Put(0, at + 24, 8, &bytes);  // of size 0
  auto model = ImportKerasModelFromBytes(bytes, "m.h5", {"a"});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "m.h5: damaged HDF5 file: the global heap collection at byte " +
                                          std::to_string(at) + " has an object at byte " +
                                          std::to_string(at + 16) + " of size 0");
}

// Found by the keras fuzz target: the file stores a variable-length string's
// character type as well, and HDF5 sizes its conversion buffers by it, so a
// 1 MB "character" made one model_config read allocate gigabytes.
TEST(GlobalHeapCheckTest, ImporterRefusesStringsOfWideCharacters) {
  std::string bytes = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  // A variable-length string type (class 9, version 1, 16-byte elements)
  // whose base is a one-byte unsigned integer of 8 bits.
  const std::string one_byte_char("\x10\0\0\0\x01\0\0\0\0\0\x08\0", 12);
  size_t patched = 0;
  for (size_t at = bytes.find(one_byte_char); at != std::string::npos; at = bytes.find(one_byte_char, at + 1)) {
    if (at < 8 || static_cast<unsigned char>(bytes[at - 8]) != 0x19) continue;
    Put(uint64_t{1} << 20, at + 4, 4, &bytes);
    ++patched;
  }
  ASSERT_GT(patched, 0u);
  auto model = ImportKerasModelFromBytes(bytes, "m.h5", {"a"});
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("damaged HDF5 file: a variable-length string of 1048576-byte characters"),
            std::string::npos)
      << model.status().message();
}

// Found by the keras fuzz target: HDF5 sizes a dataset read's conversion
// buffer by the element size the file states, so a float of 2^32 - 9 bytes
// made one weight read allocate 4 GB.
TEST(GlobalHeapCheckTest, ImporterRefusesFloatsOfImpossibleSizes) {
  std::string bytes = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  // A little-endian IEEE float datatype (class 1, version 1) of 4 bytes.
  const std::string float32("\x11\x20\x1f\0\x04\0\0\0", 8);
  size_t patched = 0;
  for (size_t at = bytes.find(float32); at != std::string::npos; at = bytes.find(float32, at + 1)) {
    Put(0xfffffff7u, at + 4, 4, &bytes);
    ++patched;
  }
  ASSERT_GT(patched, 0u);
  auto model = ImportKerasModelFromBytes(bytes, "m.h5", {"a", "b", "c", "d", "e", "f", "g"});
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("stores 4294967287-byte floating-point numbers"), std::string::npos)
      << model.status().message();
}

// A stored variable-length string element: length, address, index (8-byte
// addresses, as in ImageWithCollection).
std::string Element(uint64_t length, uint64_t address, uint64_t index) {
  std::string element(16, '\0');
  Put(length, 0, 4, &element);
  Put(address, 4, 8, &element);
  Put(index, 12, 4, &element);
  return element;
}

// A collection at byte 64 holding object 1 (10 bytes) then free space.
std::string ImageWithOneString() {
  std::string image = ImageWithCollection(4096, 1, 10);
  Put(0, 112, 2, &image);
  Put(4096 - 48, 120, 8, &image);
  return image;
}

TEST(VariableLengthCheckTest, AcceptsReferencesToObjectsTheCollectionHolds) {
  const std::string image = ImageWithOneString();
  EXPECT_EQ(StoredVariableLengthElementSize(image), 16u);
  const std::string stored = Element(10, 64, 1) + Element(0, 0, 0) + Element(10, 64, 1);
  const core::Status status = CheckVariableLengthElements(image, stored, 3);
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(VariableLengthCheckTest, RefusesHeapIdsHdf5WouldFollowOutOfBounds) {
  const std::string image = ImageWithOneString();
  const std::string prefix = "damaged HDF5 file: a variable-length string refers to ";
  auto check = [&](const std::string& element) {
    return CheckVariableLengthElements(image, element, 1).message();
  };
  EXPECT_EQ(check(Element(10, 64, 2)),
            prefix + "object 2 of the global heap collection at byte 64, which it does not hold");
  EXPECT_EQ(check(Element(10, 64, 70000)),
            prefix + "object 70000 of the global heap collection at byte 64, which it does not hold");
  EXPECT_EQ(check(Element(10, 64, 0)),
            prefix + "object 0 of the global heap collection at byte 64, its free space");
  EXPECT_EQ(check(Element(10, 72, 1)), prefix + "byte 72, which holds no global heap collection");
  EXPECT_EQ(check(Element(10, 4096 + 64, 1)), prefix + "byte 4160, which holds no global heap collection");
  EXPECT_EQ(check(Element(10, ~uint64_t{0}, 1)),
            prefix + "byte 18446744073709551615, which holds no global heap collection");
  // Longer than the stored length: HDF5 would copy 10 bytes into a 3-byte buffer.
  EXPECT_EQ(
      check(Element(3, 64, 1)),
      prefix + "object 1 of the global heap collection at byte 64 as 3 bytes long, but the object holds 10");
  // One bad element among good ones is enough.
  EXPECT_FALSE(CheckVariableLengthElements(image, Element(10, 64, 1) + Element(10, 64, 5), 2).ok());
}

TEST(VariableLengthCheckTest, RefusesCollectionsHdf5WouldMisread) {
  const std::string prefix = "damaged HDF5 file: a variable-length string refers to ";
  // Smaller than HDF5's minimum collection: its decoder's arithmetic assumes one.
  std::string small = ImageWithCollection(4096, 1, 10);
  Put(64, 72, 8, &small);
  EXPECT_EQ(CheckVariableLengthElements(small, Element(10, 64, 1), 1).message(),
            prefix + "the global heap collection at byte 64, whose size (64 bytes) is damaged");
  std::string truncated = ImageWithOneString();
  truncated.resize(3000);
  EXPECT_EQ(CheckVariableLengthElements(truncated, Element(10, 64, 1), 1).message(),
            prefix + "the global heap collection at byte 64, whose size (4096 bytes) is damaged");
  // Two objects with index 1: HDF5 would keep the later one.
  std::string twice = ImageWithCollection(4096, 1, 10);
  Put(1, 112, 2, &twice);
  Put(20, 120, 8, &twice);
  Put(0, 152, 2, &twice);
  Put(4096 + 64 - 152, 160, 8, &twice);
  EXPECT_EQ(CheckVariableLengthElements(twice, Element(10, 64, 1), 1).message(),
            prefix + "object 1 of the global heap collection at byte 64, which it holds more than once");
}

TEST(VariableLengthCheckTest, AddressesAreRelativeToTheSuperblock) {
  // A 512-byte user block: the superblock, and the addresses' origin, move.
  const std::string image = std::string(512, 'u') + ImageWithOneString();
  EXPECT_TRUE(CheckVariableLengthElements(image, Element(10, 64, 1), 1).ok());
  EXPECT_FALSE(CheckVariableLengthElements(image, Element(10, 64 + 512, 1), 1).ok());
}

TEST(VariableLengthCheckTest, RefusesWhatItCannotCheck) {
  std::string image = ImageWithOneString();
  EXPECT_EQ(CheckVariableLengthElements(image, Element(10, 64, 1), 2).message(),
            "variable-length strings in an HDF5 layout this reader cannot check");
  image[13] = 16;  // 16-byte addresses
  EXPECT_EQ(StoredVariableLengthElementSize(image), 0u);
  EXPECT_FALSE(CheckVariableLengthElements(image, Element(10, 64, 1), 1).ok());
}

// The offset of the stored element that refers to object `index` of the
// first collection of a real file, found by its bytes.
size_t StoredElementOffset(const std::string& bytes, uint64_t collection, uint64_t index, uint64_t length) {
  return bytes.find(Element(length, collection, index));
}

// What the fuzzer found, rebuilt on a real file: model_config's heap ID
// names an index its collection does not hold (HDF5 1.10 read past its
// object table), then the collection's free space (HDF5 copied past the
// collection), then a length shorter than the object (HDF5 overran the
// string's buffer). Each is refused before HDF5 reads the string.
TEST(VariableLengthCheckTest, ImporterRefusesDamagedHeapIdsOfARealFile) {
  const std::string original = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  const size_t collection = original.find("GCOL");
  ASSERT_EQ(collection, 2048u);
  // Object 3 is the model config: 8569 bytes.
  const size_t at = StoredElementOffset(original, collection, 3, 8569);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(original.find(Element(8569, collection, 3), at + 1), std::string::npos);
  const std::string prefix =
      "m.h5: attribute model_config on /: damaged HDF5 file: a variable-length string refers to ";
  auto import_with = [&](uint64_t length, uint64_t index) {
    std::string bytes = original;
    bytes.replace(at, 16, Element(length, collection, index));
    auto model = ImportKerasModelFromBytes(bytes, "m.h5", {"a"});
    return model.ok() ? std::string("accepted") : model.status().message();
  };
  EXPECT_EQ(import_with(8569, 103),
            prefix + "object 103 of the global heap collection at byte 2048, which it does not hold");
  EXPECT_EQ(import_with(8569, 0),
            prefix + "object 0 of the global heap collection at byte 2048, its free space");
  EXPECT_EQ(
      import_with(10, 3),
      prefix +
          "object 3 of the global heap collection at byte 2048 as 10 bytes long, but the object holds 8569");
}

}  // namespace
}  // namespace lstmad::keras
