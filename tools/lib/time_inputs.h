// The time inputs of a model with time features (core/time_features.h), as
// the `lstmad` subcommands build them from a CSV: each row's timestamp
// column, parsed as ParseTimestamp (labels.h) parses it, gives the row's
// time. Functions of their arguments; no shared state.
#pragma once

#include <string>
#include <vector>

#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"
#include "lstmad/core/time_features.h"

namespace lstmad::tools {

// Each row's time in seconds since the epoch. Errors name `path` (the CSV)
// and `time`: no timestamp column, or the first row whose timestamp does not
// parse or is not finite.
core::Result<std::vector<double>> RowSeconds(const core::CsvTable& table, const std::string& path,
                                             const core::TimeFeatures& time);

// Checks that `table` can feed `model`'s time inputs: always OK for a model
// without time features, else RowSeconds' errors.
core::Status CheckTimeInputs(const core::Model& model, const core::CsvTable& table, const std::string& path);

// The network's input series in original units: the table's values, then
// the model's time inputs when it has any, [(F + time inputs) x rows].
// The table has passed CheckTimeInputs for this model.
core::Matrix<float> ModelInputSeries(const core::Model& model, const core::CsvTable& table);

}  // namespace lstmad::tools
