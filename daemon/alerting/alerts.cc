#include "alerting/alerts.h"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

// JSON has no NaN or infinity, so null. Otherwise the value is rounded to
// the 9 significant digits the events file has always carried (through its
// locale-independent %.9g spelling), and nlohmann then writes the shortest
// text that reads back as that double: the same digits, spelled its way
// (3.0 rather than 3; 12345678900.0 rather than 1.23456789e+10).
nlohmann::ordered_json Number(double value) {
  if (!std::isfinite(value)) return nullptr;
  char buffer[32];
  const auto printed = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 9);
  double rounded = value;
  std::from_chars(buffer, printed.ptr, rounded);
  return rounded;
}

}  // namespace

// An ordered object, so that the keys come in the documented order.
std::string AlertEventJson(const AlertEvent& event) {
  nlohmann::ordered_json line;
  line["kind"] = event.kind;
  line["time"] = core::FormatRfc3339Nanos(event.time_ns);
  line["model"] = event.model;
  line["stream"] = event.stream;
  line["error"] = Number(event.error);
  line["threshold"] = Number(event.threshold);
  line["window_start"] = core::FormatRfc3339Nanos(event.window_start_ns);
  line["window_end"] = core::FormatRfc3339Nanos(event.window_end_ns);
  line["top_features"] = nlohmann::ordered_json::array();
  for (const auto& [feature, share] : event.top_features) {
    nlohmann::ordered_json item;
    item["feature"] = feature;
    item["share"] = Number(share);
    line["top_features"].push_back(std::move(item));
  }
  if (!event.reason.empty()) line["reason"] = event.reason;
  // Strings as obs/json_text.h writes them (the same nlohmann options):
  // valid UTF-8 kept readable, each ill-formed sequence a U+FFFD, so the line
  // is valid JSON whatever bytes the stream's tags held.
  return line.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace lstmad::daemon
