// lstmad: streaming anomaly detection with LSTM autoencoders.
// main only dispatches to the subcommands.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "command_support.h"
#include "commands.h"
#include "lstmad/core/denormals.h"
#include "lstmad/core/suggest.h"
#include "lstmad/core/text.h"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"train", lstmad::tools::RunTrain, "train an LSTM autoencoder on a CSV series"},
    {"summary", lstmad::tools::RunSummary, "show a model's layers, parameters and settings"},
    {"reconstruct", lstmad::tools::RunReconstruct, "print each window and its reconstruction"},
    {"score", lstmad::tools::RunScore, "print each window's reconstruction error and verdict"},
    {"evaluate", lstmad::tools::RunEvaluate, "measure a model's alarms against a labelled series"},
    {"evaluate-stream", lstmad::tools::RunEvaluateStream,
     "train on a labelled series' first 15%, score the rest online, measure (NAB protocol)"},
    {"import-keras", lstmad::tools::RunImportKeras, "import a model saved by Keras (.h5, .keras)"},
    {"serve", lstmad::tools::RunServe, "run the daemon: TCP ingestion, scoring, metrics, alerts"},
    {"simulate", lstmad::tools::RunSimulate, "stream simulated sensor data (with faults) to a daemon"},
    {"replay", lstmad::tools::RunReplay, "stream a CSV recording into a daemon as line protocol"},
    {"send", lstmad::tools::RunSend, "send line-protocol lines (a flag's or stdin's) to a daemon"},
};

void PrintUsage(std::ostream& out) {
  out << "usage: lstmad SUBCOMMAND [flags]\n\n"
         "Anomaly detection on sensor series with an LSTM autoencoder.\n\nsubcommands:\n";
  for (const Subcommand& s : kSubcommands) {
    const size_t name = std::string(s.name).size();
    out << "  " << s.name << std::string(name < 16 ? 16 - name : 1, ' ') << s.summary << "\n";
  }
  out << "\nRun `lstmad SUBCOMMAND --help` for a subcommand's flags.\n"
         "Exit codes: 0 success, 1 run-time failure, 2 bad input (flags, CSV, model file,\n"
         "configuration), 69 a dependency unavailable at start (serve: NATS, a port in use).\n";
}

}  // namespace

int main(int argc, char** argv) {
  // For every command and every thread started from here (the daemon's
  // scorers and retrainer included): a window far beyond the training range
  // must not make the forward pass crawl through denormals (core/denormals.h).
  const lstmad::core::FlushDenormals flush_denormals;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintUsage(std::cerr);
    return lstmad::tools::kExitBadInput;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    PrintUsage(std::cout);
    return lstmad::tools::kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "lstmad " << LSTMAD_VERSION << "\n";
    return lstmad::tools::kExitOk;
  }
  for (const Subcommand& s : kSubcommands) {
    if (args[0] == s.name) return s.run({args.begin() + 1, args.end()});
  }
  std::vector<std::string> names;
  for (const Subcommand& s : kSubcommands) names.emplace_back(s.name);
  const std::optional<std::string> meant = lstmad::core::ClosestMatch(args[0], names);
  std::cerr << "lstmad: unknown subcommand " << lstmad::core::Quote(args[0])
            << (meant ? " (did you mean \"" + *meant + "\"?)" : "") << "\n\n";
  PrintUsage(std::cerr);
  return lstmad::tools::kExitBadInput;
}
