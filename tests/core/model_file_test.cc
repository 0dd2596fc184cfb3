// The model file: exact round trips, the documented layout, and refusal of
// damaged or hostile bytes (every prefix, flipped bytes, random input) with
// an error that names the source.
#include "lstmad/core/model_file.h"

#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "lstmad/core/architecture.h"
#include "lstmad/core/model.h"
#include "lstmad/core/model_file_format.h"
#include "lstmad/core/time_features.h"

namespace lstmad::core {
namespace {

namespace mf = model_file;

constexpr char kSource[] = "test.lsm";

// ---------------------------------------------------------------------------
// A small model whose every field is set, names full of awkward bytes.

float RandomWeight(std::mt19937* rng) {
  // From the raw engine output, not a distribution: the same on every platform.
  return static_cast<float>((*rng)() >> 8) * 0x1p-23f - 1.0f;
}

Model MakeModel() {
  AutoencoderSpec spec;
  spec.timesteps = 4;
  spec.features = 3;
  spec.encoder_units = {6, 3};
  spec.decoder_units = {3, 6};
  Model m;
  m.architecture = BuildAutoencoder(spec).value();
  m.architecture.layers[0].name = "enc=0\nfirst \xE2\x9C\x93";
  m.architecture.layers[1].use_bias = false;
  m.architecture.layers[3].recurrent_activation = Activation::kHardSigmoidK3;
  std::mt19937 rng(20240607);
  for (size_t i = 0; i < m.architecture.layers.size(); ++i) {
    m.weights.layers.emplace_back();
    for (const TensorShape& shape : LayerTensorShapes(m.architecture, i)) {
      Matrix<float> t(shape.rows, shape.cols);
      for (Eigen::Index r = 0; r < t.rows(); ++r)
        for (Eigen::Index c = 0; c < t.cols(); ++c) t(r, c) = RandomWeight(&rng);
      m.weights.layers.back().push_back(std::move(t));
    }
  }
  // Values a text round trip through decimal could lose.
  Matrix<float>& kernel = m.weights.layers[0][0];
  kernel(0, 0) = -0.0f;
  kernel(0, 1) = std::numeric_limits<float>::denorm_min();
  kernel(0, 2) = std::numeric_limits<float>::max();
  kernel(1, 0) = std::numeric_limits<float>::min();
  m.feature_names = {"temp=\xC2\xB0" "C", "line\nbreak\r\t", "%41 not A"};
  m.scaler.kind = ScalerKind::kStandard;
  m.scaler.offset = {0.1, -0.0, -1e-300};
  m.scaler.scale = {1.0 / 3.0, std::numeric_limits<double>::denorm_min(),
                    std::numeric_limits<double>::max()};
  m.threshold = 0.1 + 0.2;
  m.threshold_spec = "p99.5 = 'quantile'\n";
  m.error_options.last_step_only = true;
  m.metadata = {{"", "empty key"},
                {"a=b", "c=d=e"},
                {"multi\nline", "x\r\ny"},
                {"unicode \xE2\x9C\x93", "\xE6\x97\xA5\xE6\x9C\xAC"},
                {"bytes", std::string("\0\x01\xFF%", 4)},
                {"metadata.nested", "ok"}};
  return m;
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

void ExpectSameLayer(const LayerSpec& a, const LayerSpec& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.units, b.units);
  EXPECT_EQ(a.repeat, b.repeat);
  EXPECT_EQ(a.activation, b.activation);
  EXPECT_EQ(a.recurrent_activation, b.recurrent_activation);
  EXPECT_EQ(a.return_sequences, b.return_sequences);
  EXPECT_EQ(a.go_backwards, b.go_backwards);
  EXPECT_EQ(a.use_bias, b.use_bias);
  EXPECT_EQ(a.time_distributed, b.time_distributed);
}

void ExpectSameDoubles(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(Bits(a[i]), Bits(b[i])) << "entry " << i;
}

void ExpectSameWeights(const Weights<float>& a, const Weights<float>& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    ASSERT_EQ(a.layers[i].size(), b.layers[i].size()) << "layer " << i;
    for (size_t k = 0; k < a.layers[i].size(); ++k) {
      const Matrix<float>& x = a.layers[i][k];
      const Matrix<float>& y = b.layers[i][k];
      ASSERT_EQ(x.rows(), y.rows());
      ASSERT_EQ(x.cols(), y.cols());
      EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * static_cast<size_t>(x.size())), 0)
          << "layer " << i << " tensor " << k;
    }
  }
}

