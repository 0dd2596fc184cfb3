// Fuzzes the line-protocol reader (daemon/line_protocol.h): the input is the
// bytes of one TCP connection.
//
// LineSplitter: fed whole and fed in chunks (sizes drawn from the input's
// hash), it yields the same lines and the same overflow verdict as a naive
// splitter written here. ParseLine, on every line:
//  - parsing into storage reused across lines (as the daemon does) and into
//    a fresh ParsedLine gives the same result, point or error;
//  - a point is well formed: a measurement, tags sorted by unique non-empty
//    keys with non-empty values, at least one field, finite numbers;
//  - its stream key is stable: `key f=1` parses to the same measurement and
//    tags, and to the same key again;
//  - written back canonically (the key, escaped fields, the timestamp) it
//    parses to the same point, bit for bit;
//  - an error has a message and a column inside the line.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ingest/line_protocol.h"

namespace {

using lstmad::daemon::FieldValue;
using lstmad::daemon::LineSplitter;
using lstmad::daemon::ParsedLine;
using lstmad::daemon::ParseError;
using lstmad::daemon::ParseLine;
using lstmad::daemon::ParseResult;

constexpr size_t kMaxLineBytes = 1024;

struct Split {
  std::vector<std::string> lines;
  bool ok = true;
};

// What LineSplitter must do, written the obvious way.
Split NaiveSplit(std::string_view data) {
  Split s;
  for (;;) {
    const size_t nl = data.find('\n');
    const std::string_view line = data.substr(0, nl);
    if (line.size() > kMaxLineBytes) {
      s.ok = false;
      return s;
    }
    if (nl == std::string_view::npos) return s;  // an incomplete last line stays buffered
    s.lines.emplace_back(line);
    data.remove_prefix(nl + 1);
  }
}

Split FeedInChunks(std::string_view data, uint64_t seed) {
  Split s;
  LineSplitter splitter(kMaxLineBytes);
  while (!data.empty() && s.ok) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;  // an LCG: cheap, deterministic
    const size_t n = std::min<size_t>(data.size(), 1 + (seed >> 59));
    s.ok = splitter.Feed(data.substr(0, n),
                         [&](std::string_view line) { s.lines.emplace_back(line); });
    data.remove_prefix(n);
  }
  return s;
}

uint64_t Fnv1a(std::string_view data) {
  uint64_t h = 14695981039346656037u;
  for (const char c : data) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211u;
  return h;
}

void CheckSplitter(std::string_view data, const Split& whole) {
  const Split naive = NaiveSplit(data);
  LSTMAD_FUZZ_CHECK(whole.ok == naive.ok && whole.lines == naive.lines,
                    "LineSplitter fed whole differs from the naive splitter");
  const Split chunked = FeedInChunks(data, Fnv1a(data));
  LSTMAD_FUZZ_CHECK(chunked.ok == naive.ok && chunked.lines == naive.lines,
                    "LineSplitter fed in chunks differs from the naive splitter");
}

std::string Describe(const ParsedLine& p) {
  std::string key;
  p.StreamKey(&key);
  return "key " + key + ", " + std::to_string(p.field_count) + " fields";
}

bool SameValue(const FieldValue& a, const FieldValue& b) {
  return a.kind == b.kind &&
         std::bit_cast<uint64_t>(a.number) == std::bit_cast<uint64_t>(b.number) && a.text == b.text;
}

bool SamePoint(const ParsedLine& a, const ParsedLine& b) {
  if (a.measurement != b.measurement || a.tag_count != b.tag_count ||
      a.field_count != b.field_count || a.timestamp != b.timestamp) {
    return false;
  }
  for (size_t i = 0; i < a.tag_count; ++i) {
    if (a.tags[i] != b.tags[i]) return false;
  }
  for (size_t i = 0; i < a.field_count; ++i) {
    if (a.fields[i].first != b.fields[i].first ||
        !SameValue(a.fields[i].second, b.fields[i].second)) {
      return false;
    }
  }
  return true;
}

void CheckWellFormed(const ParsedLine& p) {
  LSTMAD_FUZZ_CHECK(!p.measurement.empty(), Describe(p));
  LSTMAD_FUZZ_CHECK(p.tag_count <= p.tags.size() && p.field_count <= p.fields.size(), Describe(p));
  for (size_t i = 0; i < p.tag_count; ++i) {
    LSTMAD_FUZZ_CHECK(!p.tags[i].first.empty() && !p.tags[i].second.empty(), Describe(p));
    LSTMAD_FUZZ_CHECK(i == 0 || p.tags[i - 1].first < p.tags[i].first,
                      "tags unsorted or repeated: " + Describe(p));
  }
  LSTMAD_FUZZ_CHECK(p.field_count >= 1, Describe(p));
  for (size_t i = 0; i < p.field_count; ++i) {
    const auto& [key, value] = p.fields[i];
    LSTMAD_FUZZ_CHECK(!key.empty(), Describe(p));
    LSTMAD_FUZZ_CHECK(std::isfinite(value.number), "non-finite field " + key);
    LSTMAD_FUZZ_CHECK(p.FindField(key) != nullptr, "FindField misses " + key);
  }
}

// Field keys: a backslash before a special or a backslash is an escape, so
// escaping every one of them reads back the same.
void AppendEscapedKey(std::string_view s, std::string* out) {
  for (const char c : s) {
    if (c == ',' || c == '=' || c == ' ' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
}

template <typename T>
void AppendNumber(T v, std::string* out) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, result.ptr);
}

