// MQTT messages into line-protocol lines, so that they take the TCP
// listener's path (validation, reject counters, routing to models): a
// line-protocol payload (one or more lines) or a JSON one
//
//   {"measurement": "pump", "ts": 1733390000.25, "tags": {"line": "a"},
//    "fields": {"temperature": 61.2, "flow": 118}}
//
// ("measurement" optional when the subscription names one; "ts" optional,
// Unix seconds, fractions allowed; "tags" optional), each tagged with the
// values of the topic levels the subscription names ("plant/{site}/pump/{pump}").
// A tag the payload carries itself wins over the topic's. Pure functions:
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstmad/config/settings.h"

namespace lstmad::daemon {

// Why a message was refused: the `reason` label of lstmad_mqtt_refused_total.
enum class MqttRefusal { kNone, kTopic, kNotJson, kJsonShape, kEmpty, kTooLarge, kNotValue };
// "topic", "not_json", "json_shape", "empty", "too_large", "not_value"
const char* MqttRefusalLabel(MqttRefusal reason);

struct MqttConversion {
  std::vector<std::string> lines;  // line protocol, without newlines
  MqttRefusal refusal = MqttRefusal::kNone;
  std::string error;               // non-empty: the message was refused (what is wrong)
};

// `topic` must match `subscription.filter` (the broker guarantees it; a
// topic that does not is refused). Timestamps of JSON payloads are written
// in `precision`, the listener's (ingest.precision); line-protocol payloads
// keep theirs, read in that precision as on the TCP listener.
MqttConversion ConvertMqttMessage(const config::MqttSubscription& subscription, std::string_view topic,
                                  std::string_view payload, config::TimestampPrecision precision);

// Whether an MQTT topic matches a subscription filter ('+' one level, '#'
// the rest), as the broker decides.
bool TopicMatches(std::string_view filter, std::string_view topic);

}  // namespace lstmad::daemon
