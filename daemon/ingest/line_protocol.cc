// InfluxDB line protocol parser. The grammar, the escaping rules and every
// choice where readers of the protocol disagree are written up in
// docs/wire-protocol.md; keep the two in step.
#include "ingest/line_protocol.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <system_error>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

using Tag = std::pair<std::string, std::string>;

// Quoted excerpts of client input in error messages are cut to this many bytes.
constexpr size_t kMaxQuotedBytes = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
// Whitespace tolerated around a line; between its sections only spaces count.
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The names of a line: the measurement, and the tag keys, tag values and field
// keys, which share one set of special characters.
enum class Name { kMeasurement, kKey };

bool IsSpecial(Name name, char c) { return c == ',' || c == ' ' || (name == Name::kKey && c == '='); }

// Offset of the first byte of `s` that is not valid UTF-8, or npos.
size_t InvalidUtf8At(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = core::Utf8SequenceLength(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// The code point of the valid UTF-8 sequence of `len` bytes at s[i].
uint32_t DecodeUtf8(std::string_view s, size_t i, size_t len) {
  const auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  if (len == 1) return byte(0);
  uint32_t cp = byte(0) & (0x7fu >> len);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (byte(k) & 0x3fu);
  return cp;
}

// Offset of the first refused format control in valid UTF-8 `s`, or npos;
// `*code_point` receives it.
size_t FormatControlAt(std::string_view s, uint32_t* code_point) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = core::Utf8SequenceLength(s, i);
    if (len > 1) {  // every refused code point is beyond ASCII
      const uint32_t cp = DecodeUtf8(s, i, len);
      if (IsFormatControl(cp)) {
        *code_point = cp;
        return i;
      }
    }
    i += len;
  }
  return std::string_view::npos;
}

// Appends a name in its canonical escaped form, which ParseLine reads back as
// the same name: specials get a backslash, and so does a backslash that would
// otherwise escape what follows it (or end the name).
void AppendEscaped(std::string* out, std::string_view s, Name name) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool escape = IsSpecial(name, c) ||
                        (c == '\\' && (i + 1 == s.size() || s[i + 1] == '\\' || IsSpecial(name, s[i + 1])));
    if (escape) out->push_back('\\');
    out->push_back(c);
  }
}

// Float syntax: -?(d+(.d*)?|.d+)([eE][+-]?d+)? ; no inf, nan, hex or '+'.
bool IsFloatSyntax(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  size_t digits = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) ++digits;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && IsDigit(s[i]); ++i) ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t exponent_begin = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == exponent_begin) return false;
  }
  return i == s.size();
}

// For a float of valid syntax and not zero: the decimal exponent of its first
// significant digit (d.ddd x 10^e), saturated far beyond double's range. Tells
// an overflow (e >= 0) from an underflow (e < 0) when from_chars gives up.
long LeadingExponent(std::string_view s) {
  constexpr long kSaturate = 1000000;
  size_t i = (s[0] == '-') ? 1 : 0;
  const size_t int_begin = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  const size_t int_end = i;
  long e = 0;
  bool found = false;
  for (size_t k = int_begin; k < int_end && !found; ++k) {
    if (s[k] != '0') {
      e = static_cast<long>(int_end - k) - 1;
      found = true;
    }
  }
  if (i < s.size() && s[i] == '.') ++i;
  for (size_t k = i; k < s.size() && IsDigit(s[k]) && !found; ++k) {
    if (s[k] != '0') {
      e = -static_cast<long>(k - i) - 1;
      found = true;
    }
  }
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i < s.size()) {  // the exponent
    ++i;
    const bool negative = s[i] == '-';
    if (s[i] == '+' || s[i] == '-') ++i;
    long exponent = 0;
    for (; i < s.size(); ++i) exponent = std::min(kSaturate, exponent * 10 + (s[i] - '0'));
    e += negative ? -exponent : exponent;
  }
  return e;
}

// The spellings of the reference's boolean table, and no others.
bool ParseBoolean(std::string_view s, bool* value) {
  *value = s == "t" || s == "T" || s == "true" || s == "True" || s == "TRUE";
  return *value || s == "f" || s == "F" || s == "false" || s == "False" || s == "FALSE";
}

// Sorts tags[0, n) by key with heapsort through the spare slot tags[n]. Copying
// (rather than moving) keeps every string buffer in its slot, so parsing the
// same line again finds each slot already big enough: no allocation.
void SiftDown(Tag* tags, size_t hole, size_t n, const Tag& value) {
  for (;;) {
    size_t child = 2 * hole + 1;
    if (child >= n) break;
    if (child + 1 < n && tags[child].first < tags[child + 1].first) ++child;
    if (!(value.first < tags[child].first)) break;
    tags[hole] = tags[child];
    hole = child;
  }
  tags[hole] = value;
}

