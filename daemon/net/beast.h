// The one place lstmad includes Boost.Beast (HTTP/1 parsing for HttpServer),
// after net/asio.h so that its <utility> fix comes first.
#pragma once

#include "net/asio.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace lstmad::daemon {
namespace beast = boost::beast;
namespace http = boost::beast::http;
}  // namespace lstmad::daemon
