// remote_write_out: what the reader accepts (defaults for keys left out)
// and the exact message of each way it can be wrong.
#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::TempDir;

class RemoteWriteOutSettingsTest : public ::testing::Test {
 protected:
  RemoteWriteOutSettingsTest() {
    dir_.Write("pump.lstmad", "");
    dir_.Write("token", "t\n");
  }

  // The section starts on line 2.
  core::Result<Settings> Parse(const std::string& section) const {
    const std::string yaml =
        "models: [{ name: pump, path: pump.lstmad, measurement: pump }]\nremote_write_out: " + section + "\n";
    return ParseSettings(yaml, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& section) const {
    const core::Result<Settings> s = Parse(section);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  TempDir dir_;
};

TEST_F(RemoteWriteOutSettingsTest, AbsentIsOff) {
  const core::Result<Settings> s = ParseSettings(
      "models: [{ name: pump, path: pump.lstmad, measurement: pump }]\n", "lstmad.yaml", dir_.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->remote_write_out.enabled());
}

TEST_F(RemoteWriteOutSettingsTest, ReadsEveryKeyAndDefaultsTheRest) {
  const core::Result<Settings> s = Parse("{ url: \"http://127.0.0.1:9090/api/v1/write\" }");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const RemoteWriteOutSettings& d = s->remote_write_out;
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d.interval_s, 15.0);
  EXPECT_EQ(d.timeout_s, 10.0);
  EXPECT_EQ(d.max_queue_samples, 100000);
  EXPECT_EQ(d.max_samples_per_send, 2000);
  const core::Result<Settings> all = Parse(
      "{ url: \"https://vm:8428/api/v1/write\", interval: 1m, timeout_s: 2.5, max_queue_samples: 50, "
      "max_samples_per_send: 7, bearer_token_file: token }");
  ASSERT_TRUE(all.ok()) << all.status().message();
  const RemoteWriteOutSettings& a = all->remote_write_out;
  EXPECT_EQ(a.url, "https://vm:8428/api/v1/write");
  EXPECT_EQ(a.interval_s, 60.0);
  EXPECT_EQ(a.timeout_s, 2.5);
  EXPECT_EQ(a.max_queue_samples, 50);
  EXPECT_EQ(a.max_samples_per_send, 7);
  EXPECT_EQ(a.bearer_token_file, dir_.path() + "/token");
  const core::Result<Settings> basic =
      Parse("{ url: \"http://p:9090/w\", basic_auth: { username: lstmad, password: pw } }");
  ASSERT_TRUE(basic.ok()) << basic.status().message();
  EXPECT_EQ(basic->remote_write_out.username, "lstmad");
  EXPECT_EQ(basic->remote_write_out.password, "pw");
}

TEST_F(RemoteWriteOutSettingsTest, NamesWhatIsWrongAndWhere) {
  EXPECT_EQ(ErrorOf("{ interval: 5s }"), "lstmad.yaml:2: remote_write_out: url is required");
  EXPECT_EQ(
      ErrorOf("{ url: \"http://u:p@h:1/w\" }"),
      "lstmad.yaml:2: remote_write_out.url: credentials in the URL are refused (they would be logged); use "
      "remote_write_out.basic_auth or remote_write_out.bearer_token_file, got \"http://REDACTED@h:1/w\"");
  EXPECT_EQ(ErrorOf("{ url: \"h:1/w\" }"),
            "lstmad.yaml:2: remote_write_out.url: expected http[s]://HOST:PORT/PATH, got \"h:1/w\"");
  EXPECT_EQ(
      ErrorOf("{ url: \"http://h/w\" }"),
      "lstmad.yaml:2: remote_write_out.url: expected http[s]://HOST:PORT/PATH with an explicit port, got "
      "\"http://h/w\"");
  EXPECT_EQ(ErrorOf("{ url: \"http://h:1/w\", basic_auth: { username: u }, bearer_token_file: token }"),
            "lstmad.yaml:2: remote_write_out: use basic_auth or bearer_token_file, not both");
  EXPECT_EQ(ErrorOf("{ url: \"http://h:1/w\", bearer_token_file: nope }"),
            "lstmad.yaml:2: remote_write_out.bearer_token_file: no such file: " + dir_.path() + "/nope");
}

}  // namespace
}  // namespace lstmad::config
