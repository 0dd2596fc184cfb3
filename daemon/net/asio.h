// The one place lstmad includes Boost.Asio.
//
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including
// <utility>, which breaks under -std=c++20; including it first fixes that.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace lstmad::daemon {
namespace asio = boost::asio;
}
