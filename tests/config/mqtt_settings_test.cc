// The `mqtt:` section: its defaults, every key read, topic templates turned
// into a filter and the tag of each level, and the exact message of each way
// it can be wrong ("FILE:LINE: KEY.PATH: what").
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::kModels;  // lines 1-2; the mqtt section starts on line 3
using testing::TempDir;

class MqttSettingsTest : public ::testing::Test {
 protected:
  MqttSettingsTest() { dir_.Write("pump.lstmad", ""); }
  core::Result<Settings> Parse(const std::string& mqtt) const {
    return ParseSettings(std::string(kModels) + mqtt, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& mqtt) const {
    const auto s = Parse(mqtt);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }
  // The subscription that `topic` (YAML, quoted as needed; on line 5) makes, or the error.
  core::Result<MqttSubscription> Topic(const std::string& topic) const {
    const auto s = Parse("mqtt:\n  subscriptions:\n    - topic: " + topic + "\n");
    if (!s.ok()) return s.status();
    return s->mqtt->subscriptions.at(0);
  }
  std::string TopicError(const std::string& topic) const {
    const auto s = Topic(topic);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  TempDir dir_;
};

// The example file's commented-out mqtt block, uncommented, is valid and
// shows the defaults.
TEST_F(MqttSettingsTest, TheExampleFilesBlockParsesToTheDefaults) {
  std::istringstream in(testing::ReadFile(testing::ExamplePath()));
  std::string block, line;
  bool inside = false;
  while (std::getline(in, line)) {
    inside = inside || line == "# mqtt:";
    if (!inside) continue;
    if (line.rfind("#   # ", 0) == 0) continue;  // comments inside the block
    ASSERT_EQ(line.rfind("# ", 0), 0u) << line;
    block += line.substr(2) + "\n";
  }
  ASSERT_FALSE(block.empty());
  const auto s = Parse(block);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const MqttSettings& m = *s->mqtt;
  const MqttSettings defaults;
  EXPECT_EQ(m.broker, defaults.broker);
  EXPECT_EQ(m.client_id, defaults.client_id);
  EXPECT_EQ(m.clean_session, defaults.clean_session);
  EXPECT_EQ(m.qos, defaults.qos);
  EXPECT_EQ(m.password_file, "");
  EXPECT_EQ(m.keepalive_s, defaults.keepalive_s);
  EXPECT_EQ(m.reconnect_min_s, defaults.reconnect_min_s);
  EXPECT_EQ(m.reconnect_max_s, defaults.reconnect_max_s);
  EXPECT_EQ(m.max_pending, defaults.max_pending);
  ASSERT_EQ(m.subscriptions.size(), 3u);
  EXPECT_EQ(m.subscriptions[2].format, MqttSubscription::Format::kValue);
}

TEST_F(MqttSettingsTest, AbsentMeansNoClient) {
  const auto s = Parse("");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->mqtt.has_value());
}

TEST_F(MqttSettingsTest, OneSubscriptionAloneTakesDefaults) {
  const auto s = Parse("mqtt:\n  subscriptions:\n    - topic: plant/pumps\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->mqtt.has_value());
  const MqttSettings& m = *s->mqtt;
  EXPECT_EQ(m.broker.host, "127.0.0.1");
  EXPECT_EQ(m.broker.port, 1883);
  EXPECT_EQ(m.client_id, "");
  EXPECT_TRUE(m.clean_session);
  EXPECT_EQ(m.qos, 1);
  EXPECT_EQ(m.username, "");
  EXPECT_EQ(m.password_file, "");
  EXPECT_EQ(m.tls_ca, "");
  EXPECT_EQ(m.tls_cert, "");
  EXPECT_EQ(m.tls_key, "");
  EXPECT_EQ(m.keepalive_s, 30);
  EXPECT_EQ(m.reconnect_min_s, 1);
  EXPECT_EQ(m.reconnect_max_s, 30);
  EXPECT_EQ(m.max_pending, 10000);
  ASSERT_EQ(m.subscriptions.size(), 1u);
  const MqttSubscription& sub = m.subscriptions[0];
  EXPECT_EQ(sub.topic, "plant/pumps");
  EXPECT_EQ(sub.filter, "plant/pumps");
  EXPECT_EQ(sub.level_tags, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(sub.format, MqttSubscription::Format::kLine);
  EXPECT_EQ(sub.measurement, "");
}

TEST_F(MqttSettingsTest, ReadsEveryKey) {
  const auto s = Parse(
      "mqtt:\n"
      "  broker: mq.example:8883\n"
      "  client_id: lstmad-1\n"
      "  clean_session: false\n"
      "  qos: 0\n"
      "  username: lstmad\n"
      "  password_file: secrets/mqtt.pw\n"
      "  tls: { ca: tls/ca.pem, cert: tls/client.pem, key: /etc/lstmad/client.key }\n"
      "  keepalive: 1m\n"
      "  reconnect_min: 500ms\n"
      "  reconnect_max: 2m\n"
      "  max_pending: 50\n"
      "  subscriptions:\n"
      "    - { topic: 'plant/{site}/pump/{pump}', format: json, measurement: pump }\n"
      "    - topic: sensors/#\n"
      "      format: line\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const MqttSettings& m = *s->mqtt;
  EXPECT_EQ(m.broker.host, "mq.example");
  EXPECT_EQ(m.broker.port, 8883);
  EXPECT_EQ(m.client_id, "lstmad-1");
  EXPECT_FALSE(m.clean_session);
  EXPECT_EQ(m.qos, 0);
  EXPECT_EQ(m.username, "lstmad");
  // Relative paths are read from the configuration file's folder.
  EXPECT_EQ(m.password_file, dir_.path() + "/secrets/mqtt.pw");
  EXPECT_EQ(m.tls_ca, dir_.path() + "/tls/ca.pem");
  EXPECT_EQ(m.tls_cert, dir_.path() + "/tls/client.pem");
  EXPECT_EQ(m.tls_key, "/etc/lstmad/client.key");
  EXPECT_EQ(m.keepalive_s, 60);
  EXPECT_DOUBLE_EQ(m.reconnect_min_s, 0.5);
  EXPECT_EQ(m.reconnect_max_s, 120);
  EXPECT_EQ(m.max_pending, 50);
  ASSERT_EQ(m.subscriptions.size(), 2u);
  EXPECT_EQ(m.subscriptions[0].topic, "plant/{site}/pump/{pump}");
  EXPECT_EQ(m.subscriptions[0].filter, "plant/+/pump/+");
  EXPECT_EQ(m.subscriptions[0].level_tags, (std::vector<std::string>{"", "site", "", "pump"}));
  EXPECT_EQ(m.subscriptions[0].format, MqttSubscription::Format::kJson);
  EXPECT_EQ(m.subscriptions[0].measurement, "pump");
  EXPECT_EQ(m.subscriptions[1].topic, "sensors/#");
  EXPECT_EQ(m.subscriptions[1].filter, "sensors/#");
  EXPECT_EQ(m.subscriptions[1].level_tags, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(m.subscriptions[1].format, MqttSubscription::Format::kLine);
}

TEST_F(MqttSettingsTest, TopicTemplatesMakeAFilterAndATagPerLevel) {
  struct Case {
    std::string yaml;
    std::string filter;
    std::vector<std::string> level_tags;
  };
  const std::vector<Case> cases = {
      {"'{site}'", "+", {"site"}},
      {"'{a}/{b}/c'", "+/+/c", {"a", "b", ""}},
      {"'/{a}'", "/+", {"", "a"}},  // a leading '/' is an empty first level
      {"'a//{b}'", "a//+", {"", "", "b"}},
      {"'{site}/#'", "+/#", {"site", ""}},
      {"'+/{x}/+'", "+/+/+", {"", "x", ""}},
      {"'#'", "#", {""}},
      {"'$SYS/{what}'", "$SYS/+", {"", "what"}},
      {"'a/{line 1}'", "a/+", {"", "line 1"}},  // tag names may hold what line protocol escapes
  };
  for (const Case& c : cases) {
    const auto s = Topic(c.yaml);
    ASSERT_TRUE(s.ok()) << c.yaml << ": " << s.status().message();
    EXPECT_EQ(s->filter, c.filter) << c.yaml;
    EXPECT_EQ(s->level_tags, c.level_tags) << c.yaml;
  }
}

TEST_F(MqttSettingsTest, BadTopicTemplatesAreRefusedNamingTheLevel) {
  const std::string at = "lstmad.yaml:5: mqtt.subscriptions[0].topic: ";
  EXPECT_EQ(TopicError("'a/{x}y'"), at + "level \"{x}y\": a tag level is the whole level, as in {name}");
  EXPECT_EQ(TopicError("'a/x{y}'"), at + "level \"x{y}\": a tag level is the whole level, as in {name}");
  EXPECT_EQ(TopicError("'a/{x'"), at + "level \"{x\": a tag level is the whole level, as in {name}");
  EXPECT_EQ(TopicError("'{}'"), at + "level \"{}\" does not name a tag");
  EXPECT_EQ(TopicError("'a/{b+}'"), at + "level \"{b+}\" does not name a tag");
  EXPECT_EQ(TopicError("'a/{#}'"), at + "level \"{#}\" does not name a tag");
  EXPECT_EQ(TopicError("'a/{{b}}'"), at + "level \"{{b}}\" does not name a tag");
  EXPECT_EQ(TopicError("'a/#/b'"), at + "'#' must be the last level");
  EXPECT_EQ(TopicError("'#/'"), at + "'#' must be the last level");
  EXPECT_EQ(TopicError("'a+/b'"), at + "level \"a+\": '+' and '#' stand alone in a level");
  EXPECT_EQ(TopicError("'a/b#'"), at + "level \"b#\": '+' and '#' stand alone in a level");
  EXPECT_EQ(TopicError("'{a}/b/{a}'"), at + "the tag \"a\" is named by two levels");
  EXPECT_EQ(TopicError("''"), at + "the topic is empty");
}

TEST_F(MqttSettingsTest, SubscriptionsAreChecked) {
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions:\n    - format: json\n"),
            "lstmad.yaml:5: mqtt.subscriptions[0]: a subscription needs `topic`");
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions:\n    - topic: a\n    - topic: b\n      format: xml\n"),
            "lstmad.yaml:7: mqtt.subscriptions[1].format: expected one of line, json, value; got \"xml\"");
  EXPECT_EQ(
      ErrorOf("mqtt:\n  subscriptions:\n    - topic: a\n      qos: 1\n"),
      "lstmad.yaml:6: mqtt.subscriptions[0].qos: unknown key (expected one of: topic, format, measurement, field)");
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions:\n    - { topic: a/+, format: value }\n"),
            "lstmad.yaml:5: mqtt.subscriptions[0]: format: value needs `measurement`: a bare value names none");
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions:\n    - { topic: a/+, field: x }\n"),
            "lstmad.yaml:5: mqtt.subscriptions[0]: `field` is for format: value only");
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions:\n    - { topic: a/+, format: value, measurement: m, field: \"\" }\n"),
            "lstmad.yaml:5: mqtt.subscriptions[0].field: the field's name is empty");
  const auto value = Parse("mqtt:\n  subscriptions:\n    - { topic: a/+, format: value, measurement: m, field: t }\n");
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(value.value().mqtt->subscriptions[0].format, MqttSubscription::Format::kValue);
  EXPECT_EQ(value.value().mqtt->subscriptions[0].field, "t");
  EXPECT_EQ(ErrorOf("mqtt:\n  subscriptions: []\n"),
            "lstmad.yaml:3: mqtt: `subscriptions` needs at least one topic");
  EXPECT_EQ(ErrorOf("mqtt:\n  broker: mq:1883\n"),
            "lstmad.yaml:3: mqtt: `subscriptions` needs at least one topic");
}