void ExpectSameModel(const Model& a, const Model& b) {
  EXPECT_EQ(a.architecture.timesteps, b.architecture.timesteps);
  EXPECT_EQ(a.architecture.features, b.architecture.features);
  ASSERT_EQ(a.architecture.layers.size(), b.architecture.layers.size());
  for (size_t i = 0; i < a.architecture.layers.size(); ++i) {
    ExpectSameLayer(a.architecture.layers[i], b.architecture.layers[i]);
  }
  EXPECT_EQ(a.feature_names, b.feature_names);
  EXPECT_EQ(a.scaler.kind, b.scaler.kind);
  ExpectSameDoubles(a.scaler.offset, b.scaler.offset);
  ExpectSameDoubles(a.scaler.scale, b.scaler.scale);
  EXPECT_EQ(Bits(a.threshold), Bits(b.threshold));
  EXPECT_EQ(a.threshold_spec, b.threshold_spec);
  EXPECT_EQ(a.error_options.last_step_only, b.error_options.last_step_only);
  EXPECT_EQ(a.error_options.scored_features, b.error_options.scored_features);
  EXPECT_EQ(a.time_features, b.time_features);
  EXPECT_EQ(a.metadata, b.metadata);
  ExpectSameWeights(a.weights, b.weights);
}

// ---------------------------------------------------------------------------
// Building files by hand from the documented layout, so tests can damage one
// part and still get past the checksum.

uint64_t ReadLe(std::string_view bytes, size_t offset, int size) {
  uint64_t v = 0;
  for (int i = size - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[offset + static_cast<size_t>(i)]);
  }
  return v;
}

