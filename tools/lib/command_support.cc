#include "command_support.h"

#include "cli_args.h"

#include <algorithm>
#include <iostream>

#include "lstmad/core/files.h"
#include "lstmad/core/text.h"
#include "lstmad/core/windows.h"
#include "time_inputs.h"

namespace lstmad::tools {

int Fail(const std::string& command, const std::string& message, int code) {
  std::cerr << "lstmad " << command << ": error: " << message << "\n";
  return code;
}

int FailWrite(const std::string& command, const core::Status& written) {
  return Fail(command, written.message(), ExitCodeFor(written, kExitFailure));
}

int ParseArgsOrExit(ArgParser* parser, const std::vector<std::string>& args, const char* command) {
  std::string error;
  if (!parser->Parse(args, &error)) return Fail(command, error);
  if (parser->help_requested()) {
    std::cout << parser->Help();
    return kExitOk;
  }
  return -1;
}

core::Result<core::CsvTable> LoadCsv(const std::string& path,
                                     const std::vector<std::string>& features,
                                     core::EmptyCells empty_cells) {
  core::Result<std::string> text = core::ReadFileBounded(path, kMaxInputFileBytes);
  if (!text.ok()) return text.status();
  return core::ParseCsv(*text, path, features, empty_cells);
}

void AddFillFlag(ArgParser* parser) {
  parser->AddOption("fill", "error|forward|drop",
                    "an empty cell of --data: an error, the value of the row before, or its row "
                    "left out",
                    "error");
}

core::Result<core::EmptyCells> FillOf(const ArgParser& parser) {
  const std::string fill = parser.Get("fill");
  if (fill == "error") return core::EmptyCells::kError;
  if (fill == "forward") return core::EmptyCells::kForward;
  if (fill == "drop") return core::EmptyCells::kDrop;
  return core::Status::Invalid("--fill must be error, forward or drop, got " + core::Quote(fill));
}

void ForEachWindowBatch(const core::Model& model, const core::Network<float>& net,
                        const core::CsvTable& table,
                        const std::function<void(const WindowBatch&)>& visit) {
  constexpr int kBatch = 256;
  core::Matrix<float> series = ModelInputSeries(model, table);
  model.scaler.Transform(&series);
  const core::WindowSet<float> windows = core::MakeWindows(series, net.timesteps());
  core::Network<float>::Workspace workspace;
  core::Matrix<float> input, output;
  std::vector<int> indices;
  for (int first = 0; first < windows.count; first += kBatch) {
    const int batch = std::min(kBatch, windows.count - first);
    indices.resize(static_cast<size_t>(batch));
    for (int b = 0; b < batch; ++b) indices[static_cast<size_t>(b)] = first + b;
    core::GatherBatch(windows, indices.data(), batch, &input);
    net.Forward(input, batch, &workspace, &output);
    visit(WindowBatch{first, batch, &input, &output});
  }
}

}  // namespace lstmad::tools
