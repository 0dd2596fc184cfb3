#include "alerting/alerts.h"

#include <charconv>
#include <cmath>
#include <string_view>

#include "lstmad/core/text.h"
#include "obs/json_text.h"

namespace lstmad::daemon {
namespace {

// %.9g, but locale-independent; JSON has no NaN or infinity, so null.
// Written here rather than by nlohmann::json, whose shortest round-trip
// format would change the events file: 0.123456789012 would gain digits,
// 1e10 become 10000000000.0 and 1 become 1.0.
void AppendNumber(std::string* out, double value) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buffer[32];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 9);
  out->append(buffer, result.ptr);
}

void AppendTime(std::string* out, int64_t time_ns) { AppendJsonString(out, core::FormatRfc3339Nanos(time_ns)); }

void AppendKey(std::string* out, std::string_view key) {
  if (out->size() > 1) out->push_back(',');
  AppendJsonString(out, key);
  out->push_back(':');
}

}  // namespace

// The document is small and fixed, so it is written in order here; every
// string goes through the daemon's one JSON string writer (obs/json_text.h).
std::string AlertEventJson(const AlertEvent& event) {
  std::string out = "{";
  AppendKey(&out, "kind");
  AppendJsonString(&out, event.kind);
  AppendKey(&out, "time");
  AppendTime(&out, event.time_ns);
  AppendKey(&out, "model");
  AppendJsonString(&out, event.model);
  AppendKey(&out, "stream");
  AppendJsonString(&out, event.stream);
  AppendKey(&out, "error");
  AppendNumber(&out, event.error);
  AppendKey(&out, "threshold");
  AppendNumber(&out, event.threshold);
  AppendKey(&out, "window_start");
  AppendTime(&out, event.window_start_ns);
  AppendKey(&out, "window_end");
  AppendTime(&out, event.window_end_ns);
  AppendKey(&out, "top_features");
  out += '[';
  for (size_t i = 0; i < event.top_features.size(); ++i) {
    out += i == 0 ? "{\"feature\":" : ",{\"feature\":";
    AppendJsonString(&out, event.top_features[i].first);
    out += ",\"share\":";
    AppendNumber(&out, event.top_features[i].second);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace lstmad::daemon
