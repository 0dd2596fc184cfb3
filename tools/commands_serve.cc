// `lstmad serve`: run the daemon, or validate its configuration (--check).
#include <iostream>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "exit_codes.h"
#include "lstmad/config/settings.h"
#include "app/daemon.h"

namespace lstmad::tools {

int RunServe(const std::vector<std::string>& args) {
  ArgParser p("serve",
              "Run the anomaly-detection daemon: line-protocol samples over TCP, Prometheus metrics\n"
              "at /metrics, alerts in the log and the events file. SIGHUP reloads the configuration,\n"
              "SIGTERM stops after scoring every sample received.");
  p.AddOption("config", "FILE.yaml", "the configuration (see config/lstmad.example.yaml)");
  p.AddSwitch("check", "validate the configuration and load its models, then exit 0 or 2");
  if (const int code = ParseArgsOrExit(&p, args, "serve"); code >= 0) return code;
  if (!p.Has("config")) return Fail("serve", "--config is required");
  if (p.Switch("check")) {
    core::Result<std::string> report = daemon::CheckConfig(p.Get("config"));
    if (!report.ok()) return Fail("serve", report.status().message());
    std::cout << *report;
    return kExitOk;
  }
  auto settings = config::LoadSettings(p.Get("config"));
  if (!settings.ok()) return Fail("serve", settings.status().message());
  // Before serving, a plain error is the configuration's or a model's fault
  // (2: systemd leaves it down); NATS or a listen address not available is
  // 69 (systemd restarts it); a failure while starting to serve is 1.
  auto daemon = daemon::Daemon::Create(std::move(settings).value());
  if (!daemon.ok()) {
    return Fail("serve", daemon.status().message(), ExitCodeFor(daemon.status(), kExitBadInput));
  }
  const core::Status served = (*daemon)->Run();
  if (!served.ok()) return Fail("serve", served.message(), ExitCodeFor(served, kExitFailure));
  return kExitOk;
}

}  // namespace lstmad::tools