void AppendValue(const FieldValue& v, std::string* out) {
  switch (v.kind) {
    case FieldValue::Kind::kFloat:
      AppendNumber(v.number, out);  // shortest form that reads back the same
      return;
    case FieldValue::Kind::kInteger:
      // The double of an int64 is exact below 2^63 and 2^63 only for the maximum.
      AppendNumber(v.number >= 0x1p63 ? INT64_MAX : static_cast<int64_t>(v.number), out);
      out->push_back('i');
      return;
    case FieldValue::Kind::kUnsigned:
      AppendNumber(v.number >= 0x1p64 ? UINT64_MAX : static_cast<uint64_t>(v.number), out);
      out->push_back('u');
      return;
    case FieldValue::Kind::kBoolean:
      out->push_back(v.number != 0 ? 't' : 'f');
      return;
    case FieldValue::Kind::kString:
      out->push_back('"');
      for (const char c : v.text) {
        if (c == '"' || c == '\\') out->push_back('\\');
        out->push_back(c);
      }
      out->push_back('"');
      return;
  }
}

std::string WriteLine(const ParsedLine& p) {
  std::string line;
  p.StreamKey(&line);
  for (size_t i = 0; i < p.field_count; ++i) {
    line.push_back(i == 0 ? ' ' : ',');
    AppendEscapedKey(p.fields[i].first, &line);
    line.push_back('=');
    AppendValue(p.fields[i].second, &line);
  }
  if (p.timestamp) {
    line.push_back(' ');
    AppendNumber(*p.timestamp, &line);
  }
  return line;
}

void CheckStreamKey(const ParsedLine& p) {
  std::string key;
  p.StreamKey(&key);
  ParsedLine again;
  ParseError error;
  const std::string line = key + " f=1";
  LSTMAD_FUZZ_CHECK(ParseLine(line, &again, &error) == ParseResult::kPoint,
                    "stream key does not parse back: " + line + " -> " + error.message);
  LSTMAD_FUZZ_CHECK(again.measurement == p.measurement && again.tag_count == p.tag_count,
                    "stream key parses to another stream: " + line);
  for (size_t i = 0; i < p.tag_count; ++i) {
    LSTMAD_FUZZ_CHECK(again.tags[i] == p.tags[i], "stream key parses to other tags: " + line);
  }
  std::string key_again;
  again.StreamKey(&key_again);
  LSTMAD_FUZZ_CHECK(key_again == key, "stream key is not stable: " + key + " -> " + key_again);
}

void CheckRewrite(const ParsedLine& p) {
  const std::string line = WriteLine(p);
  ParsedLine again;
  ParseError error;
  LSTMAD_FUZZ_CHECK(ParseLine(line, &again, &error) == ParseResult::kPoint,
                    "canonical form does not parse: " + line + " -> " + error.message);
  LSTMAD_FUZZ_CHECK(SamePoint(p, again), "canonical form parses to another point: " + line);
}

bool IsSkippable(std::string_view line) {
  const size_t first = line.find_first_not_of(" \t\r");
  return first == std::string_view::npos || line[first] == '#';
}

void CheckLine(std::string_view line, ParsedLine* reused) {
  ParseError reused_error;
  const ParseResult result = ParseLine(line, reused, &reused_error);
  ParsedLine fresh;
  ParseError fresh_error;
  LSTMAD_FUZZ_CHECK(ParseLine(line, &fresh, &fresh_error) == result,
                    "reused storage changes the result");
  switch (result) {
    case ParseResult::kSkipped:
      LSTMAD_FUZZ_CHECK(IsSkippable(line), "skipped a line with content");
      return;
    case ParseResult::kError:
      LSTMAD_FUZZ_CHECK(
          reused_error.message == fresh_error.message && reused_error.column == fresh_error.column,
          "reused storage changes the error");
      LSTMAD_FUZZ_CHECK(!reused_error.message.empty(), "an error without a message");
      LSTMAD_FUZZ_CHECK(reused_error.column >= 1 && reused_error.column <= line.size() + 1,
                        "error column outside the line: " + reused_error.message);
      return;
    case ParseResult::kPoint:
      LSTMAD_FUZZ_CHECK(!IsSkippable(line), "a comment or blank line parsed as a point");
      LSTMAD_FUZZ_CHECK(SamePoint(*reused, fresh),
                        "reused storage changes the point: " + Describe(fresh));
      CheckWellFormed(fresh);
      CheckStreamKey(fresh);
      CheckRewrite(fresh);
      return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Split whole;
  LineSplitter splitter(kMaxLineBytes);
  whole.ok = splitter.Feed(bytes, [&](std::string_view line) { whole.lines.emplace_back(line); });
  CheckSplitter(bytes, whole);
  // What is left without a newline is a last line when the peer closes.
  if (whole.ok) {
    const size_t last_nl = bytes.rfind('\n');
    const std::string_view tail =
        last_nl == std::string_view::npos ? bytes : bytes.substr(last_nl + 1);
    if (!tail.empty()) whole.lines.emplace_back(tail);
  }
  ParsedLine reused;  // one per connection in the daemon, reused line after line
  for (const std::string& line : whole.lines) CheckLine(line, &reused);
  return 0;
}
