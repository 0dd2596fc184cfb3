#include "time_inputs.h"

#include <cmath>

#include "labels.h"
#include "lstmad/core/text.h"

namespace lstmad::tools {

core::Result<std::vector<double>> RowSeconds(const core::CsvTable& table, const std::string& path,
                                             const core::TimeFeatures& time) {
  const std::string need = "the time features (" + time.ToString() + ")";
  if (table.timestamps.empty()) {
    return core::Status::Invalid(path + ": no timestamp column; " + need +
                                 " need one (a first column named timestamp)");
  }
  std::vector<double> seconds(table.timestamps.size());
  for (size_t i = 0; i < seconds.size(); ++i) {
    const std::optional<double> t = ParseTimestamp(table.timestamps[i]);
    if (!t || !std::isfinite(*t)) {
      return core::Status::Invalid(
          path + ": data row " + std::to_string(i + 1) + ": timestamp " + core::Quote(table.timestamps[i]) +
          " is not \"YYYY-MM-DD HH:MM:SS\" (UTC) or epoch seconds, which " + need + " need");
    }
    seconds[i] = *t;
  }
  return seconds;
}

core::Status CheckTimeInputs(const core::Model& model, const core::CsvTable& table, const std::string& path) {
  if (model.time_features.empty()) return core::Status::Ok();
  return RowSeconds(table, path, model.time_features).status();
}

core::Matrix<float> ModelInputSeries(const core::Model& model, const core::CsvTable& table) {
  const core::Matrix<float> values = table.values.cast<float>();
  if (model.time_features.empty()) return values;
  // Checked by the caller (CheckTimeInputs), so this cannot fail.
  const std::vector<double> seconds = RowSeconds(table, "", model.time_features).value();
  return core::AppendTimeInputs<float>(values, model.time_features, seconds);
}

}  // namespace lstmad::tools
