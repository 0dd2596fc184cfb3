// The `nats:` section (cluster mode) of lstmad.yaml, and the helpers of
// settings.cc it shares. Private to lstmad::config.
#pragma once

#include <string>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "yaml_reader.h"

namespace lstmad::config::detail {

// A path relative to the config file's directory made absolute.
std::string Resolve(const std::string& path, const std::string& base_dir);
// "30s", "5m", "1h", "250ms" or a plain number of seconds, in [min_s, max_s].
core::Status ReadDuration(const Reader& r, const Field& f, double min_s, double max_s, double* out);

// A file that exists, its path resolved against `base_dir`.
core::Status ReadExistingFile(const Reader& r, const Field& f, const std::string& base_dir, std::string* out);

// A client TLS section { ca, cert, key } (nats.tls, mqtt.tls,
// alertmanager.tls, remote_write_out.tls): paths resolved against
// `base_dir` (with `must_exist`, files that must exist); a client
// certificate needs both cert and key.
core::Status ParseClientTls(const Reader& r, const Field& f, const std::string& base_dir, bool must_exist,
                            std::string* ca, std::string* cert, std::string* key);

core::Status ParseRemoteWriteOut(const Reader& r, const Field& f, const std::string& base_dir,
                                 RemoteWriteOutSettings* out);

core::Status ParseNats(const Reader& r, const Field& f, const std::string& base_dir, NatsSettings* out);

}  // namespace lstmad::config::detail
