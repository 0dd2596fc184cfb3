#include "lstmad/core/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lstmad/core/text.h"

namespace lstmad::core {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kTimestampName = "timestamp";
// Cells are echoed in messages; a stray megabyte of garbage should not be.
constexpr std::size_t kMaxEchoedBytes = 40;
// A header with thousands of columns should not turn one message into a page.
constexpr std::size_t kMaxListedColumns = 20;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// Quotes `text` for a message (core/text.h), cut at kMaxEchoedBytes.
std::string QuoteCell(std::string_view text) { return core::Quote(text, kMaxEchoedBytes); }

// Hands out the lines of the text with their 1-based numbers. Fully blank
// lines are skipped but still counted, so numbers match what an editor shows.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text), done_(text.empty()) {}

  bool NextNonBlank(std::string_view* line) {
    while (!done_) {
      std::size_t end = rest_.find('\n');
      std::string_view raw = rest_.substr(0, end);
      if (end == std::string_view::npos) {
        done_ = true;
      } else {
        rest_.remove_prefix(end + 1);
        done_ = rest_.empty();  // a trailing newline does not open a new line
      }
      ++line_number_;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      if (!Trim(raw).empty()) {
        *line = raw;
        return true;
      }
    }
    return false;
  }

  std::size_t line_number() const { return line_number_; }

 private:
  std::string_view rest_;
  bool done_;
  std::size_t line_number_ = 0;
};

// --- Locations and messages --------------------------------------------------

std::string At(const std::string& source, std::size_t line) {
  return source + ":" + std::to_string(line);
}

std::string At(const std::string& source, std::size_t line, std::size_t column,
               std::string_view name) {
  return At(source, line) + ":" + std::to_string(column) + " (column " + QuoteCell(name) + ")";
}

std::size_t CountFields(std::string_view line, char separator) {
  return static_cast<std::size_t>(std::count(line.begin(), line.end(), separator)) + 1;
}

// A comma, unless the header has none but has a semicolon or a tab.
char SeparatorOf(std::string_view header) {
  if (header.find(',') != std::string_view::npos) return ',';
  if (header.find(';') != std::string_view::npos) return ';';
  if (header.find('\t') != std::string_view::npos) return '\t';
  return ',';
}

Status RaggedRow(const std::string& source, std::size_t line, std::size_t expected,
                 std::size_t got) {
  return Status::Error(At(source, line) + ": ragged row: expected " + std::to_string(expected) +
                       " fields as in the header, got " + std::to_string(got));
}

// --- Numbers -----------------------------------------------------------------

enum class CellProblem { kNone, kEmpty, kNotNumber, kNaN, kInfinite, kOverflow };

