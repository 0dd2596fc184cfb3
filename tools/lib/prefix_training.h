// Training a model on the first rows of a series, for `lstmad
// evaluate-stream`: NAB's protocol lets a detector learn from the
// probationary period and nothing after it. The recipe is core's
// (training_recipe.h), as for `lstmad train`; this file holds the flags with
// evaluate-stream's defaults. Functions of their arguments; no shared state.
#pragma once

#include <string>

#include "cli_args.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/status.h"
#include "lstmad/core/training_recipe.h"

namespace lstmad::tools {

using PrefixTraining = core::TrainingRecipe;

// One set of training defaults for `lstmad train` and `lstmad evaluate-stream`
// (docs/detection.md says why): a model small enough, and stopped early
// enough, to learn a few hundred windows without memorising them. The
// tutorial's 128,64 | 64,128 relu for 100 epochs reconstructs NAB's machine
// temperature with errors in the thousands and misses its failure.
namespace training_defaults {
inline constexpr const char* kLookback = "30";
inline constexpr const char* kEncoder = "32,16";
inline constexpr const char* kDecoder = "16,32";
inline constexpr const char* kActivation = "tanh";
inline constexpr const char* kEpochs = "20";
inline constexpr const char* kPatience = "3";
}  // namespace training_defaults

// Flags with evaluate-stream's defaults (docs/detection.md says why).
void AddPrefixTrainingFlags(ArgParser* parser);
std::string ParsePrefixTrainingFlags(const ArgParser& parser, PrefixTraining* settings);

struct TrainedPrefix {
  core::Model model;
  int epochs = 0;
  double val_loss = -1;
  double seconds = 0;
  std::vector<std::string> warnings;  // core::CalibrationWarnings
};

// Trains on the windows that lie entirely in rows [0, rows). `path` names
// the table's file in errors (time features without timestamps).
core::Result<TrainedPrefix> TrainOnPrefix(const core::CsvTable& table, const std::string& path, int rows,
                                          const PrefixTraining& settings);

}  // namespace lstmad::tools
