#include "json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lstmad::keras::json {
namespace {

// nlohmann::json parses RFC 8259 only, so Python's NaN, Infinity and
// -Infinity, and numbers too large for a double (which nlohmann refuses as
// "number overflow"), are swapped for plain numbers of the same length before
// it runs: byte positions, hence error positions, stay those of the input.
// The swapped numbers are remembered by their ordinal among all number
// tokens, the order in which the SAX handler meets them. Only tokens that
// stand alone are swapped, so the swap makes no invalid document valid, and
// on any prefix nlohmann accepts, this scan's tokens (numbers, strings,
// brackets) are nlohmann's: the ordinals and too_deep_at match its events.
struct Prepared {
  std::string text;
  std::vector<std::pair<size_t, double>> swapped;  // (ordinal, value), ordinals ascending
  size_t too_deep_at = std::string_view::npos;     // the bracket that opens level kMaxDepth + 1
};

constexpr double kInf = std::numeric_limits<double>::infinity();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Bytes that would join a token next to them into a longer one.
bool IsWordByte(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '+' || c == '-' || c == '_';
}

// Index just past the string literal that starts with the quote at `i` (or
// the end of the text when it is unterminated).
size_t SkipString(std::string_view text, size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

// Index just past the run of number bytes that starts at `i`. In a valid
// document a number is followed by whitespace, ',', ']', '}' or the end.
size_t NumberEnd(std::string_view text, size_t i) {
  while (i < text.size() && (IsDigit(text[i]) || text[i] == '.' || text[i] == 'e' ||
                             text[i] == 'E' || text[i] == '+' || text[i] == '-')) {
    ++i;
  }
  return i;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Whether |number| >= 1, for a valid JSON number: the place of its first
// non-zero digit plus its exponent. Decides whether a number that from_chars
// finds out of range overflowed (to +-inf, as Python reads it) or underflowed
// (nlohmann reads that as 0 by itself).
bool AtLeastOne(std::string_view s) {
  if (s.front() == '-') s.remove_prefix(1);
  const size_t e = std::min(s.find_first_of("eE"), s.size());
  int64_t exponent = 0;
  if (e < s.size()) {
    std::string_view digits = s.substr(e + 1);
    if (digits.front() == '+') digits.remove_prefix(1);
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
    if (ec == std::errc::result_out_of_range) {
      exponent = digits.front() == '-' ? std::numeric_limits<int64_t>::min() / 2
                                       : std::numeric_limits<int64_t>::max() / 2;
    }
  }
  const std::string_view mantissa = s.substr(0, e);
  const auto integer_digits = static_cast<int64_t>(std::min(mantissa.find('.'), mantissa.size()));
  int64_t index = 0;  // among the mantissa's digits
  for (const char c : mantissa) {
    if (c == '.') continue;
    if (c != '0') return integer_digits - 1 - index + exponent >= 0;
    ++index;
  }
  return false;  // zero
}

// The non-finite token Python writes at `i`, standing alone, or none.
std::optional<std::pair<size_t, double>> NonFiniteAt(std::string_view text, size_t i) {
  static constexpr std::pair<std::string_view, double> kTokens[] = {
      {"NaN", std::numeric_limits<double>::quiet_NaN()}, {"Infinity", kInf}, {"-Infinity", -kInf}};
  if (i > 0 && IsWordByte(text[i - 1])) return std::nullopt;
  for (const auto& [token, value] : kTokens) {
    const size_t end = i + token.size();
    if (text.substr(i).starts_with(token) && (end == text.size() || !IsWordByte(text[end]))) {
      return std::pair(token.size(), value);
    }
  }
  return std::nullopt;
}

Prepared Prepare(std::string_view input) {
  Prepared out{std::string(input), {}, std::string_view::npos};
  size_t numbers = 0;  // number tokens so far, the swapped ones included
  const auto swap_number = [&](size_t at, size_t length, double value) {
    // "0.000": every swapped token is at least 3 bytes long.
    out.text.replace(at, length, "0." + std::string(length - 2, '0'));
    out.swapped.emplace_back(numbers++, value);
  };
  int depth = 0;
  for (size_t i = 0; i < input.size();) {
    const char c = input[i];
    if (c == '"') {
      i = SkipString(input, i);
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth && out.too_deep_at == std::string_view::npos) out.too_deep_at = i;
      ++i;
    } else if (c == ']' || c == '}') {
      --depth;
      ++i;
    } else if (const auto non_finite = NonFiniteAt(input, i)) {
      swap_number(i, non_finite->first, non_finite->second);
      i += non_finite->first;
    } else if (c == '-' || IsDigit(c)) {
      const size_t end = NumberEnd(input, i);
      const std::string_view run = input.substr(i, end - i);
      double value = 0;
      if (IsJsonNumber(run) &&
          std::from_chars(run.data(), run.data() + run.size(), value).ec ==
              std::errc::result_out_of_range &&
          AtLeastOne(run)) {
        swap_number(i, run.size(), run.front() == '-' ? -kInf : kInf);
      } else {
        ++numbers;
      }
      i = end;
    } else {
      ++i;
    }
  }
  return out;
}

// "JSON error at line L, column C: what", L and C 1-based, C in bytes.
core::Status ErrorAt(std::string_view text, size_t offset, std::string_view what) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return core::Status::Error("JSON error at line " + std::to_string(line) + ", column " +
                             std::to_string(column) + ": " + std::string(what));
}

// nlohmann's message without its "[json.exception.parse_error.101] parse
// error at line 1, column 2: " prefix (its position is replaced by ours).
std::string_view Describe(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    const size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  if (what.starts_with("parse error")) {
    const size_t colon = what.find(": ");
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
  }
  return what;
}

// nlohmann's SAX events to a Value tree. nlohmann's SAX parser keeps its own
// nesting on the heap; this handler stops it past kMaxDepth open arrays and
// objects, so neither the parse nor the tree grows without bound.
class TreeBuilder {
 public:
  using Json = nlohmann::json;

