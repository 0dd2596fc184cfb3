// ref_forward: a test-only executable that runs Network<float>::Forward on a
// model and inputs described in a text file, so that check_forward.py can
// compare the result with PyTorch and NumPy references.
//
//   usage: ref_forward [--double] INPUT_FILE OUTPUT_FILE
//
// --double runs Network<double> on the same (float32) values instead, which
// tells a wrong formula from float32 rounding amplified by the model.
//
// Input format (whitespace-separated tokens; line breaks are not significant;
// `#` starts a comment running to the end of the line):
//
//   lstmad-ref-forward 1
//   timesteps T
//   features F
//   layers N
//   <N layer lines, one of>
//     lstm units=U activation=A recurrent_activation=R return_sequences=0|1 go_backwards=0|1 use_bias=0|1
//     repeat_vector repeat=N
//     dense units=U activation=A use_bias=0|1
//   <for every tensor of every layer, in Keras' order (architecture.h)>
//     tensor LAYER INDEX ROWS COLS  followed by ROWS*COLS values, row-major
//   input B                         followed by B*T*F values, in the order of
//                                   a NumPy array [B, T, F] (window, step, feature)
//
// Activation names are those of ParseActivation (tanh, relu, sigmoid, linear,
// hard_sigmoid, hard_sigmoid_k3). Values are decimal floats as Python prints
// them with repr or %.9g, which round-trip float32 exactly.
//
// Output format:
//   output B STEPS WIDTH   followed by the values in the order of a NumPy
//                          array [B, STEPS, WIDTH], or [B, WIDTH] when STEPS
//                          is 0 (an LSTM without return_sequences last)
// each value printed with %.9g (%.17g with --double), one window step per line.
//
// Exit status: 0 on success, 1 on a malformed file or an invalid model
// (the reason goes to stderr), 2 on bad usage.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/architecture.h"
#include "lstmad/core/network.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"

namespace lstmad::ref {
namespace {

using core::Matrix;
using core::Result;
using core::Status;

// A token reader over the whole file with comments removed.
class Tokens {
 public:
  explicit Tokens(const std::string& text) {
    std::string stripped;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      stripped += line.substr(0, line.find('#'));
      stripped += '\n';
    }
    stream_.str(stripped);
  }

  Result<std::string> Word(std::string_view what) {
    std::string word;
    if (!(stream_ >> word)) return Status::Error("unexpected end of file, expected " + std::string(what));
    return word;
  }

  Status Expect(std::string_view keyword) {
    Result<std::string> word = Word(keyword);
    if (!word.ok()) return word.status();
    if (*word != keyword) return Status::Error("expected '" + std::string(keyword) + "', got '" + *word + "'");
    return Status::Ok();
  }

  Result<int> Int(std::string_view what) {
    int value = 0;
    if (!(stream_ >> value)) return Status::Error("expected an integer for " + std::string(what));
    return value;
  }

  Status Floats(float* out, Eigen::Index count, std::string_view what) {
    for (Eigen::Index k = 0; k < count; ++k) {
      if (!(stream_ >> out[k])) {
        return Status::Error("expected " + std::to_string(count) + " values for " + std::string(what) +
                             ", got " + std::to_string(k));
      }
    }
    return Status::Ok();
  }

  Result<int> KeywordInt(std::string_view keyword) {
    LSTMAD_RETURN_IF_ERROR(Expect(keyword));
    return Int(keyword);
  }

