// The real Keras files under ../shared/keras-models: architecture and
// parameter counts against that folder's README (the numbers themselves are
// checked against NumPy by check_keras_import.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "lstmad/core/model_file.h"
#include "lstmad/keras/import.h"
#include "support/keras_test_bytes.h"

namespace lstmad::keras {
namespace {

using core::LayerKind;
using testing::Names;

std::string ModelPath(const std::string& relative) {
  const std::string path = std::string(LSTMAD_KERAS_MODELS_DIR) + "/" + relative;
  EXPECT_TRUE(std::filesystem::exists(path))
      << path << " is missing: the tests read ../shared/keras-models beside the checkout";
  return path;
}

struct Expected {
  const char* file;
  const char* output;  // for two-output models
  int timesteps, features;
  std::vector<LayerKind> kinds;
  std::vector<int64_t> params;  // per imported layer, as Keras' summary counts
  const char* keras_version;
  const char* format;
};

constexpr LayerKind L = LayerKind::kLstm, R = LayerKind::kRepeatVector, D = LayerKind::kDense,
                    B = LayerKind::kBatchNorm;

// The README's table; Dropout (0 parameters) is skipped at import.
const std::vector<Expected>& Table() {
  static const std::vector<Expected> table = {
      {"fariha-masters-thesis/lstm_autoencoder.h5", "", 30, 1, {L, R, L, D},
       {66560, 0, 131584, 129}, "2.15.0", "legacy-hdf5"},
      {"fariha-masters-thesis/lstm_encoder.keras", "", 30, 1, {L, R, L, D},
       {66560, 0, 131584, 129}, "2.15.0", "keras-zip"},
      {"fariha-masters-thesis/lstm_encoder_new.keras", "", 30, 1, {L, R, L, D},
       {66560, 0, 131584, 129}, "3.5.0", "keras-zip"},
      {"fariha-masters-thesis/lstm_autoencoder.keras", "", 50, 51, {L, L, R, L, L, D},
       {92160, 49408, 0, 33024, 98816, 6579}, "2.15.0", "keras-zip"},
      {"danielbarbosa-bearing/lstm_autoencoder.h5", "", 1, 7, {L, B, L, L, B, R, B, L, B, L, D},
       {1536, 64, 336, 56, 8, 0, 8, 112, 16, 1344, 119}, "2.12.0", "legacy-hdf5"},
      {"biobb-ml/ref_output_model_autoencoder.h5", "time_distributed", 9, 1, {L, R, L, D},
       {40800, 0, 80400, 101}, "2.6.0", "legacy-hdf5"},
      {"biobb-ml/input_model_decoder.h5", "time_distributed", 9, 1, {L, R, L, D},
       {40800, 0, 80400, 101}, "2.2.4-tf", "legacy-hdf5"},
  };
  return table;
}

TEST(RealFilesTest, ArchitectureAndParameterCountsMatchTheReadme) {
  const std::vector<int64_t> totals = {198273, 198273, 198273, 279987, 3599, 121301, 121301};
  for (size_t n = 0; n < Table().size(); ++n) {
    const Expected& e = Table()[n];
    SCOPED_TRACE(e.file);
    ImportOptions options;
    options.output = e.output;
    auto model = ImportKerasModel(ModelPath(e.file), Names(e.features), options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const core::Architecture& arch = model->architecture;
    EXPECT_EQ(arch.timesteps, e.timesteps);
    EXPECT_EQ(arch.features, e.features);
    ASSERT_EQ(arch.layers.size(), e.kinds.size());
    for (size_t i = 0; i < arch.layers.size(); ++i) {
      EXPECT_EQ(arch.layers[i].kind, e.kinds[i]) << "layer " << i;
      EXPECT_EQ(core::LayerParamCount(arch, i), e.params[i]) << "layer " << i;
    }
    EXPECT_EQ(core::TotalParamCount(arch), totals[n]);
    EXPECT_EQ(model->metadata.at("keras_version"), e.keras_version);
    EXPECT_EQ(model->metadata.at("keras_format"), e.format);
    EXPECT_EQ(model->scaler.kind, core::ScalerKind::kNone);
    EXPECT_TRUE(model->MakeNetwork().ok());
  }
}

TEST(RealFilesTest, HonoursEachFilesActivationsAndSkipsDropout) {
  auto relu = ImportKerasModel(ModelPath("fariha-masters-thesis/lstm_autoencoder.h5"), Names(1));
  ASSERT_TRUE(relu.ok()) << relu.status().message();
  EXPECT_EQ(relu->architecture.layers[0].activation, core::Activation::kRelu);
  EXPECT_EQ(relu->architecture.layers[0].recurrent_activation, core::Activation::kSigmoid);
  EXPECT_FALSE(relu->architecture.layers[0].return_sequences);
  EXPECT_TRUE(relu->architecture.layers[3].time_distributed);
  auto tanh = ImportKerasModel(ModelPath("fariha-masters-thesis/lstm_autoencoder.keras"), Names(51));
  ASSERT_TRUE(tanh.ok()) << tanh.status().message();
  EXPECT_EQ(tanh->architecture.layers[0].activation, core::Activation::kTanh);
  EXPECT_EQ(tanh->metadata.at("keras_skipped_layers"), "dropout,dropout_1");
}

TEST(RealFilesTest, BatchNormalizationKeepsItsEpsilonAndSurvivesTheModelFile) {
  auto model = ImportKerasModel(ModelPath("danielbarbosa-bearing/lstm_autoencoder.h5"), Names(7));
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->architecture.layers[1].epsilon, 0.001);
  EXPECT_EQ(core::NonTrainableParamCount(model->architecture), 48);
  auto reloaded = core::ParseModel(core::SerializeModel(*model), "memory");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ(reloaded->architecture.layers[1].kind, LayerKind::kBatchNorm);
  EXPECT_EQ(reloaded->architecture.layers[1].epsilon, 0.001);
  EXPECT_EQ(reloaded->weights.layers[1][3], model->weights.layers[1][3]);
}

TEST(RealFilesTest, TwoOutputsNeedAChoiceAndOnlyTheReconstructionIsAnAutoencoder) {
  const std::string path = ModelPath("biobb-ml/ref_output_model_autoencoder.h5");
  auto refused = ImportKerasModel(path, Names(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            path + ": two outputs: \"time_distributed\", \"time_distributed_1\"; pick the "
                   "reconstruction with --output LAYER");
  ImportOptions prediction;
  prediction.output = "time_distributed_1";
  auto not_ae = ImportKerasModel(path, Names(1), prediction);
  ASSERT_FALSE(not_ae.ok());
  EXPECT_NE(not_ae.status().message().find("not an autoencoder"), std::string::npos);
  ImportOptions wrong;
  wrong.output = "lstm";
  auto missing = ImportKerasModel(path, Names(1), wrong);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no output layer \"lstm\""), std::string::npos);
}

TEST(RealFilesTest, FeatureNamesMustMatchTheInputWidth) {
  const std::string path = ModelPath("fariha-masters-thesis/lstm_autoencoder.keras");
  auto model = ImportKerasModel(path, Names(3));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(),
            path + ": the model takes 51 features, but 3 feature names were given");
  auto duplicate = ImportKerasModel(ModelPath("biobb-ml/input_model_decoder.h5"), {""},
                                    {"time_distributed", 0});
  EXPECT_FALSE(duplicate.ok());
}

TEST(RealFilesTest, TimestepsOptionMustAgreeWithTheFile) {
  ImportOptions options;
  options.timesteps = 31;
  auto model =
      ImportKerasModel(ModelPath("fariha-masters-thesis/lstm_autoencoder.h5"), Names(1), options);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("input length is 30, not 31"), std::string::npos);
}

TEST(RealFilesTest, LooksLikeKerasFileTellsFormatsByTheirBytes) {
  EXPECT_TRUE(LooksLikeKerasFile(std::string_view("\211HDF\r\n\032\n", 8)));
  EXPECT_TRUE(LooksLikeKerasFile("PK\3\4rest"));
  EXPECT_FALSE(LooksLikeKerasFile("LSTMADMF"));
  EXPECT_FALSE(LooksLikeKerasFile(""));
}

}  // namespace
}  // namespace lstmad::keras
