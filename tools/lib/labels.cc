#include "labels.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "command_support.h"

namespace lstmad::tools {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool Digits(const std::string& s, size_t at, size_t count, int* out) {
  if (at + count > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// A JSON reader for exactly the shape of NAB's windows file: an object of
// arrays of [string, string] pairs.
class WindowsJson {
 public:
  explicit WindowsJson(const std::string& text) : s_(text) {}

  bool Parse(std::map<std::string, std::vector<std::pair<std::string, std::string>>>* out) {
    if (!Expect('{')) return false;
    if (Peek('}')) return Expect('}');
    do {
      std::string key;
      if (!String(&key) || !Expect(':') || !Expect('[')) return false;
      auto& windows = (*out)[key];
      if (!Peek(']')) {
        do {
          std::string a, b;
          if (!Expect('[') || !String(&a) || !Expect(',') || !String(&b) || !Expect(']')) {
            return false;
          }
          windows.emplace_back(a, b);
        } while (Accept(','));
      }
      if (!Expect(']')) return false;
    } while (Accept(','));
    return Expect('}');
  }
  size_t position() const { return pos_; }

 private:
  void Space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' ||
                                s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool Peek(char c) {
    Space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool Accept(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Expect(char c) { return Accept(c); }
  bool String(std::string* out) {
    if (!Expect('"')) return false;
    for (; pos_ < s_.size() && s_[pos_] != '"'; ++pos_) {
      if (s_[pos_] == '\\') {
        if (++pos_ >= s_.size()) return false;
      }
      out->push_back(s_[pos_]);
    }
    return pos_++ < s_.size();
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<double> ParseTimestamp(const std::string& text) {
  double number = 0;
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, number); ec == std::errc() && p == end) {
    return number;
  }
  int y, mo, d, h, mi, sec;
  if (!Digits(text, 0, 4, &y) || text.size() < 19 || text[4] != '-' || !Digits(text, 5, 2, &mo) ||
      text[7] != '-' || !Digits(text, 8, 2, &d) || (text[10] != ' ' && text[10] != 'T') ||
      !Digits(text, 11, 2, &h) || text[13] != ':' || !Digits(text, 14, 2, &mi) ||
      text[16] != ':' || !Digits(text, 17, 2, &sec)) {
    return std::nullopt;
  }
  double frac = 0;
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    double scale = 0.1;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) {
      frac += (text[i] - '0') * scale;
    }
  }
  if (i < text.size() && text[i] == 'Z') ++i;
  if (i != text.size()) return std::nullopt;
  return static_cast<double>(DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) + frac;
}

core::Result<std::vector<uint8_t>> LoadLabelColumn(const std::string& path,
                                                   const std::string& column) {
  core::Result<core::CsvTable> table = LoadCsv(path, {column});
  if (!table.ok()) return table.status();
  std::vector<uint8_t> labels;
  labels.reserve(static_cast<size_t>(table->rows()));
  for (int i = 0; i < table->rows(); ++i) labels.push_back(table->values(0, i) != 0 ? 1 : 0);
  return labels;
}

core::Result<std::vector<uint8_t>> LoadNabWindowLabels(const std::string& windows_path,
                                                       const std::string& data_path,
                                                       const std::vector<std::string>& timestamps) {
  core::Result<std::string> text = ReadFile(windows_path);
  if (!text.ok()) return text.status();
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> all;
  WindowsJson json(*text);
  if (!json.Parse(&all)) {
    return core::Status::Error(windows_path + ": not a NAB windows file (an object of [start, end] "
                               "lists) near byte " + std::to_string(json.position()));
  }
  const std::vector<std::pair<std::string, std::string>>* windows = nullptr;
  for (const auto& [key, list] : all) {
    const bool suffix = data_path.size() >= key.size() &&
                        data_path.compare(data_path.size() - key.size(), key.size(), key) == 0 &&
                        (data_path.size() == key.size() ||
                         data_path[data_path.size() - key.size() - 1] == '/');
    if (suffix) windows = &list;
  }
  if (windows == nullptr) {
    return core::Status::Error(windows_path + ": no entry for " + data_path +
                               " (keys are paths like realKnownCause/nyc_taxi.csv)");
  }
  if (timestamps.empty()) return core::Status::Error(data_path + ": no timestamp column to match windows");
  std::vector<std::pair<double, double>> spans;
  for (const auto& [a, b] : *windows) {
    auto start = ParseTimestamp(a), stop = ParseTimestamp(b);
    if (!start || !stop) return core::Status::Error(windows_path + ": bad timestamp in window [" + a + ", " + b + "]");
    spans.emplace_back(*start, *stop);
  }
  std::vector<uint8_t> labels(timestamps.size(), 0);
  for (size_t i = 0; i < timestamps.size(); ++i) {
    auto t = ParseTimestamp(timestamps[i]);
    if (!t) return core::Status::Error(data_path + ": row " + std::to_string(i + 2) + ": bad timestamp \"" + timestamps[i] + "\"");
    for (const auto& [start, stop] : spans) labels[i] |= (*t >= start && *t <= stop) ? 1 : 0;
  }
  return labels;
}

}  // namespace lstmad::tools
