// A guard in front of HDF5 1.10's object header and local heap loaders,
// which size some allocations by lengths read from the file before checking
// them against it: an object header's continuation chunk (the continuation
// message's length) and a group's local heap data segment when it does not
// follow the heap's header. A damaged length made HDF5 ask malloc for 8 GiB
// while the importer indexed a 21 KB file (found by fuzz/keras_fuzz.cc); in a
// process with less memory the same file fails the import for lack of
// memory, or worse. These checks refuse such lengths, against the image's
// size, before HDF5 loads the header.
//
// Pure functions on bytes; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "lstmad/core/status.h"

namespace lstmad::keras {

// At most this many object header chunks are followed from one header (HDF5
// writes a handful; the bound also ends continuation cycles).
inline constexpr int kMaxHeaderChunks = 4096;

// Walks the object header at `address` (relative to the superblock), version
// 1 or 2, and every continuation chunk it leads to, as HDF5 will load them,
// and refuses the image when a continuation's or a symbol table's local heap
// data segment does not lie within the image. What HDF5 refuses by itself (no
// header at the address, messages that overrun their chunk) is left to it.
core::Status CheckObjectHeader(std::string_view image, uint64_t address);

// CheckObjectHeader, and also every attribute message of the header (what
// H5Aexists and H5Aopen decode): each must hold its name, datatype,
// dataspace and values (HDF5 1.10 copies the values by the size the datatype
// and dataspace imply, past the message when it is shorter), and none may be
// a shared message or have shared parts (resolved elsewhere in the file;
// Keras and h5py do not write them).
core::Status CheckAttributeMessages(std::string_view image, uint64_t address);

// CheckObjectHeader on the headers H5Fopen loads: the root group's and, for
// superblock versions 2 and 3, the superblock extension's. Images whose
// superblock this code cannot decode are left to HDF5.
core::Status CheckRootObjectHeaders(std::string_view image);

}  // namespace lstmad::keras
