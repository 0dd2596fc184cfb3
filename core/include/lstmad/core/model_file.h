// The lstmad model file: one versioned, self-describing, integrity-checked
// file holding a Model. Format described in docs/model-format.md, constants
// in model_file_format.h.
//
// Loading never trusts the bytes: truncation, a wrong magic, an unknown
// version, a checksum mismatch, an inconsistent header or non-finite weights
// each give an error naming the file (the `source` argument) and what is
// wrong. Functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lstmad/core/model.h"
#include "lstmad/core/status.h"

namespace lstmad::core {

std::string SerializeModel(const Model& model);
Result<Model> ParseModel(std::string_view bytes, const std::string& source);

// What decides the model's errors, as a number: CRC-32C of its architecture,
// feature names, scaler, time features, error options and weights, leaving
// out the threshold and the metadata (provenance; the alarm line changes no
// error). The same model loaded again, or saved with other metadata, keeps
// it; a retrained one, or another model, gets another (but for a 2^-32
// chance). The daemon restores a stream's detector only under the model
// whose errors the detector learned.
uint32_t ModelFingerprint(const Model& model);
// A fingerprint as `lstmad summary` and the daemon's log show it: 8
// lowercase hex digits.
std::string FingerprintText(uint32_t fingerprint);

// File versions: SaveModel writes through WriteFileAtomically (core/files.h),
// so a reader never sees a half-written model; LoadModel reads at most
// model_file::kMaxFileBytes.
Status SaveModel(const Model& model, const std::string& path);
Result<Model> LoadModel(const std::string& path);

}  // namespace lstmad::core
