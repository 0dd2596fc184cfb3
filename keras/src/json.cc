#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

namespace lstmad::keras::json {
namespace {

// Recursive descent; the recursion is bounded by kMaxDepth, so hostile
// nesting cannot exhaust the stack.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  core::Result<Value> ParseDocument() {
    SkipSpace();
    std::optional<Value> value = ParseValue(0);
    if (!value) return Error();
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("unexpected text after the JSON value");
      return Error();
    }
    return std::move(*value);
  }

 private:
  std::optional<Value> ParseValue(int depth) {
    if (depth >= kMaxDepth) return Fail("nested deeper than " + std::to_string(kMaxDepth));
    if (AtEnd()) return Fail("unexpected end of input, a value was expected");
    switch (text_[pos_]) {
      case '{': return ParseObject(depth);
      case '[': return ParseArray(depth);
      case '"': {
        std::optional<std::string> s = ParseString();
        if (!s) return std::nullopt;
        return Value::String(std::move(*s));
      }
      case 't': return Literal("true", Value::Bool(true));
      case 'f': return Literal("false", Value::Bool(false));
      case 'n': return Literal("null", Value::Null());
      case 'N': return Literal("NaN", Value::Number(std::numeric_limits<double>::quiet_NaN()));
      case 'I': return Literal("Infinity", Value::Number(std::numeric_limits<double>::infinity()));
      default: return ParseNumber();
    }
  }

  std::optional<Value> ParseObject(int depth) {
    ++pos_;  // '{'
    std::vector<std::pair<std::string, Value>> members;
    SkipSpace();
    if (Consume('}')) return Value::Object(std::move(members));
    while (true) {
      SkipSpace();
      if (AtEnd() || text_[pos_] != '"') return Fail("expected a string key");
      std::optional<std::string> key = ParseString();
      if (!key) return std::nullopt;
      SkipSpace();
      if (!Consume(':')) return Fail("expected ':' after an object key");
      SkipSpace();
      std::optional<Value> value = ParseValue(depth + 1);
      if (!value) return std::nullopt;
      members.emplace_back(std::move(*key), std::move(*value));
      SkipSpace();
      if (Consume('}')) return Value::Object(std::move(members));
      if (!Consume(',')) return Fail("expected ',' or '}' in an object");
    }
  }

  std::optional<Value> ParseArray(int depth) {
    ++pos_;  // '['
    std::vector<Value> items;
    SkipSpace();
    if (Consume(']')) return Value::Array(std::move(items));
    while (true) {
      SkipSpace();
      std::optional<Value> value = ParseValue(depth + 1);
      if (!value) return std::nullopt;
      items.push_back(std::move(*value));
      SkipSpace();
      if (Consume(']')) return Value::Array(std::move(items));
      if (!Consume(',')) return Fail("expected ',' or ']' in an array");
    }
  }

  std::optional<Value> Literal(std::string_view word, Value value) {
    if (text_.substr(pos_, word.size()) != word) return Fail("unknown literal");
    pos_ += word.size();
    return value;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, or -Infinity.
  std::optional<Value> ParseNumber() {
    const size_t start = pos_;
    Consume('-');
    if (text_.substr(pos_, 8) == "Infinity") {
      pos_ += 8;
      return Value::Number(-std::numeric_limits<double>::infinity());
    }
    if (Consume('0')) {
      // no leading zeros
    } else if (!Digits()) {
      return Fail(pos_ == start ? "unexpected character" : "expected a digit");
    }
    if (Consume('.') && !Digits()) return Fail("expected a digit after '.'");
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!Digits()) return Fail("expected a digit in the exponent");
    }
    double v = 0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves v alone; JSON still calls it a number: overflow
      // gives +-inf, underflow (a negative exponent, or 0.000...) gives +-0.
      const std::string_view s(first, static_cast<size_t>(last - first));
      const size_t e = s.find_first_of("eE");
      const bool tiny = e != std::string_view::npos ? s[e + 1] == '-'
                                                    : s.starts_with("0") || s.starts_with("-0");
      const double magnitude = tiny ? 0.0 : std::numeric_limits<double>::infinity();
      v = s[0] == '-' ? -magnitude : magnitude;
    } else if (ec != std::errc() || ptr != last) {
      return Fail("malformed number");
    }
    return Value::Number(v);
  }

  std::optional<std::string> ParseString() {
    ++pos_;  // '"'
    std::string out;
    while (true) {
      if (AtEnd()) return FailString("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return FailString("raw control character in a string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) return FailString("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u':
          if (!UnicodeEscape(&out)) return std::nullopt;
          break;
        default: return FailString("unknown escape");
      }
    }
  }

  // After "\u": four hex digits, and a second \uXXXX for a surrogate pair.
  // A lone surrogate is kept as its 3-byte encoding, as Python accepts it.
  bool UnicodeEscape(std::string* out) {
    std::optional<uint32_t> cp = Hex4();
    if (!cp) return false;
    if (*cp >= 0xD800 && *cp < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
      const size_t save = pos_;
      pos_ += 2;
      std::optional<uint32_t> low = Hex4();
      if (!low) return false;
      if (*low >= 0xDC00 && *low < 0xE000) {
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
      } else {
        pos_ = save;
      }
    }
    AppendUtf8(*cp, out);
    return true;
  }

  std::optional<uint32_t> Hex4() {
    if (text_.size() - pos_ < 4) {
      Fail("truncated \\u escape");
      return std::nullopt;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        Fail("bad hex digit in a \\u escape");
        return std::nullopt;
      }
      v = v * 16 + d;
    }
    return v;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool Digits() {
    const size_t start = pos_;
    while (!AtEnd() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  bool Consume(char c) {
    if (AtEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (!AtEnd() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                        text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // Records the first error with its line and column (1-based, in bytes).
  std::nullopt_t Fail(const std::string& what) {
    if (error_.empty()) {
      size_t line = 1, column = 1;
      for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
        if (text_[i] == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      error_ = "JSON error at line " + std::to_string(line) + ", column " +
               std::to_string(column) + ": " + what;
    }
    return std::nullopt;
  }
  std::optional<std::string> FailString(const std::string& what) { return Fail(what); }
  core::Status Error() const { return core::Status::Error(error_); }

  std::string_view text_;
  size_t pos_ = 0;
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

core::Result<Value> Parse(std::string_view text) { return Parser(text).ParseDocument(); }

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
