// The `lstmad` subcommands. Each takes the arguments after its name and
// returns the process exit code (see command_support.h).
#pragma once

#include <string>
#include <vector>

namespace lstmad::tools {

int RunTrain(const std::vector<std::string>& args);
int RunSummary(const std::vector<std::string>& args);
int RunReconstruct(const std::vector<std::string>& args);
int RunScore(const std::vector<std::string>& args);
int RunEvaluate(const std::vector<std::string>& args);
int RunEvaluateStream(const std::vector<std::string>& args);
int RunImportKeras(const std::vector<std::string>& args);
int RunServe(const std::vector<std::string>& args);
int RunSimulate(const std::vector<std::string>& args);
int RunSend(const std::vector<std::string>& args);
int RunReplay(const std::vector<std::string>& args);

}  // namespace lstmad::tools