void SortTags(std::vector<Tag>* tags, size_t n) {
  if (tags->size() <= n) tags->emplace_back();
  Tag* t = tags->data();
  Tag& spare = t[n];
  for (size_t i = n / 2; i-- > 0;) {
    spare = t[i];
    SiftDown(t, i, n, spare);
  }
  for (size_t end = n - 1; end > 0; --end) {
    spare = t[end];
    t[end] = t[0];
    SiftDown(t, 0, end, spare);
  }
}

class Parser {
 public:
  // `line` has its trailing whitespace removed; parsing starts at `begin`.
  Parser(std::string_view line, size_t begin, ParsedLine* out, ParseError* error)
      : line_(line), pos_(begin), out_(out), error_(error) {}

  bool Parse() {
    if (!ParseMeasurement() || !ParseTags()) return false;
    SkipSpaces();
    if (AtEnd()) return Fail(pos_, "missing field set");
    return ParseFields() && ParseTimestamp();
  }

 private:
  bool AtEnd() const { return pos_ >= line_.size(); }
  char Peek() const { return line_[pos_]; }
  void SkipSpaces() {
    while (!AtEnd() && Peek() == ' ') ++pos_;
  }
  // Advances past the next ',' or ' ' or to the end, returning what it passed.
  std::string_view Token(bool stop_at_comma) {
    const size_t begin = pos_;
    while (!AtEnd() && Peek() != ' ' && !(stop_at_comma && Peek() == ',')) ++pos_;
    return line_.substr(begin, pos_ - begin);
  }

  bool Fail(size_t at, std::string_view message) {
    error_->message.assign(message);
    error_->column = at + 1;
    return false;
  }
  bool Fail(size_t at, std::string_view before, std::string_view quoted, std::string_view after = {}) {
    Fail(at, before);
    error_->message += core::Quote(quoted, kMaxQuotedBytes);
    error_->message.append(after);
    return false;
  }

  bool ReadName(Name name, std::string_view what, std::string* out);
  bool ParseMeasurement();
  bool ParseTags();
  bool ParseTag(Tag* tag);
  bool CheckDuplicateTags(size_t tags_begin);
  bool ParseFields();
  bool ParseFieldValue(const std::string& key, FieldValue* value);
  bool ParseString(const std::string& key, FieldValue* value);
  bool ParseNumber(std::string_view token, size_t at, FieldValue* value);
  template <typename T>
  bool ParseIntegral(std::string_view token, size_t at, FieldValue::Kind kind, std::string_view type,
                     std::string_view signedness, FieldValue* value);
  bool ParseTimestamp();

  std::string_view line_;
  size_t pos_;
  ParsedLine* out_;
  ParseError* error_;
};

// Reads a name up to its first unescaped special character (or the end) and
// unescapes it into `out`: a backslash escapes a special or a backslash and is
// literal before anything else.
bool Parser::ReadName(Name name, std::string_view what, std::string* out) {
  out->clear();
  const size_t begin = pos_;
  size_t run = pos_;  // start of the bytes not yet copied to `out`
  while (!AtEnd()) {
    const char c = Peek();
    if (c == '\\' && pos_ + 1 < line_.size() &&
        (line_[pos_ + 1] == '\\' || IsSpecial(name, line_[pos_ + 1]))) {
      out->append(line_.substr(run, pos_ - run));
      out->push_back(line_[pos_ + 1]);
      pos_ += 2;
      run = pos_;
      continue;
    }
    if (IsSpecial(name, c)) break;
    if (IsControl(c)) {
      return Fail(pos_, "invalid character ", std::string_view(&c, 1), " in " + std::string(what));
    }
    ++pos_;
  }
  out->append(line_.substr(run, pos_ - run));
  const size_t bad = InvalidUtf8At(line_.substr(begin, pos_ - begin));
  if (bad != std::string_view::npos) return Fail(begin + bad, "invalid UTF-8 in " + std::string(what));
  uint32_t cp = 0;
  if (const size_t at = FormatControlAt(line_.substr(begin, pos_ - begin), &cp);
      at != std::string_view::npos) {
    char text[16];
    std::snprintf(text, sizeof text, "U+%04X", static_cast<unsigned>(cp));
    Fail(begin + at, "Unicode format control " + std::string(text) + " in " + std::string(what));
    error_->format_control = true;
    return false;
  }
  return true;
}

