#include "app/http_source.h"

#include <chrono>
#include <utility>

#include "alerting/http_client.h"

namespace lstmad::daemon {

core::Result<std::string> HttpGetBody(const std::string& base_url, const std::string& path_and_query,
                                      const std::string& authorization) {
  // A year of 15 s steps is 2.1 M points; a request of 10,000 stays far below.
  constexpr size_t kMaxResponseBytes = size_t{256} << 20;
  core::Result<HttpUrl> url = ParseHttpUrl(base_url);
  if (!url.ok()) return core::Status::Invalid(url.status().message());
  core::Result<HttpGetResponse> r =
      HttpGet(*url, path_and_query, authorization, std::chrono::seconds(120), kMaxResponseBytes);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return core::Status::Invalid(base_url + " answered " + std::to_string(r->status) + ": " +
                                 r->body.substr(0, 300));
  }
  return std::move(r->body);
}

}  // namespace lstmad::daemon
