// A guard in front of HDF5 1.10's walk of old-style groups (a version 1
// B-tree of symbol table nodes, what h5py writes by default): HDF5 follows a
// B-tree node's child addresses without checking them against the file, and
// a child at the undefined address (all ones) made it copy into a NULL buffer
// while the importer listed a 21 KB file's groups (found by
// fuzz/keras_fuzz.cc; the release binary crashed with SIGSEGV). These checks
// refuse group B-tree nodes whose children do not lie in the image and are
// not the nodes HDF5 expects there, and symbol table nodes whose entries
// overrun the image, before HDF5 loads any of them.
//
// Pure functions on bytes; thread-safe.
#pragma once

#include <string_view>

#include "lstmad/core/status.h"

namespace lstmad::keras {

// Every "TREE" node of type 0 (groups) in the image: each of its children is
// within the image and holds a "TREE" node (internal levels) or an "SNOD"
// node (level 0). Every "SNOD" node: its entries lie within the image.
// Images whose superblock this code cannot decode are left to HDF5.
core::Status CheckGroupTrees(std::string_view image);

}  // namespace lstmad::keras