  explicit TreeBuilder(const std::vector<std::pair<size_t, double>>& swapped)
      : swapped_(swapped) {}

  bool null() { return Add(Value::Null()); }
  bool boolean(bool b) { return Add(Value::Bool(b)); }
  bool number_integer(Json::number_integer_t n) { return AddNumber(static_cast<double>(n)); }
  bool number_unsigned(Json::number_unsigned_t n) { return AddNumber(static_cast<double>(n)); }
  bool number_float(Json::number_float_t n, const std::string& /*text*/) { return AddNumber(n); }
  bool string(std::string& s) { return Add(Value::String(std::move(s))); }
  bool binary(Json::binary_t& /*bytes*/) { return false; }  // JSON text has none
  bool key(std::string& k) {
    open_.back().key = std::move(k);
    return true;
  }
  bool start_object(size_t /*unknown*/) { return Open(true); }
  bool start_array(size_t /*unknown*/) { return Open(false); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string& token, const Json::exception& e) {
    error_position_ = position;
    error_ = std::string(Describe(e.what()));
    // "; last read: '...'" quotes the text nlohmann was given, where a
    // non-finite token reads "0.000"; the position says where instead.
    const std::string quoted = "; last read: '" + token + "'";
    const size_t at = error_.find(quoted);
    if (at != std::string::npos) error_.erase(at, quoted.size());
    return false;
  }

  bool too_deep() const { return too_deep_; }
  // nlohmann's position counts the bytes read, the offending one included.
  size_t error_position() const { return error_position_ == 0 ? 0 : error_position_ - 1; }
  const std::string& error() const { return error_; }
  Value TakeRoot() { return std::move(root_); }

 private:
  struct Frame {
    bool object;
    std::vector<Value> items;
    std::vector<std::pair<std::string, Value>> members;
    std::string key;  // of the member whose value comes next
  };

  bool Add(Value v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (open_.back().object) {
      open_.back().members.emplace_back(std::move(open_.back().key), std::move(v));
    } else {
      open_.back().items.push_back(std::move(v));
    }
    return true;
  }

  bool AddNumber(double parsed) {
    const size_t ordinal = numbers_++;
    if (next_swapped_ < swapped_.size() && swapped_[next_swapped_].first == ordinal) {
      return Add(Value::Number(swapped_[next_swapped_++].second));
    }
    return Add(Value::Number(parsed));
  }

  bool Open(bool object) {
    if (open_.size() >= static_cast<size_t>(kMaxDepth)) {
      too_deep_ = true;
      return false;
    }
    open_.push_back({object, {}, {}, {}});
    return true;
  }

  bool Close() {
    Frame done = std::move(open_.back());
    open_.pop_back();
    return Add(done.object ? Value::Object(std::move(done.members))
                           : Value::Array(std::move(done.items)));
  }

  const std::vector<std::pair<size_t, double>>& swapped_;
  size_t next_swapped_ = 0;
  size_t numbers_ = 0;
  std::vector<Frame> open_;
  Value root_;
  bool too_deep_ = false;
  size_t error_position_ = 0;
  std::string error_;
};

}  // namespace

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (auto it = object_.rbegin(); it != object_.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

Value Value::Bool(bool b) {
  Value v(Type::kBool);
  v.boolean_ = b;
  return v;
}

Value Value::Number(double n) {
  Value v(Type::kNumber);
  v.number_ = n;
  return v;
}

Value Value::String(std::string s) {
  Value v(Type::kString);
  v.string_ = std::move(s);
  return v;
}

Value Value::Array(std::vector<Value> items) {
  Value v(Type::kArray);
  v.array_ = std::move(items);
  return v;
}

Value Value::Object(std::vector<std::pair<std::string, Value>> members) {
  Value v(Type::kObject);
  v.object_ = std::move(members);
  return v;
}

core::Result<Value> Parse(std::string_view text) {
  const Prepared prepared = Prepare(text);
  TreeBuilder builder(prepared.swapped);
  if (nlohmann::json::sax_parse(prepared.text, &builder, nlohmann::json::input_format_t::json,
                                /*strict=*/true, /*ignore_comments=*/false)) {
    return builder.TakeRoot();
  }
  if (builder.too_deep()) {
    return ErrorAt(text, prepared.too_deep_at, "nested deeper than " + std::to_string(kMaxDepth));
  }
  return ErrorAt(text, builder.error_position(), builder.error());
}

std::string_view TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return "a boolean";
    case Value::Type::kNumber: return "a number";
    case Value::Type::kString: return "a string";
    case Value::Type::kArray: return "an array";
    case Value::Type::kObject: return "an object";
  }
  return "?";
}

}  // namespace lstmad::keras::json
