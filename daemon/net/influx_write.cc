#include "net/influx_write.h"

#include <openssl/crypto.h>
#include <prometheus/counter.h>
#include <strings.h>

#include <algorithm>

#include "ingest/sample_checks.h"
#include "net/http_server.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

// InfluxDB's version header; clients read only that it is there.
constexpr char kVersion[] = "lstmad-1.8-compatible";

std::string JsonEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

HttpReply Error(WriteApi api, int status, const std::string& code, const std::string& message) {
  HttpReply reply{status, "application/json", "", {{"X-Influxdb-Version", kVersion}}};
  reply.body = api == WriteApi::kV1 ? "{\"error\":\"" + JsonEscape(message) + "\"}\n"
                                    : "{\"code\":\"" + code + "\",\"message\":\"" + JsonEscape(message) + "\"}\n";
  if (status == 401) reply.headers.emplace_back("WWW-Authenticate", "Basic realm=\"lstmad\"");
  return reply;
}

bool SameToken(std::string_view given, const std::string& token) {
  return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

}  // namespace

// One request's lines the sink had no room for: copied out of the request.
struct InfluxWrite::Held {
  std::vector<std::string> lines;
  size_t next = 0;  // the first not yet handed in
  std::string peer;
};

InfluxWrite::InfluxWrite(asio::io_context& io, LineSink* sink, Metrics* metrics, const config::IngestSettings& ingest,
                         size_t max_line_bytes)
    : io_(io),
      sink_(sink),
      metrics_(metrics),
      ingest_ns_(PrecisionToNs(ingest.precision)),
      max_line_bytes_(max_line_bytes),
      max_body_(static_cast<size_t>(ingest.http.max_body_bytes)),
      tokens_(ingest.http.tokens) {
  // Set before any line goes in: the sink takes it when it stalls.
  stalled_.on_room = [self = std::weak_ptr<InfluxWrite*>(self_), io = &io_] {
    asio::post(*io, [self] {
      if (auto alive = self.lock(); alive && *alive != nullptr) (*alive)->Resume();
    });
  };
}

InfluxWrite::~InfluxWrite() { *self_ = nullptr; }

void InfluxWrite::AddRoutes(HttpServer* server) {
  // Credentials are the write API's own (tokens), so the server's basic auth is off for these routes.
  for (const auto& [path, api] : {std::pair{"/write", WriteApi::kV1}, std::pair{"/api/v2/write", WriteApi::kV2}}) {
    server->AddDeferredRoute(
        {path, {"POST"}, false, max_body_, [this, api = api](const HttpRequest& r) { return Write(r, api); }},
        [this, api = api](HttpRequest r, std::shared_ptr<HttpResponder> responder) {
          WriteWhenRoom(std::move(r), api, std::move(responder));
        });
  }
  server->AddRoute({"/ping", {"GET"}, false, 0, [](const HttpRequest&) {
                      return HttpReply{204, "text/plain", "", {{"X-Influxdb-Version", kVersion}}};
                    }});
  server->AddRoute({"/health", {"GET"}, false, 0, [](const HttpRequest&) {
                      return HttpReply{200, "application/json",
                                       "{\"name\":\"lstmad\",\"message\":\"ready for writes\",\"status\":\"pass\","
                                       "\"checks\":[],\"version\":\"" + std::string(kVersion) + "\"}\n",
                                       {{"X-Influxdb-Version", kVersion}}};
                    }});
}

bool InfluxWrite::Authorized(const HttpRequest& request, WriteApi api) const {
  if (tokens_.empty()) return true;
  const auto matches = [&](std::string_view given) {
    return std::any_of(tokens_.begin(), tokens_.end(), [&](const std::string& t) { return SameToken(given, t); });
  };
  const std::string_view authorization = request.Header("authorization").value_or("");
  if (authorization.size() > 6 && strncasecmp(authorization.data(), "Token ", 6) == 0) {
    return matches(authorization.substr(6));
  }
  if (authorization.size() > 6 && strncasecmp(authorization.data(), "Basic ", 6) == 0) {
    const std::optional<std::string> decoded = Base64Decode(authorization.substr(6));
    const size_t colon = decoded ? decoded->find(':') : std::string::npos;
    return colon != std::string::npos && matches(std::string_view(*decoded).substr(colon + 1));
  }
  if (api == WriteApi::kV1) {
    if (const std::optional<std::string> password = request.QueryParam("p")) return matches(*password);
  }
  return false;
}

