// Graphite plaintext, as collectd's write_graphite and Carbon clients send it:
//
//   path value [timestamp]
//
// separated by spaces or tabs; `path` a dotted name without control
// characters, `value` a decimal number, `timestamp` seconds since the epoch
// (a decimal fraction is kept; absent or -1: the daemon's clock).
//
// GraphiteTemplates maps a path to a measurement, tags and one field, a
// subset of Telegraf's graphite templates (docs/ingest-graphite.md):
//
//   "[filter ]template[ tag=value,...]"
//
// The filter is dotted parts, each a literal or a glob with `*`; it matches
// a path whose leading parts match it part by part. The template's parts
// name what each path part is: `measurement`, `field`, a tag name, or `` /
// `*` (ignored); `measurement*` or `field*` take that part and all after it.
// Several parts of the same name are joined by the separator. No field
// part: the field is `value`. Of the templates whose filters match, the one
// with the most filter parts wins, then the one with more literal parts,
// then the first listed; without a match, the template without a filter
// (default `measurement*`).
//
// ParseGraphiteLine() is a pure function; GraphiteTemplates is immutable
// after Compile() and may be shared between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/line_protocol.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

struct GraphiteLine {
  std::string_view path;                 // into the parsed line
  double value = 0;                      // may be NaN or infinite: the caller's checks refuse those
  std::optional<int64_t> timestamp_ns;   // absent (or -1 on the wire): the daemon's clock
};

// `line` excludes the newline ("\r" before it is tolerated). kSkipped: a
// blank line. kError: `error` says what and at which column.
ParseResult ParseGraphiteLine(std::string_view line, GraphiteLine* out, ParseError* error);

class GraphiteTemplates {
 public:
  // Compiles `specs` (ingest.graphite.templates). An error names the
  // template by its position and what is wrong.
  static core::Result<GraphiteTemplates> Compile(const std::vector<std::string>& specs,
                                                 const std::string& separator);

  // Fills `out` (reused: measurement, sorted tags, one numeric field named
  // as the template says, no timestamp). False, with `*error` set, when the
  // template leaves the path no measurement.
  bool Apply(std::string_view path, double value, ParsedLine* out, std::string* error) const;

 private:
  struct Part {
    enum class Kind { kSkip, kMeasurement, kField, kTag };
    Kind kind = Kind::kSkip;
    std::string tag;     // kTag: its name
    bool rest = false;   // `measurement*` / `field*`: this part and all after it
  };
  struct Template {
    std::vector<std::string> filter;  // empty: the default template
    int literal_parts = 0;            // filter parts without `*`
    std::vector<Part> parts;
    std::vector<std::pair<std::string, std::string>> tags;  // the spec's extra tags
  };
  static core::Status CompileOne(const std::string& spec, Template* out);
  const Template& Select(const std::vector<std::string_view>& parts) const;

  std::vector<Template> templates_;  // with a filter
  Template default_;
  std::string separator_;
};

// Whether `text` matches `glob` (`*`: any run of characters, even none).
bool GlobMatch(std::string_view glob, std::string_view text);

}  // namespace lstmad::daemon
