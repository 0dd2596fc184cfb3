// The `mqtt:` section of lstmad.yaml (an MQTT broker lstmad subscribes to;
// docs/ingest-mqtt.md). Private to lstmad::config.
#pragma once

#include <string>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "yaml_reader.h"

namespace lstmad::config::detail {

core::Status ParseMqtt(const Reader& r, const Field& f, const std::string& base_dir, MqttSettings* out);

// "plant/{site}/pump/{pump}" into the filter ("plant/+/pump/+") and the tag
// named by each level; an error message ("" when valid) otherwise.
std::string ParseTopicTemplate(const std::string& topic, MqttSubscription* out);

}  // namespace lstmad::config::detail
