#include "mqtt_settings.h"

#include "lstmad/core/text.h"
#include "nats_settings.h"
#include "schema_keys.h"

namespace lstmad::config::detail {
namespace {

using core::Status;

constexpr std::pair<std::string_view, bool> kBools[] = {{"true", true}, {"false", false}};
constexpr std::pair<std::string_view, MqttSubscription::Format> kFormats[] = {
    {"line", MqttSubscription::Format::kLine},
    {"json", MqttSubscription::Format::kJson},
    {"value", MqttSubscription::Format::kValue}};

Status ParseTls(const Reader& r, const Field& f, const std::string& base_dir, MqttSettings* out) {
  LSTMAD_RETURN_IF_ERROR(ParseClientTls(r, f, base_dir, false, &out->tls_ca, &out->tls_cert, &out->tls_key));
  if (out->tls_ca.empty()) return r.Error(f, "TLS needs `ca`: the certificate authority that signed the broker's");
  return Status::Ok();
}

Status ParseSubscription(const Reader& r, const Field& f, MqttSubscription* out) {
  bool has_topic = false;
  const Status parsed = r.ForEachField(f, keys::kMqttSubscription, [&](std::string_view key, const Field& v) {
    if (key == "topic") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->topic));
      if (const std::string error = ParseTopicTemplate(out->topic, out); !error.empty()) return r.Error(v, error);
      has_topic = true;
      return Status::Ok();
    }
    if (key == "format") return r.ReadEnum<MqttSubscription::Format>(v, kFormats, &out->format);
    if (key == "field") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->field));
      if (out->field.empty()) return r.Error(v, "the field's name is empty");
      return Status::Ok();
    }
    return r.ReadString(v, &out->measurement);
  });
  if (!parsed.ok()) return parsed;
  if (!has_topic) return r.Error(f, "a subscription needs `topic`");
  if (out->format == MqttSubscription::Format::kValue && out->measurement.empty()) {
    return r.Error(f, "format: value needs `measurement`: a bare value names none");
  }
  if (out->format != MqttSubscription::Format::kValue && !out->field.empty()) {
    return r.Error(f, "`field` is for format: value only");
  }
  return Status::Ok();
}

}  // namespace

std::string ParseTopicTemplate(const std::string& topic, MqttSubscription* out) {
  if (topic.empty()) return "the topic is empty";
  out->filter.clear();
  out->level_tags.clear();
  size_t start = 0;
  while (true) {
    const size_t slash = topic.find('/', start);
    const std::string level = topic.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    const bool last = slash == std::string::npos;
    std::string tag;
    if (level.size() >= 2 && level.front() == '{' && level.back() == '}') {
      tag = level.substr(1, level.size() - 2);
      if (tag.empty() || tag.find_first_of("{}+#/") != std::string::npos) {
        return "level " + core::Quote(level) + " does not name a tag";
      }
      for (const std::string& seen : out->level_tags) {
        if (seen == tag) return "the tag " + core::Quote(tag) + " is named by two levels";
      }
    } else if (level.find_first_of("{}") != std::string::npos) {
      return "level " + core::Quote(level) + ": a tag level is the whole level, as in {name}";
    } else if (level == "#" && !last) {
      return "'#' must be the last level";
    } else if (level.size() > 1 && level.find_first_of("+#") != std::string::npos) {
      return "level " + core::Quote(level) + ": '+' and '#' stand alone in a level";
    }
    out->filter += (out->filter.empty() && start == 0 ? "" : "/") + (tag.empty() ? level : std::string("+"));
    out->level_tags.push_back(tag);
    if (last) break;
    start = slash + 1;
  }
  return "";
}

Status ParseMqtt(const Reader& r, const Field& f, const std::string& base_dir, MqttSettings* out) {
  const Status parsed = r.ForEachField(f, keys::kMqtt, [&](std::string_view key, const Field& v) {
    if (key == "broker") return r.ReadEndpoint(v, &out->broker);
    if (key == "client_id") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->client_id));
      if (out->client_id.size() > 23 * 4) return r.Error(v, "a client id of at most 92 bytes");
      return Status::Ok();
    }
    if (key == "clean_session") return r.ReadEnum<bool>(v, kBools, &out->clean_session);
    if (key == "qos") return r.ReadInt(v, 0, 1, &out->qos);
    if (key == "username") return r.ReadString(v, &out->username);
    if (key == "password_file") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->password_file));
      if (!out->password_file.empty()) out->password_file = Resolve(out->password_file, base_dir);
      return Status::Ok();
    }
    if (key == "tls") return ParseTls(r, v, base_dir, out);
    if (key == "keepalive") return ReadDuration(r, v, 5, 3600, &out->keepalive_s);
    if (key == "reconnect_min") return ReadDuration(r, v, 0.1, 3600, &out->reconnect_min_s);
    if (key == "reconnect_max") return ReadDuration(r, v, 0.1, 3600, &out->reconnect_max_s);
    if (key == "max_pending") return r.ReadInt(v, 1, 10000000, &out->max_pending);
    return r.ForEachItem(v, [&](size_t, const Field& item) {
      MqttSubscription subscription;
      LSTMAD_RETURN_IF_ERROR(ParseSubscription(r, item, &subscription));
      out->subscriptions.push_back(std::move(subscription));
      return Status::Ok();
    });
  });
  if (!parsed.ok()) return parsed;
  if (out->subscriptions.empty()) return r.Error(f, "`subscriptions` needs at least one topic");
  if (!out->clean_session && out->client_id.empty()) {
    return r.Error(f, "clean_session: false needs a client_id: the broker keeps the session under it");
  }
  if (out->reconnect_max_s < out->reconnect_min_s) return r.Error(f, "reconnect_max is below reconnect_min");
  if (!out->password_file.empty() && out->username.empty()) return r.Error(f, "password_file needs username");
  return Status::Ok();
}

}  // namespace lstmad::config::detail
