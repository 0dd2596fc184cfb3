#include "obs/json_text.h"

#include <nlohmann/json.hpp>

namespace lstmad::daemon {

std::string JsonString(std::string_view text) {
  // ensure_ascii off: valid UTF-8 stays readable in logs and events; replace:
  // the daemon writes what clients sent (stream tags, feature names), which
  // may be any bytes, and a log line or alert must not be lost over them.
  return nlohmann::json(std::string(text)).dump(-1, ' ', /*ensure_ascii=*/false,
                                                nlohmann::json::error_handler_t::replace);
}

void AppendJsonString(std::string* out, std::string_view text) { out->append(JsonString(text)); }

}  // namespace lstmad::daemon
