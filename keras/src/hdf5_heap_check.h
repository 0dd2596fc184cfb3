// A guard in front of HDF5 1.10's global heap decoder. Variable-length
// strings (Keras' model_config, layer_names, weight_names) live in global
// heap collections ("GCOL" blocks). When HDF5 decodes a collection it walks
// its objects by their stored sizes, and an object whose size makes the walk
// not advance (a free-space object of size 0, or a size that wraps the
// arithmetic) makes that loop spin forever: a 10 KB damaged file hangs the
// importer (found by fuzz/keras_fuzz.cc). Newer HDF5 releases check this; the
// Debian one does not. Pure function on bytes; thread-safe.
#pragma once

#include <string_view>

#include "lstmad/core/status.h"

namespace lstmad::keras {

// Walks every version-1 global heap collection in an HDF5 file image as HDF5
// will, and refuses the image, naming the collection's byte offset, when an
// object's size would stop the walk or carry it past the collection's end.
// Images without an HDF5 superblock, and collections that lie past the end of
// the image (HDF5 refuses those itself), are left to HDF5.
core::Status CheckGlobalHeapCollections(std::string_view image);

}  // namespace lstmad::keras