HttpReply InfluxWrite::Write(const HttpRequest& request, WriteApi api) {
  if (!Authorized(request, api)) return Error(api, 401, "unauthorized", "authorization failed");
  const std::optional<int64_t> from_ns = WritePrecisionNs(request.QueryParam("precision"), api);
  if (!from_ns) {
    return Error(api, 400, "invalid",
                 "precision: " + request.QueryParam("precision").value_or("") +
                     (api == WriteApi::kV1 ? " (expected n, u, ms, s, m or h)" : " (expected ns, us, ms or s)"));
  }
  if (api == WriteApi::kV2 && !request.QueryParam("bucket")) {
    return Error(api, 400, "invalid", "bucket: missing (lstmad ignores its value, InfluxDB needs it)");
  }
  if (held_) {
    // Lines of an earlier request still wait for the scoring queues: this
    // one is refused whole, so a retry duplicates nothing.
    HttpReply busy = Error(api, 503, "unavailable", "scoring queues full; retry later");
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
  }
  const std::string peer = request.peer;
  std::optional<WriteLine> first_error;
  size_t points = 0;
  ForEachWriteLine(request.body, *from_ns, ingest_ns_, max_line_bytes_, &parsed_, [&](const WriteLine& line) {
    if (line.verdict != WriteLine::Verdict::kPoint && line.verdict != WriteLine::Verdict::kSkipped && !first_error) {
      first_error = line;
      first_error->text = {};  // a view into scratch storage: not kept
    }
    switch (line.verdict) {
      case WriteLine::Verdict::kSkipped: return;
      case WriteLine::Verdict::kTooLong: return sink_->LineTooLong(peer);
      case WriteLine::Verdict::kOutOfRange:
        // Counted as the line path counts a timestamp out of range.
        metrics_->Rejected(RejectReason::kOutOfRange).Increment();
        return;
      case WriteLine::Verdict::kParseError:  // the sink counts and logs it as from TCP
      case WriteLine::Verdict::kPoint: break;
    }
    ++points;
    if (held_) {
      held_->lines.emplace_back(line.text);
      return;
    }
    sink_->HandleLine(line.text, peer, &stalled_);
    if (stalled_.stalled()) {
      held_ = std::make_unique<Held>();
      held_->peer = peer;
    }
  });
  if (held_) {
    Log(LogLevel::kDebug, "http write: scoring queues full; holding the rest of a request",
        {Field("peer", peer), Field("lines", held_->lines.size())});
  }
  if (first_error) {
    return Error(api, 400, "invalid",
                 "partial write: line " + std::to_string(first_error->number) + ": " + first_error->error);
  }
  return HttpReply{204, "text/plain", "", {{"X-Influxdb-Version", kVersion}}};
}

void InfluxWrite::WriteWhenRoom(HttpRequest request, WriteApi api, std::shared_ptr<HttpResponder> responder) {
  if (!held_ || !Authorized(request, api)) return responder->Send(Write(request, api));
  if (waiting_.size() >= kMaxWaiting) return responder->Send(Write(request, api));  // 503
  waiting_.push_back({std::move(request), api, std::move(responder)});
}

void InfluxWrite::Resume() {
  if (!held_ || !stalled_.stalled() || !stalled_.retry(false)) return;  // still no room: on_room comes again
  stalled_.retry = nullptr;
  FeedHeld();
}

void InfluxWrite::FeedHeld() {
  while (held_->next < held_->lines.size()) {
    sink_->HandleLine(held_->lines[held_->next++], held_->peer, &stalled_);
    if (stalled_.stalled()) return;
  }
  held_.reset();
  // The waiting requests, in order, until one stalls again. One whose client
  // gave up (its deadline passed) is dropped unread: it saw no answer, so it
  // will send its lines again.
  while (!held_ && !waiting_.empty()) {
    Waiting next = std::move(waiting_.front());
    waiting_.pop_front();
    if (next.responder->open()) next.responder->Send(Write(next.request, next.api));
  }
}

void InfluxWrite::Finish() {
  if (!held_) return;
  if (stalled_.stalled()) stalled_.retry(true);
  stalled_.retry = nullptr;
  while (held_->next < held_->lines.size()) sink_->HandleLine(held_->lines[held_->next++], held_->peer);
  held_.reset();
  for (Waiting& w : waiting_) {
    HttpReply busy = Error(w.api, 503, "unavailable", "lstmad is stopping");
    w.responder->Send(std::move(busy));
  }
  waiting_.clear();
}

}  // namespace lstmad::daemon
