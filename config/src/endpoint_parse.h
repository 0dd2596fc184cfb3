// ParseEndpoint: "host:port" / "[v6-host]:port" text into an Endpoint.
// Private to lstmad::config; pure function.
#pragma once

#include <string_view>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::config::detail {

// The error message names the problem but not the key; the caller adds that.
core::Result<Endpoint> ParseEndpoint(std::string_view text);

}  // namespace lstmad::config::detail
