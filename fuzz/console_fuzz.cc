// Fuzzes the web console (daemon/console/console.h) with what a client
// controls: the input is a request's path, a newline, and its query string.
// Over a fixed set of streams (keys with line-protocol escapes, one with
// invalid UTF-8, one alert firing), every request:
//  - answers 200, 302, 400 or 404, and nothing else;
//  - under /api/, answers JSON that nlohmann-json parses (an object; an
//    "error" member exactly when the status is not 200);
//  - in HTML, never carries a <script> element, and every tag in it is one
//    the console writes (every page escapes what it echoes).
// Also, on the input as a stream key: PercentEncode yields only unreserved
// characters and %XX, and decodes back to the input; KeyTags does not crash.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "console/console.h"
#include "fuzz_check.h"

namespace {

using namespace lstmad::daemon;

std::optional<std::string> Decode(std::string_view text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    }
  }
  return out;
}

std::vector<std::string> Params(std::string_view query, std::string_view name) {
  std::vector<std::string> values;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const auto key = Decode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true)) {
      values.push_back(std::move(*value));
    }
  }
  return values;
}

struct Fixture {
  HistoryRegistry registry{4};
  std::vector<std::shared_ptr<StreamHistory>> held;
  Fixture() {
    const char* keys[] = {"pump,id=p1", "pump,id=p\\,2", "pump,id=p3\xff", "fan,site=a\\ b"};
    double error = 0.5;
    for (const char* key : keys) {
      auto h = registry.Create(std::string_view(key).starts_with("fan") ? "fan" : "pump", key, 2, 2);
      const float v[] = {1, 2};
      for (int i = 0; i < 6; ++i) h->Record(HistoryPoint{i, error * i, 1.0, error * i > 1}, v, v, v);
      error *= 3;
      held.push_back(h);
    }
    AlertEvent fired;
    fired.kind = "fired";
    fired.model = "pump";
    fired.stream = keys[0];
    held[0]->RecordAlert(fired);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view path = input.substr(0, newline);
  const std::string_view query = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  ConsoleSources sources;
  sources.histories = &fixture.registry;
  const Console console(std::move(sources));
  ConsoleRequest request;
  request.path = path;
  request.params.get = [query](std::string_view name) -> std::optional<std::string> {
    auto values = Params(query, name);
    if (values.empty()) return std::nullopt;
    return values.front();
  };
  request.params.all = [query](std::string_view name) { return Params(query, name); };
  request.decode = [](std::string_view segment) { return Decode(segment, false); };
  const ConsoleReply reply = console.Handle(request);
  LSTMAD_FUZZ_CHECK(reply.status == 200 || reply.status == 302 || reply.status == 400 || reply.status == 404,
                    std::to_string(reply.status));
  if (reply.content_type == "application/json") {
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    LSTMAD_FUZZ_CHECK(json.is_object(), reply.body);
    LSTMAD_FUZZ_CHECK(json.contains("error") == (reply.status != 200), reply.body);
  } else if (reply.content_type.starts_with("text/html")) {
    LSTMAD_FUZZ_CHECK(reply.body.find("<script") == std::string::npos, reply.body);
    // Echoed input is escaped: every tag in the page is one the console writes.
    static const std::set<std::string, std::less<>> kTags = {
        "!DOCTYPE", "html", "head", "meta", "title", "style", "body", "nav", "a", "h1", "h2", "p", "b",
        "table", "tr", "th", "td", "svg", "polyline", "circle"};
    for (size_t at = reply.body.find('<'); at != std::string::npos; at = reply.body.find('<', at + 1)) {
      size_t begin = at + 1;
      if (begin < reply.body.size() && reply.body[begin] == '/') ++begin;
      size_t end = begin;
      while (end < reply.body.size() && (std::isalnum(static_cast<unsigned char>(reply.body[end])) ||
                                         reply.body[end] == '!')) {
        ++end;
      }
      const std::string_view tag = std::string_view(reply.body).substr(begin, end - begin);
      LSTMAD_FUZZ_CHECK(kTags.contains(tag), std::string(tag));
    }
  }

  const std::string encoded = PercentEncode(input);
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    const bool unreserved = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
    LSTMAD_FUZZ_CHECK(unreserved || c == '%', encoded);
  }
  LSTMAD_FUZZ_CHECK(Decode(encoded, false) == std::string(input), encoded);
  (void)KeyTags(input);
  (void)KeyMeasurement(input);
  return 0;
}
