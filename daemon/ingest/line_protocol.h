// The InfluxDB line protocol, as Telegraf's socket_writer and the Influx
// client libraries send it:
//
//   measurement[,tag_key=tag_value...] field_key=field_value[,...] [timestamp]
//
// with the protocol's escaping rules (measurement: comma and space; tag keys,
// tag values and field keys: comma, equals sign and space; string field
// values: double quote and backslash), float, integer (`i`), unsigned (`u`),
// string and boolean field values, and `#` comment lines.
//
// ParseLine() is a pure function of its input, reentrant, and reuses the
// storage of its ParsedLine, so steady-state parsing does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lstmad::daemon {

struct FieldValue {
  enum class Kind { kFloat, kInteger, kUnsigned, kString, kBoolean };
  Kind kind = Kind::kFloat;
  double number = 0;      // float, integer and unsigned values (as double); boolean as 0/1
  std::string text;       // string values, unescaped
  bool is_numeric() const { return kind == Kind::kFloat || kind == Kind::kInteger || kind == Kind::kUnsigned; }
};

struct ParsedLine {
  std::string measurement;                                  // unescaped
  std::vector<std::pair<std::string, std::string>> tags;    // unescaped, sorted by key
  std::vector<std::pair<std::string, FieldValue>> fields;   // unescaped keys, in line order
  std::optional<int64_t> timestamp;                         // as written (unit: the listener's precision)
  // Only the first `tag_count`/`field_count` entries are valid; the rest is
  // storage kept for reuse.
  size_t tag_count = 0;
  size_t field_count = 0;

  // The stream this line belongs to: measurement plus sorted tags, in line
  // protocol form ("cpu,host=a,region=eu"). Written into `out` (reused).
  void StreamKey(std::string* out) const;
  const FieldValue* FindField(std::string_view key) const;
};

enum class ParseResult {
  kPoint,    // a data point
  kSkipped,  // a blank line or a # comment
  kError,    // malformed: see the message
};

struct ParseError {
  std::string message;  // what is wrong, e.g. "missing field set"
  size_t column = 0;    // 1-based byte offset in the line where it went wrong
  // The line is well-formed but a name holds a Unicode control that
  // IsFormatControl() refuses (counted apart: reason format_control).
  bool format_control = false;
};

// Code points refused in measurements, tag keys, tag values and field keys:
// they reach metric labels, log lines, the events file and Alertmanager, where
// they could make a stream key display as another (bidi overrides, U+202E) or
// hide characters (zero-width, tag characters). C1 controls U+0080..U+009F,
// U+061C, U+200B..U+200F, U+2028..U+202E, U+2060..U+206F, U+FEFF,
// U+FFF9..U+FFFB and U+E0000..U+E007F (docs/wire-protocol.md). C0 controls
// and DEL are refused as parse errors already.
bool IsFormatControl(uint32_t code_point);

// `line` excludes the trailing newline ("\r" before it is tolerated).
// A refused format control is an error with `error->format_control` set.
ParseResult ParseLine(std::string_view line, ParsedLine* out, ParseError* error);

// Splits a byte stream into lines, however the bytes are chunked. A line
// longer than `max_line_bytes` (newline excluded) is an error: the caller
// should close the connection. Not thread-safe; one per connection.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Appends `data`; calls `on_line(std::string_view)` for every complete
  // line. Returns false (and stops) when a line exceeds the limit.
  template <typename OnLine>
  bool Feed(std::string_view data, OnLine&& on_line);
  // As Feed, but `on_line` returns false to pause after that line: `*rest`
  // is then the part of `data` not yet split (feed it again to go on);
  // empty when every byte was taken.
  template <typename OnLine>
  bool FeedPausable(std::string_view data, OnLine&& on_line, std::string_view* rest);

  size_t buffered() const { return partial_.size(); }  // bytes of an incomplete line

 private:
  size_t max_line_bytes_;
  std::string partial_;
};

template <typename OnLine>
bool LineSplitter::Feed(std::string_view data, OnLine&& on_line) {
  std::string_view rest;
  return FeedPausable(
      data,
      [&](std::string_view line) {
        on_line(line);
        return true;
      },
      &rest);
}

template <typename OnLine>
bool LineSplitter::FeedPausable(std::string_view data, OnLine&& on_line, std::string_view* rest) {
  *rest = {};
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      if (partial_.size() + data.size() > max_line_bytes_) return false;
      partial_.append(data);
      return true;
    }
    if (partial_.size() + nl > max_line_bytes_) return false;
    bool go_on = true;
    if (partial_.empty()) {
      go_on = on_line(data.substr(0, nl));
    } else {
      partial_.append(data.substr(0, nl));
      go_on = on_line(std::string_view(partial_));
      partial_.clear();
    }
    data.remove_prefix(nl + 1);
    if (!go_on) {
      *rest = data;
      return true;
    }
  }
  return true;
}

}  // namespace lstmad::daemon