TEST_F(MqttSettingsTest, KeysThatNeedAnotherAreChecked) {
  const std::string subs = "  subscriptions: [{ topic: a }]\n";
  EXPECT_EQ(
      ErrorOf("mqtt:\n  clean_session: false\n" + subs),
      "lstmad.yaml:3: mqtt: clean_session: false needs a client_id: the broker keeps the session under it");
  EXPECT_EQ(ErrorOf("mqtt:\n  password_file: pw\n" + subs),
            "lstmad.yaml:3: mqtt: password_file needs username");
  EXPECT_EQ(ErrorOf("mqtt:\n  reconnect_min: 10s\n  reconnect_max: 5s\n" + subs),
            "lstmad.yaml:3: mqtt: reconnect_max is below reconnect_min");
  EXPECT_EQ(ErrorOf("mqtt:\n  reconnect_min: 45s\n" + subs),  // beyond the default maximum (30s)
            "lstmad.yaml:3: mqtt: reconnect_max is below reconnect_min");
  EXPECT_EQ(ErrorOf("mqtt:\n  tls: { cert: c.pem, key: k.pem }\n" + subs),
            "lstmad.yaml:4: mqtt.tls: TLS needs `ca`: the certificate authority that signed the broker's");
  EXPECT_EQ(ErrorOf("mqtt:\n  tls: { ca: ca.pem, cert: c.pem }\n" + subs),
            "lstmad.yaml:4: mqtt.tls: a client certificate needs both cert and key");
  // An empty password_file is no password file (the example file's value).
  EXPECT_EQ(ErrorOf("mqtt:\n  password_file: \"\"\n" + subs), "(parsed without error)");
  // Each is fine with what it needs.
  EXPECT_EQ(ErrorOf("mqtt:\n  clean_session: false\n  client_id: x\n  password_file: pw\n  username: u\n"
                    "  reconnect_min: 5s\n  reconnect_max: 5s\n  tls: { ca: ca.pem }\n" +
                    subs),
            "(parsed without error)");
}

