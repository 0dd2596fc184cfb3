#include "lstmad/config/schema.h"

#include <algorithm>

#include "schema_keys.h"

namespace lstmad::config {
namespace {

namespace keys = detail::keys;

constexpr SchemaSection kSections[] = {
    {"", keys::kRoot},
    {"ingest", keys::kIngest},
    {"ingest.tls", keys::kTls},
    {"ingest.http", keys::kIngestHttp},
    {"ingest.http.tls", keys::kTls},
    {"ingest.graphite", keys::kGraphite},
    {"metrics", keys::kMetrics},
    {"metrics.tls", keys::kTls},
    {"models[]", keys::kModel},
    {"models[].alert", keys::kAlert},
    {"models[].detector", keys::kDetector},
    {"models[].retrain", keys::kRetrain},
    {"models[].assembly", keys::kAssembly},
    {"models[].guards.<feature>", keys::kGuard},
    {"models[].remote_write", keys::kModelRemoteWrite},
    {"limits", keys::kLimits},
    {"scoring", keys::kScoring},
    {"events", keys::kEvents},
    {"alertmanager", keys::kAlertmanager},
    {"alertmanager.basic_auth", keys::kBasicAuth},
    {"alertmanager.tls", keys::kNatsTls},
    {"state", keys::kState},
    {"log", keys::kLog},
    {"console", keys::kConsole},
    {"nats", keys::kNats},
    {"nats.tls", keys::kNatsTls},
    {"remote_write", keys::kRemoteWrite},
    {"remote_write_out", keys::kRemoteWriteOut},
    {"remote_write_out.basic_auth", keys::kBasicAuth},
    {"remote_write_out.tls", keys::kNatsTls},
    {"mqtt", keys::kMqtt},
    {"mqtt.tls", keys::kNatsTls},
    {"mqtt.subscriptions[]", keys::kMqttSubscription},
};

bool IsSection(const std::string& path) {
  return std::any_of(std::begin(kSections), std::end(kSections),
                     [&](const SchemaSection& s) { return s.path == path || s.path == path + "[]"; });
}

}  // namespace

std::span<const SchemaSection> Schema() { return kSections; }

std::vector<SchemaKey> SchemaKeys() {
  std::vector<SchemaKey> out;
  for (const SchemaSection& section : kSections) {
    for (const std::string_view key : section.keys) {
      std::string path =
          section.path.empty() ? std::string(key) : std::string(section.path) + "." + std::string(key);
      const bool section_key = IsSection(path);
      out.push_back({std::move(path), section_key});
    }
  }
  return out;
}

}  // namespace lstmad::config
