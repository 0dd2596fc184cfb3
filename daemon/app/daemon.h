// Daemon: `lstmad serve`. Wires the configuration, the models, the ingest
// listener, the scoring workers, the metrics endpoint, the events file and
// the systemd notifications, and runs until SIGTERM or SIGINT.
//
// Signals: SIGTERM/SIGINT stop accepting, score every sample already
// received, flush events and logs, and return 0. SIGHUP reloads the
// configuration and models; an invalid one keeps the running one.
#pragma once

#include <memory>
#include <string>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

class Daemon {
 public:
  // Loads the models, opens the events file and, in cluster mode, connects
  // to NATS, waiting for it up to nats.startup_timeout; binds nothing yet.
  // Errors are bad configuration or models, except kUnavailable ones: NATS
  // unreachable or JetStream not ready when that time is up. SIGTERM or
  // SIGINT during the wait ends it: the Daemon returned then serves nothing
  // and its Run() returns OK at once.
  static core::Result<std::unique_ptr<Daemon>> Create(config::Settings settings);
  ~Daemon();

  // Listens, serves, and returns OK once stopped by a signal. An error means
  // it could not start serving: kUnavailable when a listen address is in use
  // or not on this host, kInvalid for bad TLS or listen settings, kError for
  // the rest (no permission for the port, out of descriptors).
  core::Status Run();

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `lstmad serve --check`: validates the file and loads its models; on
// success, what the daemon would run (listeners, outputs, each model's
// features, lookback, threshold and detector), as lines for a person.
core::Result<std::string> CheckConfig(const std::string& path);

}  // namespace lstmad::daemon