void AppendLe(uint64_t v, int size, std::string* out) {
  for (int i = 0; i < size; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

using Section = std::pair<std::string, std::string>;  // tag, payload

std::vector<Section> SplitFile(std::string_view file) {
  std::vector<Section> sections;
  size_t pos = mf::kFixedHeaderSize;
  while (pos < file.size() - mf::kTrailerSize) {
    const std::string tag(file.substr(pos, mf::kTagSize));
    const auto size = static_cast<size_t>(ReadLe(file, pos + mf::kTagSize, 8));
    sections.emplace_back(tag, std::string(file.substr(pos + mf::kSectionHeaderSize, size)));
    pos += mf::kSectionHeaderSize + size;
  }
  return sections;
}

// A well-framed file (right size field, right checksum) around `sections`.
std::string BuildFile(const std::vector<Section>& sections, uint32_t version = mf::kVersion) {
  std::string body;
  for (const auto& [tag, payload] : sections) {
    body += tag;
    AppendLe(payload.size(), 8, &body);
    body += payload;
  }
  std::string file(mf::kMagic);
  AppendLe(version, 4, &file);
  AppendLe(mf::kFixedHeaderSize + body.size() + mf::kTrailerSize, 8, &file);
  file += body;
  AppendLe(mf::Crc32c(file), 4, &file);
  return file;
}

std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The valid file with its header text edited.
std::string WithHeader(const std::string& from, const std::string& to) {
  std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  sections[0].second = ReplaceOnce(sections[0].second, from, to);
  return BuildFile(sections);
}

std::string ModelErrorOf(std::string_view bytes) {
  Result<Model> parsed = ParseModel(bytes, kSource);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? std::string() : parsed.status().message();
}

// Every refusal starts with the source and says `what`.
void ExpectRefused(std::string_view bytes, const std::string& what) {
  const std::string message = ModelErrorOf(bytes);
  EXPECT_EQ(message.rfind(std::string(kSource) + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(what), std::string::npos) << "missing \"" << what << "\" in: " << message;
}

// ---------------------------------------------------------------------------

// The model file's checksum is CRC-32C (lstmad/core/crc32c.h, tested there
// too): the published vectors through the name the format uses.
TEST(ModelFileFormatTest, Crc32cMatchesPublishedVectors) {
  EXPECT_EQ(mf::Crc32c(""), 0u);
  EXPECT_EQ(mf::Crc32c("123456789"), 0xE3069283u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(mf::Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(mf::Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(mf::Crc32c(ascending), 0x46DD794Eu);
  // Extended piece by piece, the same as over the whole.
  EXPECT_EQ(Crc32cExtend(mf::Crc32c("1234"), "56789"), 0xE3069283u);
  EXPECT_EQ(Crc32cExtend(Crc32cExtend(0, "123456789"), ""), 0xE3069283u);
}

TEST(ModelFileFormatTest, LayoutMatchesTheDocument) {
  const Model model = MakeModel();
  const std::string file = SerializeModel(model);
  EXPECT_EQ(file.substr(0, 12), std::string("LSTMADMF\x01\x00\x00\x00", 12));
  EXPECT_EQ(ReadLe(file, mf::kFileSizeOffset, 8), file.size());
  EXPECT_EQ(ReadLe(file, file.size() - 4, 4), mf::Crc32c(file.substr(0, file.size() - 4)));
  const std::vector<Section> sections = SplitFile(file);
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[0].first, "HEAD");
  EXPECT_EQ(sections[1].first, "WGHT");
  const std::string& head = sections[0].second;
  EXPECT_EQ(head.rfind("timesteps=4\nfeatures=3\nlayers=6\nlayer.0.kind=lstm\n"
                       "layer.0.name=enc%3D0%0Afirst %E2%9C%93\nlayer.0.units=6\n",
                       0),
            0u)
      << head;
  EXPECT_NE(head.find("\nscaler.offset.0=0.1\n"), std::string::npos);
  EXPECT_NE(head.find("\nthreshold=0.30000000000000004\n"), std::string::npos);
  EXPECT_NE(head.find("\nmetadata.a%3Db=c%3Dd%3De\n"), std::string::npos);
  // WGHT: u32 layers, u32 tensors, u32 name size, "kernel", u32 rows, u32
  // cols, then float32 row-major: (0,0), (0,1), ... as Keras stores them.
  const std::string& w = sections[1].second;
  EXPECT_EQ(ReadLe(w, 0, 4), 6u);
  EXPECT_EQ(ReadLe(w, 4, 4), 3u);
  EXPECT_EQ(w.substr(8, 10), std::string("\x06\0\0\0kernel", 10));
  EXPECT_EQ(ReadLe(w, 18, 4), 3u);
  EXPECT_EQ(ReadLe(w, 22, 4), 24u);
  const Matrix<float>& kernel = model.weights.layers[0][0];
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(ReadLe(w, 26 + 4 * static_cast<size_t>(c), 4),
              std::bit_cast<uint32_t>(kernel(0, c)))
        << "column " << c;
  }
  EXPECT_EQ(ReadLe(w, 26 + 4 * 24, 4), std::bit_cast<uint32_t>(kernel(1, 0)));
}

TEST(ModelFileTest, RoundTripIsBitIdentical) {
  const Model model = MakeModel();
  ASSERT_TRUE(model.Validate().ok()) << model.Validate().message();
  const std::string file = SerializeModel(model);
  Result<Model> parsed = ParseModel(file, kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameModel(model, *parsed);
  EXPECT_EQ(SerializeModel(*parsed), file);
}

TEST(ModelFileTest, RoundTripsEveryActivationAndScalerKind) {
  for (const Activation a : {Activation::kTanh, Activation::kRelu, Activation::kSigmoid,
                             Activation::kLinear, Activation::kHardSigmoid,
                             Activation::kHardSigmoidK3}) {
    for (const ScalerKind kind : {ScalerKind::kNone, ScalerKind::kStandard, ScalerKind::kMinMax}) {
      Model model = MakeModel();
      model.architecture.layers[0].activation = a;
      model.architecture.layers[4].recurrent_activation = a;
      model.architecture.layers[0].go_backwards = true;
      model.scaler.kind = kind;
      model.metadata.clear();
      Result<Model> parsed = ParseModel(SerializeModel(model), kSource);
      ASSERT_TRUE(parsed.ok()) << parsed.status().message();
      ExpectSameModel(model, *parsed);
    }
  }
}

// MakeModel's 3 inputs as 1 series feature and a daily cycle's 2 time inputs.
Model MakeDailyModel() {
  Model m = MakeModel();
  m.feature_names = {"load"};
  m.scaler.offset = {2.5};
  m.scaler.scale = {0.5};
  m.SetTimeFeatures(TimeFeatures::Parse("daily").value());
  return m;
}

std::string DailyHeaderWith(const std::string& from, const std::string& to) {
  std::vector<Section> sections = SplitFile(SerializeModel(MakeDailyModel()));
  sections[0].second = ReplaceOnce(sections[0].second, from, to);
  return BuildFile(sections);
}

TEST(ModelFileTest, RoundTripsTimeFeatures) {
  const Model model = MakeDailyModel();
  ASSERT_TRUE(model.Validate().ok()) << model.Validate().message();
  EXPECT_EQ(model.error_options.scored_features, 1);
  const std::string file = SerializeModel(model);
  EXPECT_NE(SplitFile(file)[0].second.find("\nerror.last_step_only=true\ntime_features=daily\n"),
            std::string::npos);
  Result<Model> parsed = ParseModel(file, kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameModel(model, *parsed);
  EXPECT_EQ(parsed->time_features.ToString(), "daily");
  EXPECT_EQ(parsed->error_options.scored_features, 1);
  EXPECT_EQ(SerializeModel(*parsed), file);
}

TEST(ModelFileTest, TheFingerprintFollowsWhatDecidesTheErrors) {
  const Model model = MakeModel();
  const uint32_t fingerprint = ModelFingerprint(model);
  Result<Model> parsed = ParseModel(SerializeModel(model), kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(ModelFingerprint(*parsed), fingerprint) << "loaded again";
  // As `lstmad summary` and the daemon's log show it.
  EXPECT_EQ(FingerprintText(0xABu), "000000ab");
  EXPECT_EQ(FingerprintText(0xDFB732E8u), "dfb732e8");

  // Provenance and the alarm line change no error.
  Model relabelled = model;
  relabelled.metadata["retrained_at"] = "2026-12-07T00:00:00Z";
  relabelled.threshold *= 3;
  relabelled.threshold_spec = "p90";
  EXPECT_EQ(ModelFingerprint(relabelled), fingerprint);

  // One weight, one scaler entry, a feature's name, the error's steps, the
  // time inputs: each is another model.
  Model tuned = model;
  tuned.weights.layers[0][0](0, 0) = std::nextafter(tuned.weights.layers[0][0](0, 0), 1.0f);
  EXPECT_NE(ModelFingerprint(tuned), fingerprint) << "a weight";
  Model rescaled = model;
  rescaled.scaler.offset[1] += 1e-9;
  EXPECT_NE(ModelFingerprint(rescaled), fingerprint) << "the scaler";
  Model renamed = model;
  renamed.feature_names[2] = "other";
  EXPECT_NE(ModelFingerprint(renamed), fingerprint) << "a feature name";
  Model last_step = model;
  last_step.error_options.last_step_only = !last_step.error_options.last_step_only;
  EXPECT_NE(ModelFingerprint(last_step), fingerprint) << "the error's steps";
  Model weekly = MakeDailyModel();
  weekly.SetTimeFeatures(TimeFeatures::Parse("weekly").value());
  EXPECT_NE(ModelFingerprint(weekly), ModelFingerprint(MakeDailyModel())) << "the time features";
}

TEST(ModelFileTest, RoundTripsBothCycles) {
  // 1 series feature + 4 time inputs = 5 inputs: rebuild MakeModel's shape at width 5.
  AutoencoderSpec spec;
  spec.timesteps = 3;
  spec.features = 5;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  Model m;
  m.architecture = BuildAutoencoder(spec).value();
  std::mt19937 rng(7);
  for (size_t i = 0; i < m.architecture.layers.size(); ++i) {
    m.weights.layers.emplace_back();
    for (const TensorShape& shape : LayerTensorShapes(m.architecture, i)) {
      Matrix<float> t(shape.rows, shape.cols);
      for (Eigen::Index r = 0; r < t.rows(); ++r)
        for (Eigen::Index c = 0; c < t.cols(); ++c) t(r, c) = RandomWeight(&rng);
      m.weights.layers.back().push_back(std::move(t));
    }
  }
  m.feature_names = {"requests"};
  m.scaler = Scaler::Identity(1);
  m.SetTimeFeatures(TimeFeatures::Parse("weekly,daily").value());
  ASSERT_TRUE(m.Validate().ok()) << m.Validate().message();
  const std::string file = SerializeModel(m);
  EXPECT_NE(SplitFile(file)[0].second.find("\ntime_features=daily,weekly\n"), std::string::npos);
  Result<Model> parsed = ParseModel(file, kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameModel(m, *parsed);
  EXPECT_EQ(parsed->time_features.inputs(), 4);
}

TEST(ModelFileTest, FilesWithoutTheKeyHaveNoTimeFeatures) {
  // A model without time features is written exactly as before the key
  // existed, so this is also what every older file looks like.
  const std::string file = SerializeModel(MakeModel());
  EXPECT_EQ(SplitFile(file)[0].second.find("time_features"), std::string::npos);
  Result<Model> parsed = ParseModel(file, kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->time_features.empty());
  EXPECT_EQ(parsed->error_options.scored_features, 0);
  EXPECT_EQ(parsed->feature_names.size(), 3u);
}

TEST(ModelFileTest, RefusesAnUnknownTimeCycleNamingIt) {
  ExpectRefused(DailyHeaderWith("time_features=daily\n", "time_features=hourly\n"),
                "header key \"time_features\": \"hourly\" is not a list of known time cycles");
  ExpectRefused(DailyHeaderWith("time_features=daily\n", "time_features=daily,daily\n"),
                "header key \"time_features\": \"daily,daily\"");
  ExpectRefused(DailyHeaderWith("time_features=daily\n", "time_features=none\n"),
                "header key \"time_features\": \"none\"");
}

TEST(ModelFileTest, RefusesTimeFeaturesThatDoNotFitTheInputs) {
  // 4 time inputs of 3 inputs leave no series feature.
  ExpectRefused(DailyHeaderWith("time_features=daily\n", "time_features=daily,weekly\n"),
                "4 time inputs leave no series feature of the 3 inputs");
  // Without the key the three inputs need three feature names.
  ExpectRefused(DailyHeaderWith("time_features=daily\n", ""), "header key \"feature.1\" is missing");
}

TEST(ModelFileTest, ValidateChecksTheScoredFeaturesAgainstTheTimeFeatures) {
  Model m = MakeDailyModel();
  m.error_options.scored_features = 0;
  EXPECT_EQ(m.Validate().message(),
            "the error options score 0 features, the model's time features (daily) imply 1");
  m = MakeModel();
  m.error_options.scored_features = 3;
  EXPECT_FALSE(m.Validate().ok());
}

class ModelFileDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = std::string("lstmad_model_file_test_") + std::to_string(::getpid()) +
                             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(ModelFileDiskTest, SaveThenLoadIsBitIdentical) {
  const Model model = MakeModel();
  const std::string path = (dir_ / "model.lsm").string();
  const Status saved = SaveModel(model, path);
  ASSERT_TRUE(saved.ok()) << saved.message();
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  Result<Model> loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ExpectSameModel(model, *loaded);
  // Overwriting goes through the same rename.
  ASSERT_TRUE(SaveModel(*loaded, path).ok());
  EXPECT_TRUE(LoadModel(path).ok());
}

TEST_F(ModelFileDiskTest, LoadingAMissingFileNamesThePath) {
  const std::string path = (dir_ / "absent.lsm").string();
  Result<Model> loaded = LoadModel(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message().rfind(path + ": cannot open: ", 0), 0u)
      << loaded.status().message();
}

TEST_F(ModelFileDiskTest, LoadingADamagedFileNamesThePath) {
  const std::string path = (dir_ / "damaged.lsm").string();
  std::string file = SerializeModel(MakeModel());
  file[file.size() / 2] = static_cast<char>(file[file.size() / 2] ^ 0x10);
  std::ofstream(path, std::ios::binary) << file;
  Result<Model> loaded = LoadModel(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message().rfind(path + ": corrupt", 0), 0u)
      << loaded.status().message();
}

// Peak resident memory of this process so far, in MiB.
long PeakRssMib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// Issue 18, finding 9: a 1.5 GiB file (sparse, so the test writes nothing)
// that is not a model, or whose header declares another size, is refused by
// its first 20 bytes, not after reading all of it into memory.
TEST_F(ModelFileDiskTest, RefusesAHugeFileByItsHeaderWithoutReadingIt) {
  constexpr uint64_t kSize = uint64_t{3} << 29;
  const std::string zeros = (dir_ / "zeros.lsm").string();
  std::ofstream(zeros, std::ios::binary).close();
  std::filesystem::resize_file(zeros, kSize);
  const std::string model = SerializeModel(MakeModel());
  const std::string wrong_size = (dir_ / "wrong_size.lsm").string();
  std::ofstream(wrong_size, std::ios::binary) << model.substr(0, mf::kFixedHeaderSize);
  std::filesystem::resize_file(wrong_size, kSize);
  const long before = PeakRssMib();

  Result<Model> not_a_model = LoadModel(zeros);
  ASSERT_FALSE(not_a_model.ok());
  EXPECT_EQ(not_a_model.status().message(), zeros + ": not an lstmad model file (no LSTMADMF magic)");
  Result<Model> other_size = LoadModel(wrong_size);
  ASSERT_FALSE(other_size.ok());
  EXPECT_EQ(other_size.status().message(), wrong_size + ": corrupt: " + std::to_string(kSize) +
                                               " bytes, the file header says " +
                                               std::to_string(model.size()));
  EXPECT_LT(PeakRssMib(), before + 64) << "read the files instead of their headers";
}

TEST_F(ModelFileDiskTest, SavingIntoAMissingDirectoryNamesThePath) {
  const std::string path = (dir_ / "no" / "such" / "model.lsm").string();
  const Status saved = SaveModel(MakeModel(), path);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.message().rfind(path + ".tmp: cannot create: ", 0), 0u) << saved.message();
}

TEST_F(ModelFileDiskTest, RefusesToSaveAnInvalidModel) {
  Model model = MakeModel();
  model.feature_names.pop_back();
  const std::string path = (dir_ / "model.lsm").string();
  const Status saved = SaveModel(model, path);
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.message().rfind(path + ": refusing to save an invalid model: ", 0), 0u)
      << saved.message();
  EXPECT_FALSE(std::filesystem::exists(path));
}

// --- The frame ---------------------------------------------------------------

TEST(ModelFileTest, RejectsAnEmptyFile) { ExpectRefused("", "the file is empty"); }

TEST(ModelFileTest, RejectsEveryTruncation) {
  const std::string file = SerializeModel(MakeModel());
  for (size_t size = 1; size < file.size(); ++size) {
    SCOPED_TRACE("prefix of " + std::to_string(size) + " bytes");
    ExpectRefused(std::string_view(file).substr(0, size), "truncated");
  }
}

TEST(ModelFileTest, RejectsAWrongMagic) {
  std::string file = SerializeModel(MakeModel());
  file[3] = 'x';
  ExpectRefused(file, "not an lstmad model file");
  ExpectRefused("\x89PNG\r\n\x1a\n", "not an lstmad model file");
  ExpectRefused("LSTMAD", "truncated");
  ExpectRefused("{", "not an lstmad model file");
}

TEST(ModelFileTest, RejectsAnUnsupportedVersionNamingBoth) {
  const std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  ExpectRefused(BuildFile(sections, 2), "unsupported model file version 2");
  ExpectRefused(BuildFile(sections, 2), "reads version 1");
  ExpectRefused(BuildFile(sections, 0), "version 0");
  // The version is checked before the size, so a short future file says so too.
  std::string short_future("LSTMADMF\x07\0\0\0", 12);
  ExpectRefused(short_future, "unsupported model file version 7");
}

TEST(ModelFileTest, RejectsAWrongSizeField) {
  std::string file = SerializeModel(MakeModel());
  ExpectRefused(file + "extra", "corrupt");
  file[mf::kFileSizeOffset + 1] = static_cast<char>(file[mf::kFileSizeOffset + 1] + 1);
  ExpectRefused(file, "truncated");
}

TEST(ModelFileTest, RejectsAnyFlippedByte) {
  const std::string file = SerializeModel(MakeModel());
  for (size_t pos = 0; pos < file.size(); ++pos) {
    std::string damaged = file;
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << (pos % 8)));
    const std::string message = ModelErrorOf(damaged);
    SCOPED_TRACE("byte " + std::to_string(pos) + ": " + message);
    EXPECT_EQ(message.rfind(std::string(kSource) + ": ", 0), 0u);
    if (pos >= mf::kFixedHeaderSize) {
      EXPECT_NE(message.find("corrupt: checksum mismatch"), std::string::npos);
    }
  }
}

// --- Sections ----------------------------------------------------------------

TEST(ModelFileTest, SkipsUnknownAncillarySectionsAndRefusesCriticalOnes) {
  std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  sections.insert(sections.begin(), {"note", "written by a future version"});
  EXPECT_TRUE(ParseModel(BuildFile(sections), kSource).ok());
  sections.push_back({"XTRA", ""});
  ExpectRefused(BuildFile(sections), "unsupported section XTRA");
}

TEST(ModelFileTest, RejectsMissingDuplicateAndOverlongSections) {
  const std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  ExpectRefused(BuildFile({sections[0]}), "no WGHT section");
  ExpectRefused(BuildFile({sections[1]}), "no HEAD section");
  ExpectRefused(BuildFile({sections[0], sections[1], sections[0]}), "section HEAD appears twice");
  ExpectRefused(BuildFile({sections[0], sections[1], {"b@d!", ""}}), "bad section tag");
  // A section length running past the end, with size and checksum made right.
  std::string file = BuildFile(sections);
  file[mf::kFixedHeaderSize + mf::kTagSize + 7] = '\x7F';
  file.resize(file.size() - mf::kTrailerSize);
  AppendLe(mf::Crc32c(file), 4, &file);
  ExpectRefused(file, "section HEAD at offset 20 claims");
}

// --- The header --------------------------------------------------------------

TEST(ModelFileTest, AcceptsHeaderKeysInAnyOrder) {
  std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  std::string& head = sections[0].second;
  const size_t first_line_end = head.find('\n') + 1;
  head = head.substr(first_line_end) + head.substr(0, first_line_end);
  Result<Model> parsed = ParseModel(BuildFile(sections), kSource);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ExpectSameModel(MakeModel(), *parsed);
}

TEST(ModelFileTest, RejectsUnknownActivationNamingTheKey) {
  ExpectRefused(WithHeader("layer.0.activation=relu\n", "layer.0.activation=swish\n"),
                "header key \"layer.0.activation\": \"swish\" is not a known activation");
}

TEST(ModelFileTest, RejectsUnknownLayerKindNamingTheKey) {
  ExpectRefused(WithHeader("layer.2.kind=repeat_vector\n", "layer.2.kind=conv1d\n"),
                "header key \"layer.2.kind\": \"conv1d\" is not a known layer kind");
}

TEST(ModelFileTest, RejectsMalformedHeaderValuesNamingTheKey) {
  ExpectRefused(WithHeader("layer.0.units=6\n", "layer.0.units=6x\n"),
                "header key \"layer.0.units\": \"6x\" is not an integer");
  ExpectRefused(WithHeader("layer.0.units=6\n", "layer.0.units=99999999999\n"),
                "header key \"layer.0.units\"");
  ExpectRefused(WithHeader("timesteps=4\n", "timesteps=-4\n"), "header key \"timesteps\"");
  ExpectRefused(WithHeader("layers=6\n", "layers=100000\n"), "header key \"layers\"");
  ExpectRefused(WithHeader("\nthreshold=", "\nthreshold=0.3.1\nx="),
                "header key \"threshold\": \"0.3.1\" is not a number");
  ExpectRefused(WithHeader("scaler.scale.1=", "scaler.scale.1=1e999\nx="),
                "header key \"scaler.scale.1\"");
  ExpectRefused(WithHeader("use_bias=true\n", "use_bias=yes\n"), "is not true or false");
  ExpectRefused(WithHeader("scaler.kind=standard\n", "scaler.kind=robust\n"),
                "header key \"scaler.kind\": \"robust\" is not a known scaler kind");
}

TEST(ModelFileTest, RejectsMissingUnknownAndDuplicateKeys) {
  ExpectRefused(WithHeader("threshold_spec=", "threshold_spek="),
                "header key \"threshold_spec\" is missing");
  ExpectRefused(WithHeader("features=3\n", "features=3\ncolour=blue\n"),
                "unknown header key \"colour\"");
  ExpectRefused(WithHeader("features=3\n", "features=3\nfeatures=3\n"),
                "header key \"features\" appears twice");
  // Two spellings of one key are the same key.
  ExpectRefused(WithHeader("features=3\n", "features=3\nfeature%73=3\n"), "appears twice");
}

TEST(ModelFileTest, RejectsMalformedHeaderLines) {
  ExpectRefused(WithHeader("features=3\n", "features=3\nno separator\n"),
                "header line 3 has no '='");
  ExpectRefused(WithHeader("features=3\n", "features=%G3\n"), "header line 2 has a bad escape");
  ExpectRefused(WithHeader("features=3\n", "features=%4\n"), "bad escape");
  ExpectRefused(WithHeader("features=3\n", "features=\t3\n"), "raw control byte");
  ExpectRefused(WithHeader("features=3\n", "features=3\r\n"), "raw control byte");
  std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  sections[0].second.pop_back();
  ExpectRefused(BuildFile(sections), "does not end with a newline");
}

TEST(ModelFileTest, RejectsAnInvalidArchitecture) {
  ExpectRefused(WithHeader("layer.5.units=3\n", "layer.5.units=2\n"), "not an autoencoder");
}

TEST(ModelFileTest, PrefixesValidationErrorsWithTheSource) {
  ExpectRefused(WithHeader("\nthreshold=0.30000000000000004\n", "\nthreshold=-1\n"),
                "threshold must be");
  ExpectRefused(WithHeader("feature.1=line%0Abreak%0D%09\n", "feature.1=temp%3D%C2%B0C\n"),
                "appears twice");
  ExpectRefused(WithHeader("scaler.scale.0=", "scaler.scale.0=-"), "scaler entry 0");
}

// --- The weights -------------------------------------------------------------

TEST(ModelFileTest, RejectsAShapeDisagreeingWithTheArchitecture) {
  // Layer 0 with 7 units is a valid autoencoder whose stored kernel is too narrow.
  ExpectRefused(WithHeader("layer.0.units=6\n", "layer.0.units=7\n"),
                "weights: layer 0 (enc%3D0%0Afirst %E2%9C%93): kernel has shape [3, 24], the "
                "architecture needs [3, 28]");
  ExpectRefused(WithHeader("layer.1.use_bias=false\n", "layer.1.use_bias=true\n"),
                "weights: layer 1 (lstm_1): 2 weight tensors, the architecture needs 3");
}

TEST(ModelFileTest, RejectsNonFiniteWeightsNamingTheLayer) {
  for (const uint32_t bits : {0x7FC00000u, 0x7F800000u, 0xFF800000u}) {
    std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
    std::string& w = sections[1].second;
    // Last float of the payload: the time_distributed Dense bias.
    w.resize(w.size() - 4);
    AppendLe(bits, 4, &w);
    ExpectRefused(BuildFile(sections), "layer 5 (time_distributed): bias has non-finite values");
  }
}

TEST(ModelFileTest, RejectsAbsurdSizesBeforeAllocating) {
  std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  std::string& w = sections[1].second;
  w.replace(0, 4, std::string("\xFF\xFF\xFF\xFF", 4));
  ExpectRefused(BuildFile(sections), "has 4294967295 layers, the architecture has 6");
  // The largest architecture the reader accepts, backed by a few bytes: the
  // data is found missing before the 12 M floats would be allocated.
  sections = SplitFile(SerializeModel(MakeModel()));
  sections[0].second = ReplaceOnce(sections[0].second, "layer.0.units=6\n",
                                   "layer.0.units=" + std::to_string(mf::kMaxDimension) + "\n");
  std::string huge;
  AppendLe(6, 4, &huge);
  AppendLe(3, 4, &huge);
  AppendLe(6, 4, &huge);
  huge += "kernel";
  AppendLe(3, 4, &huge);
  AppendLe(4 * static_cast<uint64_t>(mf::kMaxDimension), 4, &huge);
  huge += std::string(64, '\0');
  sections[1].second = huge;
  ExpectRefused(BuildFile(sections), "the kernel tensor is cut short");
  sections[0].second = ReplaceOnce(sections[0].second, std::to_string(mf::kMaxDimension),
                                   std::to_string(mf::kMaxDimension + 1));
  ExpectRefused(BuildFile(sections), "header key \"layer.0.units\"");
}

TEST(ModelFileTest, RejectsWeightsCutShortOrWithTrailingBytes) {
  const std::vector<Section> sections = SplitFile(SerializeModel(MakeModel()));
  const std::string& w = sections[1].second;
  for (size_t size = 0; size < w.size(); ++size) {
    const std::string message = ModelErrorOf(BuildFile({sections[0], {"WGHT", w.substr(0, size)}}));
    SCOPED_TRACE(message);
    EXPECT_EQ(message.rfind(std::string(kSource) + ": weights: ", 0), 0u);
  }
  ExpectRefused(BuildFile({sections[0], {"WGHT", w + "x"}}), "1 bytes after the last tensor");
}

// --- Hostile input -----------------------------------------------------------

// Parsing may fail but must not crash; what it accepts must serialize back to
// a file that parses to the same model.
void ParseArbitrary(std::string_view bytes) {
  Result<Model> parsed = ParseModel(bytes, kSource);
  if (!parsed.ok()) {
    ASSERT_EQ(parsed.status().message().rfind(std::string(kSource) + ": ", 0), 0u)
        << parsed.status().message();
    return;
  }
  Result<Model> again = ParseModel(SerializeModel(*parsed), kSource);
  ASSERT_TRUE(again.ok()) << again.status().message();
  ExpectSameModel(*parsed, *again);
}

std::string RandomBytes(std::mt19937* rng, size_t size) {
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>((*rng)() & 0xFF);
  return s;
}

// One random edit: flip, overwrite, insert, erase, or cut.
void Mutate(std::mt19937* rng, std::string* s) {
  const auto pick = [&](size_t n) { return n == 0 ? 0 : (*rng)() % n; };
  const size_t pos = pick(s->size());
  switch ((*rng)() % 5) {
    case 0:
      if (!s->empty()) (*s)[pos] = static_cast<char>((*s)[pos] ^ (1 << ((*rng)() % 8)));
      break;
    case 1:
      if (!s->empty()) (*s)[pos] = static_cast<char>((*rng)() & 0xFF);
      break;
    case 2: s->insert(pos, RandomBytes(rng, 1 + pick(8))); break;
    case 3: s->erase(pos, 1 + pick(8)); break;
    case 4: s->resize(pos); break;
  }
}

TEST(ModelFileFuzzTest, RandomBytesNeverCrash) {
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = RandomBytes(&rng, rng() % 300);
    if (i % 2 == 0) {
      // Past the magic, version and size checks, to reach the checksum and beyond.
      std::vector<Section> sections = {{"HEAD", bytes}, {"WGHT", RandomBytes(&rng, rng() % 64)}};
      bytes = i % 4 == 0 ? BuildFile(sections) : std::string(mf::kMagic) + bytes;
    }
    SCOPED_TRACE(i);
    ParseArbitrary(bytes);
  }
}

TEST(ModelFileFuzzTest, RandomMutationsNeverCrash) {
  const std::string file = SerializeModel(MakeModel());
  const std::vector<Section> sections = SplitFile(file);
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    SCOPED_TRACE(i);
    const int edits = 1 + static_cast<int>(rng() % 4);
    // Raw mutations mostly stop at the checksum; re-sealed ones (sections
    // edited, then size and checksum recomputed) reach the parsers behind it.
    if (i % 4 == 0) {
      std::string bytes = file;
      for (int e = 0; e < edits; ++e) Mutate(&rng, &bytes);
      ParseArbitrary(bytes);
    } else {
      std::vector<Section> edited = sections;
      std::string& target = edited[i % 4 == 1 ? 1 : 0].second;
      for (int e = 0; e < edits; ++e) Mutate(&rng, &target);
      ParseArbitrary(BuildFile(edited));
    }
  }
}

}  // namespace
}  // namespace lstmad::core
