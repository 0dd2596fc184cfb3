#include "nats_settings.h"

#include <string_view>

#include "lstmad/core/text.h"
#include "schema_keys.h"

namespace lstmad::config::detail {
namespace {

using core::Status;

// Stream, consumer, bucket and instance names end up in subjects and KV
// keys: no dots, wildcards or spaces.
bool IsPlainToken(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

// Dot-separated plain tokens ("lstmad", "acme.lstmad").
bool IsSubjectPrefix(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    if (!IsPlainToken(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

Status ReadToken(const Reader& r, const Field& v, bool subject, std::string* out) {
  LSTMAD_RETURN_IF_ERROR(r.ReadString(v, out));
  if (subject ? IsSubjectPrefix(*out) : IsPlainToken(*out)) return Status::Ok();
  return r.Error(v, subject ? "expected dot-separated tokens of [A-Za-z0-9_-], got " + core::Quote(*out)
                            : "expected [A-Za-z0-9_-]+, got " + core::Quote(*out));
}


Status ParseServers(const Reader& r, const Field& f, NatsSettings* out) {
  return r.ForEachItem(f, [&](size_t, const Field& item) {
    std::string url;
    LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &url));
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      return r.Error(item, "expected nats://HOST:PORT or tls://HOST:PORT, got " + core::Quote(url));
    }
    out->servers.push_back(url);
    return Status::Ok();
  });
}

}  // namespace

Status ParseNats(const Reader& r, const Field& f, const std::string& base_dir, NatsSettings* out) {
  static constexpr std::pair<std::string_view, TcpIngest> kTcpIngest[] = {{"forward", TcpIngest::kForward},
                                                                          {"local", TcpIngest::kLocal}};
  const Status s = r.ForEachField(f, keys::kNats, [&](std::string_view key, const Field& v) -> Status {
    if (key == "servers") return ParseServers(r, v, out);
    if (key == "credentials") {
      LSTMAD_RETURN_IF_ERROR(r.ReadString(v, &out->credentials));
      if (!out->credentials.empty()) out->credentials = Resolve(out->credentials, base_dir);
      return Status::Ok();
    }
    if (key == "tls") return ParseClientTls(r, v, base_dir, false, &out->tls_ca, &out->tls_cert, &out->tls_key);
    if (key == "stream") return ReadToken(r, v, false, &out->stream);
    if (key == "subject_prefix") return ReadToken(r, v, true, &out->subject_prefix);
    if (key == "consumer_prefix") return ReadToken(r, v, false, &out->consumer_prefix);
    if (key == "partitions") return r.ReadInt(v, 1, 1024, &out->partitions);
    if (key == "streams") return r.ReadInt(v, 1, 1024, &out->streams);
    if (key == "replicas") return r.ReadInt(v, 1, 5, &out->replicas);
    if (key == "max_age") return ReadDuration(r, v, 0, 365 * 86400.0, &out->max_age_s);
    if (key == "lease_ttl") return ReadDuration(r, v, 1, 3600, &out->lease_ttl_s);
    if (key == "checkpoint_interval") return ReadDuration(r, v, 0.01, 600, &out->checkpoint_interval_s);
    if (key == "fetch_batch") return r.ReadInt(v, 1, 100000, &out->fetch_batch);
    if (key == "max_ack_pending") return r.ReadInt(v, 1, 10000000, &out->max_ack_pending);
    if (key == "tcp_ingest") return r.ReadEnum<TcpIngest>(v, kTcpIngest, &out->tcp_ingest);
    if (key == "forward_queue") return r.ReadInt(v, 1, 10000000, &out->forward_queue);
    if (key == "forward_timeout") return ReadDuration(r, v, 0.1, 600, &out->forward_timeout_s);
    if (key == "batch_max_samples") return r.ReadInt(v, 1, 10000, &out->batch_max_samples);
    if (key == "batch_max_delay") return ReadDuration(r, v, 0, 1, &out->batch_max_delay_s);
    if (key == "startup_timeout") return ReadDuration(r, v, 0, 3600, &out->startup_timeout_s);
    return ReadToken(r, v, false, &out->instance_id);
  });
  if (!s.ok()) return s;
  if (out->servers.empty()) return r.Error(f, "servers: at least one server URL is required");
  if (out->checkpoint_interval_s * 2 > out->lease_ttl_s) {
    // A partition is handed over at a checkpoint; one every half lease keeps
    // the owner's state no older than the lease.
    return r.Error(f, "checkpoint_interval must be at most half of lease_ttl");
  }
  if (out->streams > out->partitions) {
    // A stream without a partition would hold nothing.
    return r.Error(f, "streams must not exceed partitions");
  }
  if (out->fetch_batch > out->max_ack_pending) {
    return r.Error(f, "fetch_batch must not exceed max_ack_pending");
  }
  return Status::Ok();
}

Status ParseClientTls(const Reader& r, const Field& f, const std::string& base_dir, bool must_exist,
                      std::string* ca, std::string* cert, std::string* key) {
  const Status s = r.ForEachField(f, keys::kNatsTls, [&](std::string_view name, const Field& v) {
    std::string* target = name == "ca" ? ca : name == "cert" ? cert : key;
    if (must_exist) return ReadExistingFile(r, v, base_dir, target);
    LSTMAD_RETURN_IF_ERROR(r.ReadString(v, target));
    if (!target->empty()) *target = Resolve(*target, base_dir);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (cert->empty() != key->empty()) return r.Error(f, "a client certificate needs both cert and key");
  return Status::Ok();
}

}  // namespace lstmad::config::detail