 private:
  std::istringstream stream_;
};

// Splits `key=value` and checks the key.
Result<std::string> Field(Tokens* tokens, std::string_view key) {
  Result<std::string> word = tokens->Word(key);
  if (!word.ok()) return word.status();
  const size_t eq = word->find('=');
  if (eq == std::string::npos || std::string_view(*word).substr(0, eq) != key) {
    return Status::Error("expected " + std::string(key) + "=..., got '" + *word + "'");
  }
  return word->substr(eq + 1);
}

Status IntField(Tokens* tokens, std::string_view key, int* out) {
  Result<std::string> value = Field(tokens, key);
  if (!value.ok()) return value.status();
  try {
    size_t used = 0;
    *out = std::stoi(*value, &used);
    if (used != value->size()) throw std::invalid_argument(*value);
  } catch (const std::exception&) {
    return Status::Error(std::string(key) + ": not an integer: '" + *value + "'");
  }
  return Status::Ok();
}

Status BoolField(Tokens* tokens, std::string_view key, bool* out) {
  int value = 0;
  LSTMAD_RETURN_IF_ERROR(IntField(tokens, key, &value));
  if (value != 0 && value != 1) return Status::Error(std::string(key) + " must be 0 or 1");
  *out = value == 1;
  return Status::Ok();
}

Status ActivationField(Tokens* tokens, std::string_view key, core::Activation* out) {
  Result<std::string> value = Field(tokens, key);
  if (!value.ok()) return value.status();
  const std::optional<core::Activation> parsed = core::ParseActivation(*value);
  if (!parsed) return Status::Error(std::string(key) + ": unknown activation '" + *value + "'");
  *out = *parsed;
  return Status::Ok();
}

Result<core::LayerSpec> ReadLayer(Tokens* tokens, int index) {
  Result<std::string> kind = tokens->Word("a layer kind");
  if (!kind.ok()) return kind.status();
  core::LayerSpec layer;
  layer.name = *kind + "_" + std::to_string(index);
  if (*kind == "lstm") {
    layer.kind = core::LayerKind::kLstm;
    LSTMAD_RETURN_IF_ERROR(IntField(tokens, "units", &layer.units));
    LSTMAD_RETURN_IF_ERROR(ActivationField(tokens, "activation", &layer.activation));
    LSTMAD_RETURN_IF_ERROR(ActivationField(tokens, "recurrent_activation", &layer.recurrent_activation));
    LSTMAD_RETURN_IF_ERROR(BoolField(tokens, "return_sequences", &layer.return_sequences));
    LSTMAD_RETURN_IF_ERROR(BoolField(tokens, "go_backwards", &layer.go_backwards));
    LSTMAD_RETURN_IF_ERROR(BoolField(tokens, "use_bias", &layer.use_bias));
  } else if (*kind == "repeat_vector") {
    layer.kind = core::LayerKind::kRepeatVector;
    LSTMAD_RETURN_IF_ERROR(IntField(tokens, "repeat", &layer.repeat));
  } else if (*kind == "dense") {
    layer.kind = core::LayerKind::kDense;
    LSTMAD_RETURN_IF_ERROR(IntField(tokens, "units", &layer.units));
    LSTMAD_RETURN_IF_ERROR(ActivationField(tokens, "activation", &layer.activation));
    LSTMAD_RETURN_IF_ERROR(BoolField(tokens, "use_bias", &layer.use_bias));
  } else {
    return Status::Error("layer " + std::to_string(index) + ": unknown kind '" + *kind + "'");
  }
  return layer;
}

Result<core::Architecture> ReadArchitecture(Tokens* tokens) {
  core::Architecture arch;
  Result<int> version = tokens->KeywordInt("lstmad-ref-forward");
  if (!version.ok()) return version.status();
  if (*version != 1) return Status::Error("unsupported format version " + std::to_string(*version));
  Result<int> timesteps = tokens->KeywordInt("timesteps");
  if (!timesteps.ok()) return timesteps.status();
  Result<int> features = tokens->KeywordInt("features");
  if (!features.ok()) return features.status();
  Result<int> count = tokens->KeywordInt("layers");
  if (!count.ok()) return count.status();
  arch.timesteps = *timesteps;
  arch.features = *features;
  for (int i = 0; i < *count; ++i) {
    Result<core::LayerSpec> layer = ReadLayer(tokens, i);
    if (!layer.ok()) return layer.status().WithContext("layer " + std::to_string(i));
    arch.layers.push_back(*layer);
  }
  LSTMAD_RETURN_IF_ERROR(core::ValidateArchitecture(arch, false));
  return arch;
}

// One tensor, stored row-major in the file and indexed (row, col) as Keras does.
Status ReadTensor(Tokens* tokens, int layer, int index, const core::TensorShape& shape,
                  Matrix<float>* out) {
  const std::string what = "layer " + std::to_string(layer) + " " + shape.name;
  LSTMAD_RETURN_IF_ERROR(tokens->Expect("tensor"));
  int header[4] = {};
  for (int& v : header) {
    Result<int> value = tokens->Int(what);
    if (!value.ok()) return value.status();
    v = *value;
  }
  if (header[0] != layer || header[1] != index || header[2] != shape.rows || header[3] != shape.cols) {
    return Status::Error(what + ": header says tensor " + std::to_string(header[0]) + " " +
                         std::to_string(header[1]) + " [" + std::to_string(header[2]) + " x " +
                         std::to_string(header[3]) + "], expected [" + std::to_string(shape.rows) +
                         " x " + std::to_string(shape.cols) + "]");
  }
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values(shape.rows, shape.cols);
  LSTMAD_RETURN_IF_ERROR(tokens->Floats(values.data(), values.size(), what));
  *out = values;
  return Status::Ok();
}

Result<core::Weights<float>> ReadWeights(Tokens* tokens, const core::Architecture& arch) {
  core::Weights<float> weights;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    weights.layers.emplace_back();
    const std::vector<core::TensorShape> shapes = core::LayerTensorShapes(arch, i);
    for (size_t k = 0; k < shapes.size(); ++k) {
      Matrix<float> tensor;
      LSTMAD_RETURN_IF_ERROR(ReadTensor(tokens, static_cast<int>(i), static_cast<int>(k), shapes[k], &tensor));
      weights.layers.back().push_back(std::move(tensor));
    }
  }
  return weights;
}

