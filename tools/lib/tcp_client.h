// A plain blocking TCP client for `lstmad simulate` and `lstmad send`: connect
// to "host:port", write everything. Not for the daemon (which uses Asio).
//
// Thread-safety: free functions on the caller's socket.
#pragma once

#include <string>

namespace lstmad::tools {

// Connects to "host:port" ("[v6]:port" too); returns the socket, or -1 with
// `error` naming the address and what went wrong.
int ConnectTcp(const std::string& address, std::string* error);

// Writes all of `data`; false when the peer closed the connection.
bool SendAll(int fd, const std::string& data);

}  // namespace lstmad::tools
