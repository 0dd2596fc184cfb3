// Internal: reading one layer's weights from a Keras HDF5 file, in Keras'
// order and layout, checked against the shapes the config implies.
//
//  - legacy `.h5`: the layer's group `model_weights/<layer name>` lists its
//    datasets in the attribute `weight_names` (paths relative to the group,
//    which change with the Keras version: `lstm/kernel:0`,
//    `lstm_1/lstm_cell_1/kernel:0`, `sequential/lstm_1/lstm_cell/kernel`...).
//    Keras loads by that order; so does this, and it checks each name ends
//    with the tensor it should be.
//  - `.keras`: `layers/<snake_case class><_k>/{cell/,layer/,}vars/0..n-1`.
#pragma once

#include <vector>

#include "hdf5_file.h"
#include "lstmad/core/architecture.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"
#include "model_config.h"

namespace lstmad::keras {

enum class WeightLayout { kLegacyHdf5, kKerasZip };

// `spec` is the lstmad layer converted from `layer`; `shapes` its tensors
// (core::LayerTensorShapes). Errors name the layer and the dataset.
core::Result<std::vector<core::Matrix<float>>> ReadLayerWeights(
    const Hdf5File& file, WeightLayout layout, const KerasLayer& layer,
    const core::LayerSpec& spec, const std::vector<core::TensorShape>& shapes);

}  // namespace lstmad::keras