// Reads [B, T, F] values into the network layout [F x T*B] (column t*B + b).
Status ReadInput(Tokens* tokens, const core::Architecture& arch, int* batch, Matrix<float>* input) {
  Result<int> b = tokens->KeywordInt("input");
  if (!b.ok()) return b.status();
  if (*b <= 0) return Status::Error("input batch must be positive");
  *batch = *b;
  const int steps = arch.timesteps, features = arch.features;
  input->resize(features, static_cast<Eigen::Index>(steps) * *batch);
  Eigen::VectorXf row(features);
  for (int w = 0; w < *batch; ++w) {
    for (int t = 0; t < steps; ++t) {
      LSTMAD_RETURN_IF_ERROR(tokens->Floats(row.data(), features, "input"));
      input->col(static_cast<Eigen::Index>(t) * *batch + w) = row;
    }
  }
  if (Result<std::string> extra = tokens->Word("end"); extra.ok()) {
    return Status::Error("trailing data after the input: '" + *extra + "'");
  }
  return Status::Ok();
}

// Writes the output [width x max(steps,1)*B] in the order of [B, steps, width].
template <typename S>
Status WriteOutput(const std::string& path, const Matrix<S>& output, int batch, int steps) {
  const char* format = sizeof(S) == sizeof(float) ? "%.9g" : "%.17g";
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return Status::Error("cannot write " + path);
  std::fprintf(file, "output %d %d %d\n", batch, steps, static_cast<int>(output.rows()));
  const int rows = steps == 0 ? 1 : steps;
  for (int b = 0; b < batch; ++b) {
    for (int t = 0; t < rows; ++t) {
      const Eigen::Index col = static_cast<Eigen::Index>(t) * batch + b;
      for (Eigen::Index k = 0; k < output.rows(); ++k) {
        if (k > 0) std::fputc(' ', file);
        std::fprintf(file, format, static_cast<double>(output(k, col)));
      }
      std::fputc('\n', file);
    }
  }
  const bool ok = std::ferror(file) == 0;
  return std::fclose(file) == 0 && ok ? Status::Ok() : Status::Error("error writing " + path);
}

template <typename S>
Status Run(const std::string& in_path, const std::string& out_path) {
  std::ifstream in(in_path);
  if (!in) return Status::Error("cannot read " + in_path);
  std::ostringstream text;
  text << in.rdbuf();
  Tokens tokens(text.str());
  Result<core::Architecture> arch = ReadArchitecture(&tokens);
  if (!arch.ok()) return arch.status();
  Result<core::Weights<float>> weights = ReadWeights(&tokens, *arch);
  if (!weights.ok()) return weights.status();
  int batch = 0;
  Matrix<float> input;
  LSTMAD_RETURN_IF_ERROR(ReadInput(&tokens, *arch, &batch, &input));
  Result<core::Network<S>> net = core::Network<S>::Create(*arch, weights->template Cast<S>());
  if (!net.ok()) return net.status();
  typename core::Network<S>::Workspace workspace;
  Matrix<S> output;
  net->Forward(input.cast<S>(), batch, &workspace, &output);
  return WriteOutput(out_path, output, batch, net->output_steps());
}

}  // namespace
}  // namespace lstmad::ref

int main(int argc, char** argv) {
  const bool use_double = argc == 4 && std::string_view(argv[1]) == "--double";
  if (argc != 3 && !use_double) {
    std::cerr << "usage: ref_forward [--double] INPUT_FILE OUTPUT_FILE\n";
    return 2;
  }
  const char* in_path = argv[argc - 2];
  const char* out_path = argv[argc - 1];
  const lstmad::core::Status status = use_double ? lstmad::ref::Run<double>(in_path, out_path)
                                                 : lstmad::ref::Run<float>(in_path, out_path);
  if (!status.ok()) {
    std::cerr << "ref_forward: " << in_path << ": " << status.message() << "\n";
    return 1;
  }
  return 0;
}