bool Parser::ParseMeasurement() {
  const size_t begin = pos_;
  if (!ReadName(Name::kMeasurement, "measurement", &out_->measurement)) return false;
  if (out_->measurement.empty()) return Fail(begin, "missing measurement");
  return true;
}

bool Parser::ParseTags() {
  const size_t tags_begin = pos_;
  while (!AtEnd() && Peek() == ',') {
    ++pos_;
    if (out_->tags.size() <= out_->tag_count) out_->tags.emplace_back();
    if (!ParseTag(&out_->tags[out_->tag_count])) return false;
    ++out_->tag_count;
  }
  return CheckDuplicateTags(tags_begin);
}

bool Parser::ParseTag(Tag* tag) {
  const size_t key_at = pos_;
  if (!ReadName(Name::kKey, "tag key", &tag->first)) return false;
  if (tag->first.empty()) return Fail(key_at, "empty tag key");
  if (AtEnd() || Peek() != '=') return Fail(pos_, "missing '=' after tag key ", tag->first);
  ++pos_;
  const size_t value_at = pos_;
  if (!ReadName(Name::kKey, "tag value", &tag->second)) return false;
  if (!AtEnd() && Peek() == '=') return Fail(pos_, "unescaped '=' in the value of tag ", tag->first);
  if (tag->second.empty()) return Fail(value_at, "empty value for tag ", tag->first);
  return true;
}

// Sorts the tags (most writers already send them sorted) and rejects a key
// given twice, pointing at its second occurrence in the line.
bool Parser::CheckDuplicateTags(size_t tags_begin) {
  const size_t n = out_->tag_count;
  std::vector<Tag>& tags = out_->tags;
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = tags[i - 1].first < tags[i].first;
  if (sorted) return true;
  SortTags(&tags, n);
  size_t dup = 1;
  while (dup < n && tags[dup - 1].first != tags[dup].first) ++dup;
  if (dup == n) return true;
  // Read the tag set again, into the spare slot, to find where the key repeats.
  const std::string& key = tags[dup].first;
  Tag& spare = tags[n];
  const size_t tags_end = pos_;
  int seen = 0;
  pos_ = tags_begin;
  while (pos_ < tags_end) {
    const size_t at = ++pos_;  // past the ','
    ParseTag(&spare);
    if (spare.first == key && ++seen == 2) return Fail(at, "duplicate tag key ", key);
  }
  return Fail(tags_begin, "duplicate tag key ", key);  // not reached
}

bool Parser::ParseFields() {
  for (;;) {
    if (out_->fields.size() <= out_->field_count) out_->fields.emplace_back();
    auto& [key, value] = out_->fields[out_->field_count];
    const size_t key_at = pos_;
    if (!ReadName(Name::kKey, "field key", &key)) return false;
    if (key.empty()) return Fail(key_at, AtEnd() ? "missing field after ','" : "empty field key");
    if (AtEnd() || Peek() != '=') return Fail(pos_, "missing '=' after field key ", key);
    ++pos_;
    if (!ParseFieldValue(key, &value)) return false;
    ++out_->field_count;
    if (AtEnd() || Peek() == ' ') return true;
    if (Peek() != ',') return Fail(pos_, "unexpected character after the value of field ", key);
    ++pos_;
  }
}

bool Parser::ParseFieldValue(const std::string& key, FieldValue* value) {
  const size_t at = pos_;
  if (AtEnd() || Peek() == ',' || Peek() == ' ') return Fail(at, "missing value for field ", key);
  if (Peek() == '"') return ParseString(key, value);
  value->text.clear();
  const std::string_view token = Token(/*stop_at_comma=*/true);
  const char first = token[0];
  if (first == 't' || first == 'T' || first == 'f' || first == 'F') {
    bool b = false;
    if (!ParseBoolean(token, &b)) return Fail(at, "invalid boolean value ", token);
    value->kind = FieldValue::Kind::kBoolean;
    value->number = b ? 1 : 0;
    return true;
  }
  if (first == '-' || first == '.' || IsDigit(first)) return ParseNumber(token, at, value);
  return Fail(at, "invalid field value ", token, " (string values must be double-quoted)");
}

// A double-quoted string: \" and \\ are escapes, any other backslash is literal.
bool Parser::ParseString(const std::string& key, FieldValue* value) {
  const size_t open = pos_++;
  value->kind = FieldValue::Kind::kString;
  value->number = 0;
  value->text.clear();
  size_t run = pos_;
  while (!AtEnd()) {
    const char c = Peek();
    if (c == '\\' && pos_ + 1 < line_.size() && (line_[pos_ + 1] == '"' || line_[pos_ + 1] == '\\')) {
      value->text.append(line_.substr(run, pos_ - run));
      value->text.push_back(line_[pos_ + 1]);
      pos_ += 2;
      run = pos_;
    } else if (c == '"') {
      value->text.append(line_.substr(run, pos_ - run));
      const size_t bad = InvalidUtf8At(line_.substr(open + 1, pos_ - open - 1));
      if (bad != std::string_view::npos) return Fail(open + 1 + bad, "invalid UTF-8 in string value");
      ++pos_;
      return true;
    } else {
      ++pos_;
    }
  }
  return Fail(open, "unterminated string value for field ", key);
}

