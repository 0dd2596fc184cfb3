// Bad bytes given to the importer: each gives an error naming the source,
// never a crash (a fuzzer will take this further).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "lstmad/keras/import.h"
#include "model_config.h"
#include "support/keras_test_bytes.h"

namespace lstmad::keras {
namespace {

using testing::Names;
using testing::ReadBytes;

// Imports `bytes`; an error must name the source, a success must be a model
// that runs.
void ExpectHandled(const std::string& bytes, int features, const std::string& what) {
  auto model = ImportKerasModelFromBytes(bytes, "SOURCE", Names(features));
  if (model.ok()) {
    EXPECT_TRUE(model->MakeNetwork().ok()) << what;
  } else {
    EXPECT_EQ(model.status().message().rfind("SOURCE: ", 0), 0u)
        << what << ": " << model.status().message();
  }
}

TEST(BadInputTest, RefusesBytesThatAreNeitherHdf5NorZip) {
  for (const std::string& bytes : {std::string(), std::string("x"), std::string(1000, '\0'),
                                  std::string("timestamp,x\n1,2\n"), std::string("LSTMADMF")}) {
    auto model = ImportKerasModelFromBytes(bytes, "f.h5", Names(1));
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().message(),
              "f.h5: not a Keras model file: neither HDF5 (.h5) nor a zip archive (.keras)");
  }
}

TEST(BadInputTest, RefusesAZipWithoutConfigJson) {
  const std::string empty_zip = std::string("PK\5\6", 4) + std::string(18, '\0');
  auto model = ImportKerasModelFromBytes(empty_zip, "m.keras", Names(1));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(),
            "m.keras: a zip archive without config.json: not a Keras .keras file");
  auto broken = ImportKerasModelFromBytes("PK\3\4 not really", "m.keras", Names(1));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("m.keras: not a readable zip archive"),
            std::string::npos);
}

TEST(BadInputTest, RefusesAnHdf5SignatureFollowedByGarbage) {
  std::string bytes("\211HDF\r\n\032\n", 8);
  std::mt19937 rng(1);
  for (int i = 0; i < 4096; ++i) bytes.push_back(static_cast<char>(rng()));
  auto model = ImportKerasModelFromBytes(bytes, "x.h5", Names(1));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "x.h5: damaged HDF5 file (the HDF5 library cannot open it)");
}

TEST(BadInputTest, EveryTruncationOfALegacyFileIsHandled) {
  const std::string bytes = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  ASSERT_TRUE(ImportKerasModelFromBytes(bytes, "SOURCE", Names(7)).ok());
  for (size_t n = 0; n < bytes.size(); n += n < 4096 ? 61 : 1021) {
    ExpectHandled(bytes.substr(0, n), 7, "truncated to " + std::to_string(n));
    EXPECT_FALSE(ImportKerasModelFromBytes(bytes.substr(0, n), "SOURCE", Names(7)).ok()) << n;
  }
}

TEST(BadInputTest, FlippedBytesInALegacyFileAreHandled) {
  const std::string bytes = ReadBytes("danielbarbosa-bearing/lstm_autoencoder.h5");
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    std::string mutated = bytes;
    const size_t at = rng() % mutated.size();
    mutated[at] = static_cast<char>(mutated[at] ^ static_cast<int>(1 + rng() % 255));
    ExpectHandled(mutated, 7, "byte " + std::to_string(at) + " flipped");
  }
}

TEST(BadInputTest, TruncatedAndFlippedKerasZipsAreHandled) {
  const std::string bytes = ReadBytes("fariha-masters-thesis/lstm_encoder_new.keras");
  ASSERT_TRUE(ImportKerasModelFromBytes(bytes, "SOURCE", Names(1)).ok());
  for (size_t n = 0; n < bytes.size(); n += n < 8192 ? 127 : 49999) {
    EXPECT_FALSE(ImportKerasModelFromBytes(bytes.substr(0, n), "SOURCE", Names(1)).ok()) << n;
  }
  std::mt19937 rng(3);
  // The members' metadata and config.json sit in the first few kilobytes.
  for (int trial = 0; trial < 300; ++trial) {
    std::string mutated = bytes;
    const size_t at = trial % 2 == 0 ? rng() % 8192 : rng() % mutated.size();
    mutated[at] = static_cast<char>(mutated[at] ^ static_cast<int>(1 + rng() % 255));
    ExpectHandled(mutated, 1, "byte " + std::to_string(at) + " flipped");
  }
}

TEST(BadInputTest, MissingFileNamesThePath) {
  auto model = ImportKerasModel("/nonexistent/model.h5", Names(1));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message().rfind("/nonexistent/model.h5: cannot open", 0), 0u);
}

TEST(SnakeCaseTest, MatchesKerasNaming) {
  EXPECT_EQ(ToSnakeCase("LSTM"), "lstm");
  EXPECT_EQ(ToSnakeCase("TimeDistributed"), "time_distributed");
  EXPECT_EQ(ToSnakeCase("RepeatVector"), "repeat_vector");
  EXPECT_EQ(ToSnakeCase("BatchNormalization"), "batch_normalization");
  EXPECT_EQ(ToSnakeCase("Dense"), "dense");
  EXPECT_EQ(ToSnakeCase("InputLayer"), "input_layer");
  EXPECT_EQ(ToSnakeCase("CuDNNLSTM"), "cu_dnnlstm");
  EXPECT_EQ(ToSnakeCase("GRUCell"), "gru_cell");
  EXPECT_EQ(ToSnakeCase("SpatialDropout1D"), "spatial_dropout1d");
  EXPECT_EQ(ToSnakeCase("ABCdefGHi"), "ab_cdef_g_hi");
}

}  // namespace
}  // namespace lstmad::keras
