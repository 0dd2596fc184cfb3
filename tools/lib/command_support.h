// Shared plumbing of the `lstmad` subcommands: exit codes (exit_codes.h), reading inputs
// with errors that name the file, and running a model over every window of a
// series in batches.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/status.h"
#include "exit_codes.h"

namespace lstmad::tools {

class ArgParser;

// Parses a subcommand's flags: on bad flags prints the error and returns
// kExitBadInput, on --help prints the help and returns kExitOk, otherwise
// returns -1 (go on).
int ParseArgsOrExit(ArgParser* parser, const std::vector<std::string>& args, const char* command);

// Prints "lstmad COMMAND: error: MESSAGE" to stderr and returns `code`.
int Fail(const std::string& command, const std::string& message, int code = kExitBadInput);

// A failed write of an output file: exit 2 when the destination can never be
// written (core::CheckReplaceable refused a device or directory), 1 otherwise
// (disk full, no permission: running again may work).
int FailWrite(const std::string& command, const core::Status& written);

// Input files (CSV data, NAB windows) are read whole; this only refuses a
// wrong path (a disk image, /dev/zero) before it exhausts memory.
inline constexpr uint64_t kMaxInputFileBytes = uint64_t{4} << 30;
core::Result<core::CsvTable> LoadCsv(const std::string& path,
                                     const std::vector<std::string>& features,
                                     core::EmptyCells empty_cells = core::EmptyCells::kError);

// --fill error|forward|drop: what an empty cell of --data does (core/csv.h).
void AddFillFlag(ArgParser* parser);
core::Result<core::EmptyCells> FillOf(const ArgParser& parser);

// One batch of consecutive windows: `input` and `output` in the network
// layout, scaled units; window `first + b` ends at series sample
// `first + b + T - 1` (stride 1).
struct WindowBatch {
  int first = 0;
  int batch = 0;
  const core::Matrix<float>* input = nullptr;
  const core::Matrix<float>* output = nullptr;
};

// Scales `table`'s values with the model's scaler, appends the model's time
// inputs (time_inputs.h: the table has passed CheckTimeInputs) and runs
// every window.
void ForEachWindowBatch(const core::Model& model, const core::Network<float>& net,
                        const core::CsvTable& table,
                        const std::function<void(const WindowBatch&)>& visit);

}  // namespace lstmad::tools