// `token` is digits with a suffix `i` (integer) or `u` (unsigned), or a float.
bool Parser::ParseNumber(std::string_view token, size_t at, FieldValue* value) {
  if (token.back() == 'i') {
    return ParseIntegral<int64_t>(token, at, FieldValue::Kind::kInteger, "integer", "signed", value);
  }
  if (token.back() == 'u') {
    return ParseIntegral<uint64_t>(token, at, FieldValue::Kind::kUnsigned, "unsigned", "unsigned", value);
  }
  if (!IsFloatSyntax(token)) return Fail(at, "invalid float value ", token);
  const char* last = token.data() + token.size();
  double v = 0;
  const auto [end, ec] = std::from_chars(token.data(), last, v);
  if (ec == std::errc::result_out_of_range) {
    // Too close to zero reads as zero (as strtod and Go's ParseFloat do); too big is an error.
    if (LeadingExponent(token) >= 0) return Fail(at, "float value ", token, " out of range");
    v = token[0] == '-' ? -0.0 : 0.0;
  } else if (ec != std::errc() || end != last) {
    return Fail(at, "invalid float value ", token);
  }
  value->kind = FieldValue::Kind::kFloat;
  value->number = v;
  return true;
}

template <typename T>
bool Parser::ParseIntegral(std::string_view token, size_t at, FieldValue::Kind kind, std::string_view type,
                           std::string_view signedness, FieldValue* value) {
  const std::string_view digits = token.substr(0, token.size() - 1);  // without the suffix
  T v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (end != digits.data() + digits.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Fail(at, "invalid " + std::string(type) + " value ", token);
  }
  if (ec == std::errc::result_out_of_range) {
    return Fail(at, std::string(type) + " value ", token,
                " out of range (" + std::string(signedness) + " 64-bit)");
  }
  value->kind = kind;
  value->number = static_cast<double>(v);
  return true;
}

bool Parser::ParseTimestamp() {
  SkipSpaces();
  if (AtEnd()) return true;
  const size_t at = pos_;
  const std::string_view token = Token(/*stop_at_comma=*/false);
  const size_t digits_begin = token[0] == '-' ? 1 : 0;
  bool valid = token.size() > digits_begin;
  for (size_t i = digits_begin; i < token.size() && valid; ++i) valid = IsDigit(token[i]);
  if (!valid) return Fail(at, "invalid timestamp ", token);
  int64_t ts = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), ts);
  if (ec == std::errc::result_out_of_range) {
    return Fail(at, "timestamp ", token, " out of range (signed 64-bit)");
  }
  SkipSpaces();
  if (!AtEnd()) return Fail(pos_, "unexpected text after the timestamp");
  out_->timestamp = ts;
  return true;
}

}  // namespace

void ParsedLine::StreamKey(std::string* out) const {
  out->clear();
  AppendEscaped(out, measurement, Name::kMeasurement);
  for (size_t i = 0; i < tag_count; ++i) {
    out->push_back(',');
    AppendEscaped(out, tags[i].first, Name::kKey);
    out->push_back('=');
    AppendEscaped(out, tags[i].second, Name::kKey);
  }
}

const FieldValue* ParsedLine::FindField(std::string_view key) const {
  // From the back: when a key is given twice, the last value wins.
  for (size_t i = field_count; i-- > 0;) {
    if (fields[i].first == key) return &fields[i].second;
  }
  return nullptr;
}

bool IsFormatControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
         (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

ParseResult ParseLine(std::string_view line, ParsedLine* out, ParseError* error) {
  error->format_control = false;
  out->tag_count = 0;
  out->field_count = 0;
  out->timestamp.reset();
  size_t end = line.size();
  while (end > 0 && IsBlank(line[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && (line[begin] == ' ' || line[begin] == '\t')) ++begin;
  if (begin == end || line[begin] == '#') return ParseResult::kSkipped;
  if (Parser(line.substr(0, end), begin, out, error).Parse()) return ParseResult::kPoint;
  out->tag_count = 0;
  out->field_count = 0;
  out->timestamp.reset();
  return ParseResult::kError;
}

}  // namespace lstmad::daemon
