// The `remote_write_out:` section of lstmad.yaml: where and how the
// per-stream series are written back (docs/configuration.md).
#include <string_view>

#include "lstmad/core/text.h"
#include "nats_settings.h"
#include "schema_keys.h"

namespace lstmad::config::detail {
namespace {

using core::Status;

// http[s]://HOST:PORT/PATH: the receiver's endpoint as given (Prometheus:
// /api/v1/write; VictoriaMetrics: /api/v1/write too). No credentials in it:
// the URL is logged on every failed try.
Status CheckUrl(const Reader& r, const Field& f, const std::string& url) {
  const std::string shown = core::Quote(core::RedactUrlCredentials(url));
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0)
    return r.Error(f, "expected http[s]://HOST:PORT/PATH, got " + shown);
  if (core::UrlHasCredentials(url)) {
    return r.Error(f,
                   "credentials in the URL are refused (they would be logged); use "
                   "remote_write_out.basic_auth or remote_write_out.bearer_token_file, got " +
                       shown);
  }
  const std::string rest = url.substr(https ? 8 : 7);
  const std::string authority = rest.substr(0, rest.find('/'));
  const size_t colon = authority.rfind(':');
  if (authority.empty() || colon == std::string::npos || colon + 1 == authority.size() || colon == 0) {
    return r.Error(f, "expected http[s]://HOST:PORT/PATH with an explicit port, got " + shown);
  }
  return Status::Ok();
}

Status ParseBasicAuth(const Reader& r, const Field& f, RemoteWriteOutSettings* out) {
  const Status s = r.ForEachField(f, keys::kBasicAuth, [&](std::string_view key, const Field& v) {
    return r.ReadString(v, key == "username" ? &out->username : &out->password);
  });
  if (!s.ok()) return s;
  if (out->username.empty()) return r.Error(f, "basic_auth needs a username");
  return Status::Ok();
}


}  // namespace

Status ParseRemoteWriteOut(const Reader& r, const Field& f, const std::string& base_dir,
                           RemoteWriteOutSettings* out) {
  const Status s = r.ForEachField(f, keys::kRemoteWriteOut, [&](std::string_view key, const Field& v) {
    if (key == "url") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->url));
      return CheckUrl(r, v, out->url);
    }
    if (key == "interval") return ReadDuration(r, v, 1, 3600, &out->interval_s);
    if (key == "timeout_s") return r.ReadDouble(v, 0.001, 60, &out->timeout_s);
    if (key == "max_queue_samples") return r.ReadInt(v, 1, 100000000, &out->max_queue_samples);
    if (key == "max_samples_per_send") return r.ReadInt(v, 1, 1000000, &out->max_samples_per_send);
    if (key == "basic_auth") return ParseBasicAuth(r, v, out);
    if (key == "bearer_token_file") return ReadExistingFile(r, v, base_dir, &out->bearer_token_file);
    return ParseClientTls(r, v, base_dir, true, &out->tls_ca, &out->tls_cert, &out->tls_key);
  });
  if (!s.ok()) return s;
  if (out->url.empty()) return r.Error(f, "url is required");
  if (!out->username.empty() && !out->bearer_token_file.empty()) {
    return r.Error(f, "use basic_auth or bearer_token_file, not both");
  }
  return Status::Ok();
}

}  // namespace lstmad::config::detail
