// The guard against HDF5 1.10's endless global-heap walk (hdf5_heap_check.h):
// found by the keras fuzz target as a 10 KB file that hung the importer.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "hdf5_heap_check.h"
#include "lstmad/keras/import.h"

namespace lstmad::keras {
namespace {

std::string ReadBytes(const std::string& relative) {
  const std::string path = std::string(LSTMAD_KERAS_MODELS_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Put(uint64_t v, size_t offset, int size, std::string* out) {
  for (int i = 0; i < size; ++i) (*out)[offset + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

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

}  // namespace
}  // namespace lstmad::keras
