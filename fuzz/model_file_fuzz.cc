// Fuzzes the model-file loader (core/model_file.h). Each input is parsed
// twice: as it is, and re-sealed, that is with its file-size field and its
// CRC-32C trailer recomputed, so that mutations get past the checksum and
// reach the section, header and weight parsers.
//
// Properties: a rejection's message starts with the source name; an accepted
// model is valid, re-serializes to bytes that parse again and serialize to
// the same bytes (one canonical form), builds a network, and, when small
// enough to run quickly, scores a window into an output of the input's shape.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lstmad/core/architecture.h"
#include "lstmad/core/model.h"
#include "lstmad/core/model_file.h"
#include "lstmad/core/model_file_format.h"
#include "lstmad/core/network.h"

namespace {

namespace core = lstmad::core;
namespace mf = lstmad::core::model_file;

constexpr char kSource[] = "fuzz.lstmad";
// Multiply-adds a forward pass may cost before it is skipped: keeps an
// execution well under a millisecond.
constexpr int64_t kMaxForwardCost = int64_t{1} << 20;

void PutLittleEndian(uint64_t v, size_t offset, int size, std::string* out) {
  for (int i = 0; i < size; ++i)
    (*out)[offset + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

// The input with a correct file size and checksum.
std::string Reseal(std::string_view bytes) {
  std::string sealed(bytes);
  PutLittleEndian(sealed.size(), mf::kFileSizeOffset, 8, &sealed);
  const size_t body_end = sealed.size() - mf::kTrailerSize;
  PutLittleEndian(mf::Crc32c(std::string_view(sealed).substr(0, body_end)), body_end, 4, &sealed);
  return sealed;
}

void CheckForward(const core::Model& model) {
  auto network = model.MakeNetwork();
  LSTMAD_FUZZ_CHECK(network.ok(),
                    "an accepted model does not build: " + network.status().message());
  const core::Architecture& arch = model.architecture;
  int steps = arch.timesteps;
  for (const core::LayerSpec& layer : arch.layers) steps = std::max(steps, layer.repeat);
  if (core::TotalParamCount(arch) * steps > kMaxForwardCost) return;
  const core::Matrix<float> input =
      core::Matrix<float>::Constant(arch.features, arch.timesteps, 0.5f);
  core::Network<float>::Workspace workspace;
  core::Matrix<float> output;
  network->Forward(input, /*batch=*/1, &workspace, &output);
  LSTMAD_FUZZ_CHECK(output.rows() == arch.features && output.cols() == arch.timesteps,
                    "output shape differs from the input's");
}

void CheckOne(std::string_view bytes) {
  const auto model = core::ParseModel(bytes, kSource);
  if (!model.ok()) {
    LSTMAD_FUZZ_CHECK(model.status().message().starts_with(std::string(kSource) + ": "),
                      model.status().message());
    return;
  }
  const core::Status valid = model->Validate();
  LSTMAD_FUZZ_CHECK(valid.ok(), "an accepted model is invalid: " + valid.message());
  const std::string canonical = core::SerializeModel(*model);
  const auto again = core::ParseModel(canonical, kSource);
  LSTMAD_FUZZ_CHECK(again.ok(), "a re-serialized model is rejected: " + again.status().message());
  LSTMAD_FUZZ_CHECK(core::SerializeModel(*again) == canonical, "re-serializing is not stable");
  CheckForward(*model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckOne(bytes);
  if (size >= mf::kMinFileSize) {
    const std::string sealed = Reseal(bytes);
    if (sealed != bytes) CheckOne(sealed);
  }
  return 0;
}
