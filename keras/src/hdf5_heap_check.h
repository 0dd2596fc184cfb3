// Guards in front of HDF5 1.10's global heap code, which trusts the file.
// Variable-length strings (Keras' model_config, keras_version, backend) live
// in global heap collections ("GCOL" blocks); a stored string is its length
// and a heap ID (the collection's address and the object's index), and HDF5
// dereferences that ID with assertions only (compiled out in Debian's build).
//
// - When HDF5 decodes a collection it walks its objects by their stored sizes,
//   and an object whose size makes the walk not advance (a free-space object
//   of size 0, or a size that wraps the arithmetic) makes that loop spin
//   forever: a 10 KB damaged file hung the importer (found by
//   fuzz/keras_fuzz.cc). CheckGlobalHeapCollections refuses those.
// - When HDF5 reads a string whose heap ID names a collection that is not
//   one, an index the collection does not hold (an unused slot, the free
//   space) or an object longer than the stored length, it reads or writes
//   past its buffers (heap-buffer-overflow, SEGV). CheckVariableLengthElements
//   refuses those before HDF5 reads the strings.
//
// Pure functions on bytes; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lstmad/core/status.h"

namespace lstmad::keras {

// HDF5 never writes a collection smaller than this (H5HG_MINSIZE, the spec's
// minimum collection size), and its decoder assumes as much.
inline constexpr uint64_t kMinCollectionSize = 4096;

// Walks every version-1 global heap collection in an HDF5 file image as HDF5
// will, and refuses the image, naming the collection's byte offset, when an
// object's size would stop the walk or carry it past the collection's end.
// Images without an HDF5 superblock, and collections that lie past the end of
// the image (HDF5 refuses those itself), are left to HDF5.
core::Status CheckGlobalHeapCollections(std::string_view image);

// The size of one stored variable-length element in this image: 4 (the
// length) + the superblock's size of offsets (the collection's address) + 4
// (the object's index); 0 when the image has no readable superblock.
size_t StoredVariableLengthElementSize(std::string_view image);

// Vets `stored`, `count` variable-length string elements as the file holds
// them (StoredVariableLengthElementSize bytes each), against the image: every
// element with a non-zero address (zero is HDF5's empty string) must name a
// version-1 collection of at least kMinCollectionSize bytes that lies within
// the image, an index from 1 that exactly one object of that collection has,
// and a length equal to that object's size. The addresses are relative to the
// superblock, as HDF5 reads them.
core::Status CheckVariableLengthElements(std::string_view image, std::string_view stored, size_t count);

}  // namespace lstmad::keras