TEST_F(MqttSettingsTest, ValuesAreChecked) {
  const std::string subs = "  subscriptions: [{ topic: a }]\n";
  EXPECT_EQ(ErrorOf("mqtt:\n  qos: 2\n" + subs), "lstmad.yaml:4: mqtt.qos: must be from 0 to 1, got 2");
  EXPECT_EQ(ErrorOf("mqtt:\n  qos: -1\n" + subs), "lstmad.yaml:4: mqtt.qos: must be from 0 to 1, got -1");
  EXPECT_EQ(ErrorOf("mqtt:\n  clean_session: yes\n" + subs),
            "lstmad.yaml:4: mqtt.clean_session: expected one of true, false; got \"yes\"");
  EXPECT_EQ(ErrorOf("mqtt:\n  client_id: " + std::string(93, 'c') + "\n" + subs),
            "lstmad.yaml:4: mqtt.client_id: a client id of at most 92 bytes");
  EXPECT_EQ(ErrorOf("mqtt:\n  client_id: " + std::string(92, 'c') + "\n" + subs), "(parsed without error)");
  EXPECT_EQ(
      ErrorOf("mqtt:\n  keepalive: 1s\n" + subs),
      "lstmad.yaml:4: mqtt.keepalive: expected a duration like 30s, 5m or 1h from 5s to 3600s, got \"1s\"");
  EXPECT_EQ(ErrorOf("mqtt:\n  max_pending: 0\n" + subs),
            "lstmad.yaml:4: mqtt.max_pending: must be from 1 to 10000000, got 0");
  EXPECT_EQ(ErrorOf("mqtt:\n  broker: mq\n" + subs),
            "lstmad.yaml:4: mqtt.broker: expected HOST:PORT, got \"mq\"");
  EXPECT_EQ(ErrorOf("mqtt:\n  tls: { ca: ca.pem, crl: x }\n" + subs),
            "lstmad.yaml:4: mqtt.tls.crl: unknown key (expected one of: ca, cert, key)");
  EXPECT_EQ(
      ErrorOf("mqtt:\n  port: 1883\n" + subs),
      "lstmad.yaml:4: mqtt.port: unknown key (expected one of: broker, client_id, clean_session, qos, "
      "username, password_file, tls, keepalive, reconnect_min, reconnect_max, max_pending, subscriptions)");
}

}  // namespace
}  // namespace lstmad::config
