// Parsing of the CSV input that `lstmad train`, `reconstruct` and `score`
// read: a header row; an optional first column named `timestamp` (ISO 8601 or
// epoch seconds, kept as written); every other column a numeric feature.
//
// Errors name the source, the 1-based line and column (and the column's
// name) of the first problem: ragged rows, non-numeric or non-finite cells,
// an empty file, a requested feature that is not in the header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

struct CsvTable {
  std::vector<std::string> feature_names;  // selected features, in the order requested
  std::vector<std::string> timestamps;     // as written; empty when there is no timestamp column
  Matrix<double> values;                   // [features x rows]
  int rows() const { return static_cast<int>(values.cols()); }
};

// What an empty feature cell (a gap in the series) does.
enum class EmptyCells {
  kError,    // refused, naming line and column
  kForward,  // the feature's value in the row before (an error in the first row)
  kDrop,     // the whole row is left out, timestamp included
};

// `text` is the whole file; `source` names it in errors. When `features` is
// non-empty only those columns are kept, in that order; otherwise every
// non-timestamp column. Accepts LF or CRLF line ends, a trailing newline,
// surrounding spaces in cells, and a UTF-8 byte-order mark. The separator is
// a comma, or, when the header has none, the semicolon or tab it has (as
// spreadsheets export in locales with a decimal comma; numbers still take a
// decimal point, and a message says so).
Result<CsvTable> ParseCsv(std::string_view text, const std::string& source,
                          const std::vector<std::string>& features = {},
                          EmptyCells empty_cells = EmptyCells::kError);

}  // namespace lstmad::core
