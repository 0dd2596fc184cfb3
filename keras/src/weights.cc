#include "weights.h"

#include <algorithm>

namespace lstmad::keras {
namespace {

using core::Result;
using core::Status;

std::string Normalize(std::string path) {
  std::replace(path.begin(), path.end(), '\\', '/');
  return path;
}

// "lstm_1/lstm_cell_1/kernel:0" -> "kernel"; Keras 3 drops the ":0".
std::string TensorBaseName(const std::string& weight_name) {
  std::string base = weight_name.substr(weight_name.find_last_of('/') + 1);
  const size_t colon = base.rfind(':');
  if (colon != std::string::npos &&
      base.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
    base.resize(colon);
  }
  return base;
}

// Kernels are stored [rows, cols]; biases and BatchNormalization vectors as [n].
std::vector<uint64_t> FileDims(const core::TensorShape& shape) {
  if (shape.name == "kernel" || shape.name == "recurrent_kernel") {
    return {static_cast<uint64_t>(shape.rows), static_cast<uint64_t>(shape.cols)};
  }
  return {static_cast<uint64_t>(shape.cols)};
}

// A CuDNNLSTM keeps two bias vectors (8 * units); Keras converts them when
// loading into an LSTM, lstmad refuses them by name.
Status CheckNotCudnnBias(const Hdf5File& file, const std::string& path, const std::string& label,
                         const core::LayerSpec& spec) {
  Result<std::vector<uint64_t>> dims = file.DatasetDims(path);
  if (dims.ok() && *dims == std::vector<uint64_t>{uint64_t{8} * uint64_t(spec.units)}) {
    return Status::Error(label + ": bias " + path + " has 8*units = " +
                         std::to_string(8 * spec.units) +
                         " values, a CuDNNLSTM layout, which lstmad does not convert; convert "
                         "the layer to LSTM in Keras and save again");
  }
  return Status::Ok();
}

Result<core::Matrix<float>> ReadTensor(const Hdf5File& file, const std::string& path,
                                       const std::string& label, const core::LayerSpec& spec,
                                       const core::TensorShape& shape) {
  if (!file.HasDataset(path)) {
    return Status::Error(label + ": dataset " + path + " (its " + shape.name + ") is missing" +
                         (file.damaged() ? " (the HDF5 file is damaged)" : ""));
  }
  if (spec.kind == core::LayerKind::kLstm && shape.name == "bias") {
    LSTMAD_RETURN_IF_ERROR(CheckNotCudnnBias(file, path, label, spec));
  }
  Result<FloatArray> array = file.ReadFloats(path, FileDims(shape));
  if (!array.ok()) return array.status().WithContext(label + ": " + shape.name);
  core::Matrix<float> m(shape.rows, shape.cols);
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      m(r, c) = array->values[static_cast<size_t>(r * m.cols() + c)];
    }
  }
  if (!m.allFinite()) {
    return Status::Error(label + ": " + shape.name + " (" + path +
                         ") holds NaN or infinite values");
  }
  return m;
}

// The dataset paths of each tensor, in order.
Result<std::vector<std::string>> LegacyPaths(const Hdf5File& file, const KerasLayer& layer,
                                             const std::string& label,
                                             const std::vector<core::TensorShape>& shapes) {
  const std::string group = "model_weights/" + Normalize(layer.name);
  if (!file.HasGroup(group)) {
    return Status::Error(label + ": no weights group " + group +
                         (file.damaged() ? " (the HDF5 file is damaged)" : ""));
  }
  Result<std::optional<std::vector<std::string>>> names =
      file.StringListAttribute(group, "weight_names");
  if (!names.ok()) return names.status().WithContext(label);
  if (!names->has_value()) return Status::Error(label + ": " + group + " has no weight_names");
  const std::vector<std::string>& listed = **names;
  if (listed.size() != shapes.size()) {
    return Status::Error(label + ": weight_names lists " + std::to_string(listed.size()) +
                         " tensors, the config implies " + std::to_string(shapes.size()));
  }
  std::vector<std::string> paths;
  for (size_t k = 0; k < listed.size(); ++k) {
    if (TensorBaseName(listed[k]) != shapes[k].name) {
      return Status::Error(label + ": weight_names[" + std::to_string(k) + "] is '" +
                           listed[k].substr(0, 120) + "', where its " + shapes[k].name +
                           " was expected");
    }
    paths.push_back(group + "/" + Normalize(listed[k]));
  }
  return paths;
}

Result<std::vector<std::string>> ZipPaths(const Hdf5File& file, const KerasLayer& layer,
                                          const std::string& label, const core::LayerSpec& spec,
                                          const std::vector<core::TensorShape>& shapes) {
  std::string vars = layer.zip_weights_path;
  if (spec.kind == core::LayerKind::kLstm) vars += "/cell";
  if (spec.time_distributed) vars += "/layer";
  vars += "/vars";
  if (!file.HasGroup(vars)) {
    return Status::Error(label + ": no group " + vars + " in model.weights.h5" +
                         (file.damaged() ? " (which is damaged)" : ""));
  }
  const std::vector<std::string> found = file.DatasetsIn(vars);
  if (found.size() != shapes.size()) {
    return Status::Error(label + ": " + vars + " holds " + std::to_string(found.size()) +
                         " variables, the config implies " + std::to_string(shapes.size()));
  }
  std::vector<std::string> paths;
  for (size_t k = 0; k < shapes.size(); ++k) paths.push_back(vars + "/" + std::to_string(k));
  return paths;
}

}  // namespace

Result<std::vector<core::Matrix<float>>> ReadLayerWeights(
    const Hdf5File& file, WeightLayout layout, const KerasLayer& layer,
    const core::LayerSpec& spec, const std::vector<core::TensorShape>& shapes) {
  std::vector<core::Matrix<float>> tensors;
  if (shapes.empty()) return tensors;
  const std::string label = LayerLabel(layer);
  Result<std::vector<std::string>> paths = layout == WeightLayout::kLegacyHdf5
                                               ? LegacyPaths(file, layer, label, shapes)
                                               : ZipPaths(file, layer, label, spec, shapes);
  if (!paths.ok()) return paths.status();
  for (size_t k = 0; k < shapes.size(); ++k) {
    Result<core::Matrix<float>> t = ReadTensor(file, (*paths)[k], label, spec, shapes[k]);
    if (!t.ok()) return t.status();
    tensors.push_back(std::move(*t));
  }
  return tensors;
}

}  // namespace lstmad::keras
