// The guard in front of HDF5 1.10's walk of old-style groups
// (hdf5_tree_check.h): found by the keras fuzz target as a SIGSEGV of the
// release binary on a 21 KB file whose group B-tree had a child at the
// undefined address.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "hdf5_tree_check.h"
#include "lstmad/keras/import.h"
#include "support/keras_test_bytes.h"

namespace lstmad::keras {
namespace {

using testing::Put;
using testing::ReadBytes;

constexpr const char* kRealFiles[] = {"danielbarbosa-bearing/lstm_autoencoder.h5",
                                      "biobb-ml/ref_output_model_autoencoder.h5",
                                      "fariha-masters-thesis/lstm_autoencoder.h5"};

// The first group B-tree leaf (type 0, level 0) with an entry; npos if none.
size_t FirstGroupLeaf(const std::string& bytes) {
  for (size_t at = bytes.find("TREE"); at != std::string::npos; at = bytes.find("TREE", at + 1)) {
    if (bytes[at + 4] == 0 && bytes[at + 5] == 0 && bytes[at + 6] != 0) return at;
  }
  return std::string::npos;
}

TEST(GroupTreeCheckTest, AcceptsEveryRealKerasFile) {
  for (const char* file : kRealFiles) {
    const std::string bytes = ReadBytes(file);
    EXPECT_NE(FirstGroupLeaf(bytes), std::string::npos) << file;  // the check has something to walk
    const core::Status status = CheckGroupTrees(bytes);
    EXPECT_TRUE(status.ok()) << file << ": " << status.message();
  }
}

TEST(GroupTreeCheckTest, ImporterRefusesAChildAtTheUndefinedAddress) {
  std::string bytes = ReadBytes(kRealFiles[0]);
  const size_t at = FirstGroupLeaf(bytes);
  ASSERT_NE(at, std::string::npos);
  // 8-byte addresses and lengths: the header is 8 + 2 * 8 bytes, then key 0, child 0.
  Put(~uint64_t{0}, at + 24 + 8, 8, &bytes);
  auto model = ImportKerasModelFromBytes(bytes, "m.h5", {"a", "b", "c", "d", "e", "f", "g"});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "m.h5: damaged HDF5 file: the group B-tree node at byte " + std::to_string(at) +
                                          " has a child at address 18446744073709551615, which holds no symbol "
                                          "table node");
}

TEST(GroupTreeCheckTest, RefusesChildrenThatAreNotNodesAndCountsPastTheFile) {
  std::string bytes = ReadBytes(kRealFiles[0]);
  const size_t at = FirstGroupLeaf(bytes);
  ASSERT_NE(at, std::string::npos);
  std::string inside = bytes;
  Put(0, at + 24 + 8, 8, &inside);  // the superblock: within the file, but no symbol table node
  EXPECT_FALSE(CheckGroupTrees(inside).ok());
  std::string many = bytes;
  Put(0xffff, at + 6, 2, &many);
  const core::Status status = CheckGroupTrees(many);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("has 65535 entries, more than the file holds"), std::string::npos)
      << status.message();
}

}  // namespace
}  // namespace lstmad::keras