// from_chars reports overflow and underflow alike as out of range. The
// decimal exponent of the leading significant digit tells them apart: a
// value under 1 can only have underflowed.
bool IsUnderflow(std::string_view number) {
  if (!number.empty() && number.front() == '-') number.remove_prefix(1);
  std::size_t i = 0;
  std::int64_t magnitude = 0;  // digits before the point, or minus leading zeros after it
  while (i < number.size() && number[i] == '0') ++i;
  while (i < number.size() && IsDigit(number[i])) ++i, ++magnitude;
  if (i < number.size() && number[i] == '.') {
    ++i;
    if (magnitude == 0) {
      while (i < number.size() && number[i] == '0') ++i, --magnitude;
    }
    while (i < number.size() && IsDigit(number[i])) ++i;
  }
  std::int64_t exponent = 0;
  if (i < number.size() && (number[i] == 'e' || number[i] == 'E')) {
    ++i;
    bool negative = i < number.size() && number[i] == '-';
    if (i < number.size() && (number[i] == '-' || number[i] == '+')) ++i;
    // Saturate: past a billion the exponent alone decides the sign.
    for (; i < number.size() && IsDigit(number[i]); ++i) {
      exponent = std::min<std::int64_t>(exponent * 10 + (number[i] - '0'), 1'000'000'000);
    }
    if (negative) exponent = -exponent;
  }
  return magnitude + exponent <= 0;
}

// Parses one cell as a finite double. No allocation: this runs once per cell.
CellProblem ParseNumber(std::string_view cell, double* out) {
  cell = Trim(cell);
  if (cell.empty()) return CellProblem::kEmpty;
  std::string_view number = cell;
  // from_chars takes '-' but not '+'; after a '+' no second sign may follow.
  if (number.front() == '+') {
    number.remove_prefix(1);
    if (number.empty() || number.front() == '+' || number.front() == '-') {
      return CellProblem::kNotNumber;
    }
  }
  const char* end = number.data() + number.size();
  double value = 0.0;
  auto [ptr, ec] = std::from_chars(number.data(), end, value);
  if (ec == std::errc::invalid_argument || ptr != end) return CellProblem::kNotNumber;
  if (ec == std::errc::result_out_of_range) {
    if (!IsUnderflow(number)) return CellProblem::kOverflow;
    value = number.front() == '-' ? -0.0 : 0.0;  // from_chars only fails when it rounds to 0
  }
  if (std::isnan(value)) return CellProblem::kNaN;
  if (std::isinf(value)) return CellProblem::kInfinite;
  *out = value;
  return CellProblem::kNone;
}

std::string Describe(CellProblem problem, std::string_view cell) {
  std::string quoted = QuoteCell(Trim(cell));
  switch (problem) {
    case CellProblem::kEmpty:
      return "empty cell (a gap: fill it from the row before, or drop its row: lstmad's --fill forward|drop)";
    case CellProblem::kNotNumber:
      return "not a number: " + quoted;
    case CellProblem::kNaN:
      return "not a finite number (NaN): " + quoted;
    case CellProblem::kInfinite:
      return "not a finite number (infinity): " + quoted;
    case CellProblem::kOverflow:
      return "number out of range for a double: " + quoted;
    case CellProblem::kNone:
      break;
  }
  return "ok";
}

// --- Timestamps --------------------------------------------------------------

// A read position over one timestamp; each method consumes only on success.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool AtEnd() const { return i_ == s_.size(); }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool Take(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }
  bool TakeAnyOf(std::string_view chars) {
    if (i_ >= s_.size() || chars.find(s_[i_]) == std::string_view::npos) return false;
    ++i_;
    return true;
  }
  // Exactly `n` digits, read as a number in [lo, hi].
  bool Number(int n, int lo, int hi, int* value = nullptr) {
    if (s_.size() - i_ < static_cast<std::size_t>(n)) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s_[i_ + static_cast<std::size_t>(k)];
      if (!IsDigit(c)) return false;
      v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) return false;
    i_ += static_cast<std::size_t>(n);
    if (value != nullptr) *value = v;
    return true;
  }
  // One or more digits.
  bool Digits() {
    std::size_t start = i_;
    while (i_ < s_.size() && IsDigit(s_[i_])) ++i_;
    return i_ > start;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

int DaysInMonth(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

bool ParseDate(Cursor& c) {
  int year = 0;
  int month = 0;
  if (!c.Number(4, 0, 9999, &year) || !c.Take('-') || !c.Number(2, 1, 12, &month) || !c.Take('-')) {
    return false;
  }
  return c.Number(2, 1, DaysInMonth(year, month));
}

// HH:MM[:SS[.fff]]; 60 seconds admits a leap second.
bool ParseTime(Cursor& c) {
  if (!c.Number(2, 0, 23) || !c.Take(':') || !c.Number(2, 0, 59)) return false;
  if (!c.Take(':')) return true;
  if (!c.Number(2, 0, 60)) return false;
  if (c.Take('.')) return c.Digits();
  return true;
}

// Nothing (local time), Z, or an offset +HH, +HHMM or +HH:MM.
bool ParseZone(Cursor& c) {
  if (c.AtEnd() || c.TakeAnyOf("Zz")) return true;
  if (!c.TakeAnyOf("+-") || !c.Number(2, 0, 23)) return false;
  if (c.AtEnd()) return true;
  c.Take(':');
  return c.Number(2, 0, 59);
}

// YYYY-MM-DD, optionally followed by 'T' or a space, a time and a zone.
bool IsIso8601(std::string_view s) {
  Cursor c(s);
  if (!ParseDate(c)) return false;
  if (c.AtEnd()) return true;
  if (!c.TakeAnyOf("Tt ") || !ParseTime(c) || !ParseZone(c)) return false;
  return c.AtEnd();
}

// Seconds since 1970, possibly negative or fractional: -?D+(.D+)?
bool IsEpochSeconds(std::string_view s) {
  Cursor c(s);
  c.Take('-');
  if (!c.Digits()) return false;
  if (c.Take('.') && !c.Digits()) return false;
  return c.AtEnd();
}

// --- Header and column selection ----------------------------------------------

struct Layout {
  char separator = ',';
  EmptyCells empty_cells = EmptyCells::kError;
  std::vector<std::string> names;  // every column of the header
  bool has_timestamp = false;
  std::vector<int> target;  // per column: row of `values`, or -1 when not kept
  std::vector<std::string> features;
};

// A header cell with surrounding spaces and one pair of double quotes removed.
Result<std::string> HeaderName(std::string_view cell, const std::string& where) {
  std::string_view name = Trim(cell);
  bool opens = !name.empty() && name.front() == '"';
  bool closes = name.size() >= 2 && name.back() == '"';
  if (opens != closes) {
    return Status::Error(where + ": unbalanced double quote in header name " + QuoteCell(name));
  }
  if (opens) name = Trim(name.substr(1, name.size() - 2));
  if (name.empty()) return Status::Error(where + ": empty column name in header");
  return std::string(name);
}

Status ReadHeader(std::string_view line, const std::string& source, std::size_t line_number,
                  Layout* layout) {
  std::unordered_map<std::string, std::size_t> first_seen;
  std::size_t column = 0;
  layout->separator = SeparatorOf(line);
  for (std::size_t pos = 0;; ++column) {
    std::size_t comma = line.find(layout->separator, pos);
    std::string where = At(source, line_number) + ":" + std::to_string(column + 1);
    Result<std::string> name = HeaderName(line.substr(pos, comma - pos), where);
    if (!name.ok()) return name.status();
    auto [it, inserted] = first_seen.emplace(*name, column + 1);
    if (!inserted) {
      return Status::Error(At(source, line_number, column + 1, *name) +
                           ": duplicate column name, first used by column " +
                           std::to_string(it->second));
    }
    if (*name == kTimestampName && column > 0) {
      return Status::Error(At(source, line_number, column + 1, *name) +
                           ": a timestamp column must be the first column");
    }
    layout->names.push_back(std::move(*name));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  layout->has_timestamp = layout->names.front() == kTimestampName;
  return Status::Ok();
}

std::string ListFeatureColumns(const Layout& layout) {
  std::string list;
  std::size_t first = layout.has_timestamp ? 1 : 0;
  std::size_t listed = 0;
  for (std::size_t i = first; i < layout.names.size(); ++i) {
    if (listed == kMaxListedColumns) {
      return list + ", ... (" + std::to_string(layout.names.size() - i) + " more)";
    }
    list += (listed++ == 0 ? "" : ", ") + QuoteCell(layout.names[i]);
  }
  return list.empty() ? "none" : list;
}

Status SelectRequested(const std::vector<std::string>& features, const std::string& where,
                       Layout* layout) {
  std::unordered_map<std::string_view, int> column_of;
  for (std::size_t i = 0; i < layout->names.size(); ++i) {
    column_of.emplace(layout->names[i], static_cast<int>(i));
  }
  for (const std::string& feature : features) {
    if (feature == kTimestampName) {
      return Status::Error(where + ": \"timestamp\" cannot be selected as a feature: it names " +
                           "the time column, which is not numeric");
    }
    auto it = column_of.find(feature);
    if (it == column_of.end()) {
      return Status::Error(where + ": requested feature " + QuoteCell(feature) +
                           " is not a column of the header; available feature columns: " +
                           ListFeatureColumns(*layout));
    }
    int& target = layout->target[static_cast<std::size_t>(it->second)];
    if (target >= 0) {
      return Status::Error(where + ": feature " + QuoteCell(feature) + " is requested twice");
    }
    target = static_cast<int>(layout->features.size());
    layout->features.push_back(feature);
  }
  return Status::Ok();
}

Status SelectColumns(const std::vector<std::string>& features, const std::string& where,
                     Layout* layout) {
  layout->target.assign(layout->names.size(), -1);
  if (!features.empty()) return SelectRequested(features, where, layout);
  for (std::size_t i = layout->has_timestamp ? 1 : 0; i < layout->names.size(); ++i) {
    layout->target[i] = static_cast<int>(layout->features.size());
    layout->features.push_back(layout->names[i]);
  }
  if (layout->features.empty()) {
    return Status::Error(where + ": no feature columns: the header has only a timestamp column");
  }
  return Status::Ok();
}

// --- Rows --------------------------------------------------------------------

struct RowContext {
  const std::string& source;
  const Layout& layout;
  std::size_t line_number;
};

// Reports a bad cell, unless the row is ragged: then the shifted columns are
// the real problem. Counting fields only here keeps the happy path one pass.
Status CellError(const RowContext& row, std::string_view line, std::size_t column,
                 std::string message) {
  std::size_t fields = CountFields(line, row.layout.separator);
  if (fields != row.layout.names.size()) {
    return RaggedRow(row.source, row.line_number, row.layout.names.size(), fields);
  }
  return Status::Error(At(row.source, row.line_number, column + 1, row.layout.names[column]) +
                       ": " + message);
}

Status ReadTimestamp(const RowContext& row, std::string_view line, std::string_view cell,
                     std::vector<std::string>* timestamps) {
  std::string_view stamp = Trim(cell);
  if (stamp.empty()) return CellError(row, line, 0, "empty timestamp");
  if (!IsIso8601(stamp) && !IsEpochSeconds(stamp)) {
    return CellError(row, line, 0, "not a timestamp (ISO 8601 or epoch seconds): " + QuoteCell(stamp));
  }
  timestamps->emplace_back(stamp);
  return Status::Ok();
}

// "1,5" in a file separated by semicolons or tabs: a decimal comma.
std::string DecimalCommaHint(const Layout& layout, std::string_view cell) {
  if (layout.separator == ',' || cell.find(',') == std::string_view::npos) return "";
  return " (a decimal comma? numbers take a decimal point: 1.5, not 1,5)";
}

// Parses one data line into `out` (one column of `values`); `previous` is the
// row before (null for the first), for EmptyCells::kForward. Sets `*dropped`
// instead of reading on when an empty cell drops the row (EmptyCells::kDrop).
Status ReadRow(const RowContext& row, std::string_view line, double* out, const double* previous,
               std::vector<std::string>* timestamps, bool* dropped) {
  const std::size_t expected = row.layout.names.size();
  const char separator = row.layout.separator;
  const std::size_t stamps_before = timestamps->size();
  *dropped = false;
  std::size_t column = 0;
  for (std::size_t pos = 0;; ++column) {
    if (column == expected) {
      return RaggedRow(row.source, row.line_number, expected, CountFields(line, separator));
    }
    std::size_t comma = line.find(separator, pos);
    std::string_view cell = line.substr(pos, comma - pos);
    if (column == 0 && row.layout.has_timestamp) {
      LSTMAD_RETURN_IF_ERROR(ReadTimestamp(row, line, cell, timestamps));
    } else if (int target = row.layout.target[column]; target >= 0) {
      CellProblem problem = ParseNumber(cell, &out[target]);
      if (problem == CellProblem::kEmpty && row.layout.empty_cells == EmptyCells::kDrop) {
        // The row still has to be well formed: a ragged one is an error.
        if (CountFields(line, separator) != expected) {
          return RaggedRow(row.source, row.line_number, expected, CountFields(line, separator));
        }
        timestamps->resize(stamps_before);
        *dropped = true;
        return Status::Ok();
      }
      if (problem == CellProblem::kEmpty && row.layout.empty_cells == EmptyCells::kForward) {
        if (previous == nullptr) {
          return CellError(row, line, column, "empty cell in the first data row: no value before it to fill forward");
        }
        out[target] = previous[target];
        problem = CellProblem::kNone;
      }
      if (problem != CellProblem::kNone) {
        return CellError(row, line, column, Describe(problem, cell) + DecimalCommaHint(row.layout, cell));
      }
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (column + 1 != expected) return RaggedRow(row.source, row.line_number, expected, column + 1);
  return Status::Ok();
}

Status ReadRows(LineReader& reader, const std::string& source, const Layout& layout,
                Eigen::Index max_rows, CsvTable* table) {
  const auto n_features = static_cast<Eigen::Index>(layout.features.size());
  table->values.resize(n_features, max_rows);
  if (layout.has_timestamp) table->timestamps.reserve(static_cast<std::size_t>(max_rows));
  Eigen::Index rows = 0;
  std::string_view line;
  while (reader.NextNonBlank(&line)) {
    RowContext row{source, layout, reader.line_number()};
    const double* previous = rows > 0 ? table->values.col(rows - 1).data() : nullptr;
    bool dropped = false;
    LSTMAD_RETURN_IF_ERROR(
        ReadRow(row, line, table->values.col(rows).data(), previous, &table->timestamps, &dropped));
    if (!dropped) ++rows;
  }
  // Blank and dropped lines make the count fall short; realloc keeps the prefix.
  if (rows != max_rows) table->values.conservativeResize(n_features, rows);
  return Status::Ok();
}

}  // namespace

Result<CsvTable> ParseCsv(std::string_view text, const std::string& source,
                          const std::vector<std::string>& features, EmptyCells empty_cells) {
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  LineReader reader(text);
  std::string_view header;
  if (!reader.NextNonBlank(&header)) return Status::Error(source + ": empty file: no header row");
  const std::size_t header_line = reader.line_number();

  Layout layout;
  layout.empty_cells = empty_cells;
  LSTMAD_RETURN_IF_ERROR(ReadHeader(header, source, header_line, &layout));
  LSTMAD_RETURN_IF_ERROR(SelectColumns(features, At(source, header_line), &layout));

  // Every line after the header may be a data row: an upper bound, exact
  // without blank lines, that lets the matrix be allocated once.
  std::string_view rest = text.substr(static_cast<std::size_t>(header.data() - text.data()));
  auto max_rows = static_cast<Eigen::Index>(std::count(rest.begin(), rest.end(), '\n'));
  if (rest.back() != '\n') ++max_rows;  // the last line has no newline
  --max_rows;                           // the header's own line

  CsvTable table;
  LSTMAD_RETURN_IF_ERROR(ReadRows(reader, source, layout, max_rows, &table));
  if (table.rows() == 0) {
    return Status::Error(At(source, header_line) + ": no data rows after the header" +
                         (empty_cells == EmptyCells::kDrop ? " (every row had an empty cell, and was dropped)" : ""));
  }
  table.feature_names = std::move(layout.features);
  return table;
}

}  // namespace lstmad::core
