// Internal: read-only access to an HDF5 file held in memory (the core driver
// reading the caller's buffer in place), through the HDF5 C library, limited
// to what the Keras importer needs: string attributes and float datasets.
//
// Input is untrusted. Only hard links are followed (a soft or external link
// could point anywhere, including another file); sizes are checked before
// anything is allocated; the HDF5 error stack is never printed. Errors carry
// no file name: the caller adds it.
//
// Thread-safety: Debian's HDF5 is built without its thread-safe option, so
// every object of this class must be used under Hdf5Lock (one process-wide
// mutex, which also keeps HDF5's automatic error printing off while held).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::keras {

// Holds the process-wide HDF5 mutex and silences the HDF5 error stack.
class Hdf5Lock {
 public:
  Hdf5Lock();
  ~Hdf5Lock();
  Hdf5Lock(const Hdf5Lock&) = delete;
  Hdf5Lock& operator=(const Hdf5Lock&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;
  struct SavedErrorHandler;
  std::unique_ptr<SavedErrorHandler> saved_;
};

// The caller's bytes, as the file image callbacks see them.
struct ImageSource {
  const char* data = nullptr;
  size_t size = 0;
};

// A float dataset read into memory: dims as in the file, values row-major.
struct FloatArray {
  std::vector<uint64_t> dims;
  std::vector<float> values;
};

// The dataset paths found by walking the file's hard links, normalised with
// `\` read as `/` (Keras 2.15 on Windows wrote `layers\lstm\cell` as one
// group name), mapped to the path to open.
class Hdf5File {
 public:
  // `image` must outlive the object. Refuses bytes that are not HDF5.
  static core::Result<Hdf5File> OpenImage(std::string_view image);
  ~Hdf5File();
  Hdf5File(Hdf5File&& other) noexcept;
  Hdf5File& operator=(Hdf5File&&) = delete;
  Hdf5File(const Hdf5File&) = delete;

  // A string attribute (fixed or variable length, scalar or one element) of
  // the group at `group` ("" is the root). nullopt when absent.
  core::Result<std::optional<std::string>> StringAttribute(const std::string& group,
                                                           const std::string& name) const;

  // A list-of-strings attribute, also when Keras split it into `name0`,
  // `name1`, ... (attributes over 64 KiB). An empty array of any type is an
  // empty list. nullopt when absent.
  core::Result<std::optional<std::vector<std::string>>> StringListAttribute(
      const std::string& group, const std::string& name) const;

  // Whether the walk over the file met objects HDF5 could not open: they
  // are left out of the index, so a "missing" dataset may be a damaged one.
  bool damaged() const { return damaged_; }

  bool HasGroup(const std::string& normalized_path) const;
  bool HasDataset(const std::string& normalized_path) const;

  // Normalised paths of the datasets directly inside the group at
  // `normalized_group`, sorted.
  std::vector<std::string> DatasetsIn(const std::string& normalized_group) const;

  // Reads a float dataset (any float type in the file, converted to float32)
  // after checking that its shape is `dims`.
  core::Result<FloatArray> ReadFloats(const std::string& normalized_path,
                                      const std::vector<uint64_t>& dims) const;

  // Dims of a dataset, without reading it.
  core::Result<std::vector<uint64_t>> DatasetDims(const std::string& normalized_path) const;

 private:
  Hdf5File(int64_t file, std::unique_ptr<ImageSource> source)
      : file_(file), source_(std::move(source)) {}
  core::Status Index();

  int64_t file_ = -1;
  std::unique_ptr<ImageSource> source_;  // the callbacks' data: a stable address
  bool damaged_ = false;
  std::map<std::string, std::string> datasets_;  // normalised -> real path
  std::map<std::string, std::string> groups_;
};

// Limits on untrusted input.
inline constexpr size_t kMaxIndexedLinks = 100000;
inline constexpr uint64_t kMaxAttributeBytes = uint64_t{64} << 20;
inline constexpr uint64_t kMaxDatasetElements = uint64_t{1} << 28;  // 1 GiB of float32

}  // namespace lstmad::keras
