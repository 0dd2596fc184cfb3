// JSON text for the daemon: the one writer of JSON strings (RFC 8259) that
// the log lines, the events file and the Alertmanager requests share, so
// every JSON string the daemon emits is escaped, and made valid UTF-8, the
// same way.
//
// Written with nlohmann::json: `"` and `\` escaped, \b \f \n \r \t spelled
// so, other control bytes as \u00XX; valid UTF-8 passes through as is, and
// each maximal ill-formed subsequence (Unicode 15, section 3.9: a stray
// byte, or the start of a sequence cut short) becomes one U+FFFD, written as
// its UTF-8 bytes. So the result is valid JSON whatever bytes came in.
//
// Pure functions of their arguments: safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace lstmad::daemon {

// `text` as a JSON string, with its surrounding double quotes.
std::string JsonString(std::string_view text);
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace lstmad::daemon
