// Test-only: a CSV file's text parsed as the CLI reads it (core::ParseCsv,
// every column), for tests of what the CLI does with a table.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "lstmad/core/csv.h"

namespace lstmad::tools::testing {

// `text` parsed as data.csv; a failed expectation and an empty table if it does not parse.
inline core::CsvTable Table(const std::string& text) {
  core::Result<core::CsvTable> table = core::ParseCsv(text, "data.csv");
  EXPECT_TRUE(table.ok()) << table.status().message();
  return table.ok() ? *table : core::CsvTable{};
}

}  // namespace lstmad::tools::testing
