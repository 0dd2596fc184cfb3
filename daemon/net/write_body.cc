#include "net/write_body.h"

#include <limits>

namespace lstmad::daemon {
namespace {

constexpr int64_t kMinute = 60'000'000'000;

// The timestamp of a parsed point in the new unit, or nullopt on overflow.
std::optional<int64_t> Rescale(int64_t value, int64_t from_ns, int64_t to_ns) {
  if (from_ns == to_ns) return value;
  if (from_ns > to_ns) {
    // Every unit divides the coarser ones (1, 1e3, 1e6, 1e9, 60e9, 3600e9).
    const int64_t factor = from_ns / to_ns;
    int64_t out = 0;
    if (__builtin_mul_overflow(value, factor, &out)) return std::nullopt;
    return out;
  }
  return value / (to_ns / from_ns);
}

}  // namespace

std::optional<int64_t> WritePrecisionNs(std::optional<std::string_view> precision, WriteApi api) {
  if (!precision || precision->empty()) return 1;
  const std::string_view p = *precision;
  if (p == "ns") return 1;
  if (p == "us") return 1'000;
  if (p == "ms") return 1'000'000;
  if (p == "s") return 1'000'000'000;
  if (api == WriteApi::kV2) return std::nullopt;
  if (p == "n") return 1;
  if (p == "u") return 1'000;
  if (p == "m") return kMinute;
  if (p == "h") return 60 * kMinute;
  return std::nullopt;
}

void ForEachWriteLine(std::string_view body, int64_t from_ns, int64_t to_ns, size_t max_line_bytes,
                      ParsedLine* parsed, const std::function<void(const WriteLine&)>& each) {
  WriteLine out;
  std::string rewritten;
  ParseError error;
  size_t number = 0;
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.number = number;
    out.text = line;
    out.error.clear();
    if (line.size() > max_line_bytes) {
      out.verdict = WriteLine::Verdict::kTooLong;
      out.error = "line over limits.max_line_bytes (" + std::to_string(max_line_bytes) + " bytes)";
      each(out);
      continue;
    }
    switch (ParseLine(line, parsed, &error)) {
      case ParseResult::kSkipped: out.verdict = WriteLine::Verdict::kSkipped; break;
      case ParseResult::kError:
        out.verdict = WriteLine::Verdict::kParseError;
        out.error = error.message + " at column " + std::to_string(error.column);
        break;
      case ParseResult::kPoint: {
        out.verdict = WriteLine::Verdict::kPoint;
        if (!parsed->timestamp || from_ns == to_ns) break;
        const std::optional<int64_t> scaled = Rescale(*parsed->timestamp, from_ns, to_ns);
        if (!scaled) {
          out.verdict = WriteLine::Verdict::kOutOfRange;
          out.error = "timestamp " + std::to_string(*parsed->timestamp) + " out of range for its precision";
          break;
        }
        // A point with a timestamp ends in " <integer>" (trailing blanks
        // allowed, a carriage return among them: the parser takes it as one).
        std::string_view head = line;
        while (!head.empty() && (head.back() == ' ' || head.back() == '\t' || head.back() == '\r')) {
          head.remove_suffix(1);
        }
        head = head.substr(0, head.find_last_of(' '));
        rewritten.assign(head);
        rewritten += ' ';
        rewritten += std::to_string(*scaled);
        out.text = rewritten;
        break;
      }
    }
    each(out);
  }
}

}  // namespace lstmad::daemon
