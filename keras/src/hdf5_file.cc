#include "hdf5_file.h"
#include "hdf5_header_check.h"
#include "hdf5_heap_check.h"
#include "hdf5_tree_check.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

namespace lstmad::keras {

static_assert(std::is_same_v<hid_t, int64_t>, "hid_t is stored as int64_t");

namespace {

using core::Result;
using core::Status;

// Closes an HDF5 identifier with its type's close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string Normalize(std::string path) {
  std::replace(path.begin(), path.end(), '\\', '/');
  return path;
}

// HDF5 looks for its signature at offset 0, 512, 1024, 2048, ... (a user
// block may come first).
bool HasHdf5Signature(std::string_view image) {
  static constexpr std::string_view kSignature("\211HDF\r\n\032\n", 8);
  for (size_t offset = 0; offset + kSignature.size() <= image.size();
       offset = offset == 0 ? 512 : offset * 2) {
    if (image.substr(offset, kSignature.size()) == kSignature) return true;
  }
  return false;
}

// Number of elements of a dataspace: 1 for a scalar, 0 for a null space.
Result<uint64_t> ElementCount(hid_t space) {
  switch (H5Sget_simple_extent_type(space)) {
    case H5S_SCALAR: return uint64_t{1};
    case H5S_NULL: return uint64_t{0};
    case H5S_SIMPLE: {
      const hssize_t n = H5Sget_simple_extent_npoints(space);
      if (n < 0) return Status::Error("unreadable dataspace");
      return static_cast<uint64_t>(n);
    }
    default: return Status::Error("unreadable dataspace");
  }
}

// HDF5 has no call that hands out an attribute's stored bytes: H5Aread
// converts them, and converting a variable-length string dereferences its
// heap ID unchecked (hdf5_heap_check.h). HDF5 does hand the stored elements to
// a conversion function, though, so one is registered (once, process-wide,
// under Hdf5Lock) from variable-length strings to an opaque type of the same
// size tagged kStoredTag: it accepts that pair only, and leaves the elements
// in place, as stored. Reading into that type yields the heap IDs to vet.
constexpr char kStoredTag[] = "lstmad: variable-length elements as stored";

herr_t KeepStoredElements(hid_t src, hid_t dst, H5T_cdata_t* cdata, size_t, size_t buf_stride, size_t, void*,
                          void*, hid_t) {
  switch (cdata->command) {
    case H5T_CONV_INIT: {
      cdata->need_bkg = H5T_BKG_NO;
      if (H5Tis_variable_str(src) <= 0 || H5Tget_class(dst) != H5T_OPAQUE ||
          H5Tget_size(src) != H5Tget_size(dst)) {
        return -1;  // not ours: HDF5 looks for another conversion
      }
      char* tag = H5Tget_tag(dst);
      const bool ours = tag != nullptr && std::strcmp(tag, kStoredTag) == 0;
      H5free_memory(tag);
      return ours ? 0 : -1;
    }
    case H5T_CONV_CONV:
      // Same sizes: the elements already lie where they belong, unless
      // HDF5 asks for a stride of its own, which an attribute read never does.
      return buf_stride == 0 || buf_stride == H5Tget_size(src) ? 0 : -1;
    case H5T_CONV_FREE: return 0;
  }
  return -1;
}

Status RegisterKeepStoredElements() {
  static const bool registered = [] {
    Handle vlen(H5Tcopy(H5T_C_S1), H5Tclose);
    Handle opaque(H5Tcreate(H5T_OPAQUE, 1), H5Tclose);
    return vlen.ok() && opaque.ok() && H5Tset_size(vlen.get(), H5T_VARIABLE) >= 0 &&
           H5Tregister(H5T_PERS_SOFT, "lstmad_keep_stored_elements", vlen.get(), opaque.get(),
                       KeepStoredElements) >= 0;
  }();
  return registered ? Status::Ok() : Status::Error("cannot set up the check of variable-length strings");
}

// Reads the stored elements of a variable-length string attribute and vets
// their heap IDs against the image before HDF5 follows them.
Status VetStoredStrings(hid_t attr, std::string_view image, uint64_t count) {
  LSTMAD_RETURN_IF_ERROR(RegisterKeepStoredElements());
  const size_t element_size = StoredVariableLengthElementSize(image);
  if (element_size == 0)
    return Status::Error("variable-length strings in an HDF5 layout this reader cannot check");
  if (count > kMaxAttributeBytes / element_size) return Status::Error("string attribute too large");
  Handle stored_type(H5Tcreate(H5T_OPAQUE, element_size), H5Tclose);
  if (!stored_type.ok() || H5Tset_tag(stored_type.get(), kStoredTag) < 0) {
    return Status::Error("cannot set up a string type");
  }
  std::string stored(count * element_size, '\0');
  if (H5Aread(attr, stored_type.get(), stored.data()) < 0)
    return Status::Error("unreadable string attribute");
  return CheckVariableLengthElements(image, stored, count);
}

Result<std::vector<std::string>> ReadVariableStrings(hid_t attr, hid_t type, hid_t space, uint64_t count,
                                                     std::string_view image) {
  // The file stores the character type too, and HDF5 sizes its conversion
  // buffers by it: a damaged one-byte char of 1 MB asked for gigabytes.
  Handle character(H5Tget_super(type), H5Tclose);
  if (!character.ok()) return Status::Error("unreadable string type");
  if (H5Tget_size(character.get()) != 1) {
    return Status::Error("damaged HDF5 file: a variable-length string of " +
                         std::to_string(H5Tget_size(character.get())) + "-byte characters");
  }
  LSTMAD_RETURN_IF_ERROR(VetStoredStrings(attr, image, count));
  Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
  const H5T_cset_t cset = H5Tget_cset(type);
  if (!memtype.ok() || H5Tset_size(memtype.get(), H5T_VARIABLE) < 0 ||
      H5Tset_cset(memtype.get(), cset == H5T_CSET_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0) {
    return Status::Error("cannot set up a string type");
  }
  std::vector<char*> pointers(count, nullptr);
  if (H5Aread(attr, memtype.get(), pointers.data()) < 0) {
    return Status::Error("unreadable string attribute");
  }
  std::vector<std::string> out;
  uint64_t total = 0;
  for (const char* p : pointers) {
    if (p == nullptr) {
      out.emplace_back();
      continue;
    }
    out.emplace_back(p, strnlen(p, kMaxAttributeBytes + 1));
    total += out.back().size();
    if (total > kMaxAttributeBytes) break;
  }
  H5Dvlen_reclaim(memtype.get(), space, H5P_DEFAULT, pointers.data());
  if (total > kMaxAttributeBytes) return Status::Error("string attribute too large");
  return out;
}

// Fixed-length strings are read NULLPAD: Keras' `weight_names` are exactly as
// long as the longest name, and a NULLTERM read would drop its last byte.
Result<std::vector<std::string>> ReadFixedStrings(hid_t attr, hid_t type, uint64_t count) {
  const size_t size = H5Tget_size(type);
  if (size == 0 || count > kMaxAttributeBytes / size) {
    return Status::Error("string attribute too large");
  }
  Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
  const H5T_cset_t cset = H5Tget_cset(type);
  if (!memtype.ok() || H5Tset_size(memtype.get(), size) < 0 ||
      H5Tset_strpad(memtype.get(), H5T_STR_NULLPAD) < 0 ||
      H5Tset_cset(memtype.get(), cset == H5T_CSET_UTF8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0) {
    return Status::Error("cannot set up a string type");
  }
  std::vector<char> buffer(count * size);
  if (H5Aread(attr, memtype.get(), buffer.data()) < 0) {
    return Status::Error("unreadable string attribute");
  }
  std::vector<std::string> out;
  for (uint64_t i = 0; i < count; ++i) {
    const char* p = buffer.data() + i * size;
    out.emplace_back(p, strnlen(p, size));
  }
  return out;
}

Result<std::vector<std::string>> ReadStrings(hid_t attr, std::string_view image) {
  Handle space(H5Aget_space(attr), H5Sclose);
  Handle type(H5Aget_type(attr), H5Tclose);
  if (!space.ok() || !type.ok()) return Status::Error("unreadable attribute");
  Result<uint64_t> count = ElementCount(space.get());
  if (!count.ok()) return count.status();
  if (*count == 0) return std::vector<std::string>{};  // h5py writes [] as an empty float array
  if (H5Tget_class(type.get()) != H5T_STRING) return Status::Error("not a string attribute");
  if (*count > kMaxAttributeBytes) return Status::Error("string attribute too large");
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) return Status::Error("unreadable string type");
  if (variable > 0) return ReadVariableStrings(attr, type.get(), space.get(), *count, image);
  return ReadFixedStrings(attr, type.get(), *count);
}

struct IndexContext {
  std::map<std::string, std::string>* datasets;
  std::map<std::string, std::string>* groups;
  std::string prefix;  // path of the group being listed, with a trailing '/'
  int depth = 0;
  size_t* links;
  bool* damaged;
  std::string_view image;
  bool too_many = false;
  Status refused;  // an object header refused before HDF5 loaded it
};

// Keras nests weights 6 groups deep at most; the bound also ends hard-link cycles.
constexpr int kMaxDepth = 32;

herr_t IndexLink(hid_t group, const char* name, const H5L_info_t* info, void* data) {
  auto* ctx = static_cast<IndexContext*>(data);
  if (++*ctx->links > kMaxIndexedLinks) {
    ctx->too_many = true;
    return 1;  // stop
  }
  if (info->type != H5L_TYPE_HARD) return 0;  // never follow soft or external links
  // HDF5 sizes allocations by the header's lengths before checking them.
  if (Status vetted = CheckObjectHeader(ctx->image, info->u.address); !vetted.ok()) {
    ctx->refused = std::move(vetted);
    return 1;  // stop
  }
  Handle object(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
  if (!object.ok()) {  // a damaged object: reported if it is ever needed
    *ctx->damaged = true;
    return 0;
  }
  const std::string path = ctx->prefix + name;
  const H5I_type_t type = H5Iget_type(object.get());
  if (type == H5I_DATASET) ctx->datasets->emplace(Normalize(path), path);
  if (type != H5I_GROUP) return 0;
  ctx->groups->emplace(Normalize(path), path);
  if (ctx->depth + 1 >= kMaxDepth) return 0;
  IndexContext inner{ctx->datasets, ctx->groups, path + "/", ctx->depth + 1, ctx->links,
                     ctx->damaged,  ctx->image,  false,      Status::Ok()};
  if (H5Literate(object.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, IndexLink, &inner) < 0) {
    *ctx->damaged = true;  // what was listed before the damage stays indexed
  }
  if (inner.too_many || !inner.refused.ok()) {
    ctx->too_many = inner.too_many;
    ctx->refused = std::move(inner.refused);
    return 1;
  }
  return 0;
}

std::string DimsText(const std::vector<uint64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

// File images without copies. The core driver asks these callbacks for
// memory to hold the image and to copy it there; they hand back the caller's
// buffer and copy nothing, and the file is opened read-only, so nothing
// writes to it. (H5LTopen_file_image does the same but leaks its callback
// data whenever the open fails, which a damaged file makes common.)
void* ImageMalloc(size_t size, H5FD_file_image_op_t, void* udata) {
  auto* source = static_cast<ImageSource*>(udata);
  return size == source->size ? const_cast<char*>(source->data) : nullptr;
}
void* ImageMemcpy(void* dest, const void* src, size_t, H5FD_file_image_op_t, void*) {
  return dest == src ? dest : nullptr;  // only ever "copies" the buffer onto itself
}
void* ImageRealloc(void*, size_t, H5FD_file_image_op_t, void*) { return nullptr; }  // no writes
herr_t ImageFree(void*, H5FD_file_image_op_t, void*) { return 0; }
void* UdataCopy(void* udata) { return udata; }
herr_t UdataFree(void*) { return 0; }

hid_t OpenFileImage(ImageSource* source) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5FD_file_image_callbacks_t callbacks = {ImageMalloc, ImageMemcpy, ImageRealloc, ImageFree,
                                           UdataCopy,   UdataFree,   source};
  if (!fapl.ok() || H5Pset_fapl_core(fapl.get(), 1 << 16, false) < 0 ||
      H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG) < 0 ||
      H5Pset_file_image_callbacks(fapl.get(), &callbacks) < 0 ||
      H5Pset_file_image(fapl.get(), const_cast<char*>(source->data), source->size) < 0) {
    return -1;
  }
  // HDF5 shares open files by name: each image gets its own (under Hdf5Lock).
  static uint64_t counter = 0;
  const std::string name = "lstmad-keras-image-" + std::to_string(++counter);
  return H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get());
}

}  // namespace

// ---------------------------------------------------------------------------

struct Hdf5Lock::SavedErrorHandler {
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
};

Hdf5Lock::Hdf5Lock() : saved_(std::make_unique<SavedErrorHandler>()) {
  static std::mutex mutex;
  lock_ = std::unique_lock<std::mutex>(mutex);
  // HDF5 1.10 leaks internal state on some damaged files (an object header
  // that fails to decode; the file's ids are all closed), and its atexit
  // clean-up then prints "infinite loop closing library". The process is
  // ending anyway: skip that clean-up. Must come before the library's first use.
  static const bool no_atexit = [] { return H5dont_atexit() >= 0; }();
  (void)no_atexit;
  H5Eget_auto2(H5E_DEFAULT, &saved_->func, &saved_->data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Hdf5Lock::~Hdf5Lock() { H5Eset_auto2(H5E_DEFAULT, saved_->func, saved_->data); }

Result<Hdf5File> Hdf5File::OpenImage(std::string_view image) {
  if (!HasHdf5Signature(image)) return Status::Error("not an HDF5 file (no HDF5 signature)");
  // Before HDF5 sees the bytes: its heap decoder can loop forever on them.
  LSTMAD_RETURN_IF_ERROR(CheckGlobalHeapCollections(image));
  LSTMAD_RETURN_IF_ERROR(CheckRootObjectHeaders(image));
  LSTMAD_RETURN_IF_ERROR(CheckGroupTrees(image));
  auto source = std::make_unique<ImageSource>(ImageSource{image.data(), image.size()});
  const hid_t file = OpenFileImage(source.get());
  if (file < 0) return Status::Error("damaged HDF5 file (the HDF5 library cannot open it)");
  Hdf5File out(file, std::move(source));
  LSTMAD_RETURN_IF_ERROR(out.Index());
  return out;
}

Hdf5File::~Hdf5File() {
  if (file_ >= 0) H5Fclose(file_);
}

Hdf5File::Hdf5File(Hdf5File&& other) noexcept
    : file_(std::exchange(other.file_, -1)),
      source_(std::move(other.source_)),
      damaged_(other.damaged_),
      datasets_(std::move(other.datasets_)),
      groups_(std::move(other.groups_)) {}

// A walk of our own, group by group with H5Literate: a damaged object is
// skipped (and reported only if the importer needs it), where H5Lvisit gives
// up on the whole file and, in HDF5 1.10, leaks its internal state.
Status Hdf5File::Index() {
  size_t links = 0;
  IndexContext ctx{
      &datasets_, &groups_,    "", 0, &links, &damaged_, std::string_view(source_->data, source_->size),
      false,      Status::Ok()};
  const herr_t rc = H5Literate(file_, H5_INDEX_NAME, H5_ITER_INC, nullptr, IndexLink, &ctx);
  if (!ctx.refused.ok()) return ctx.refused;
  if (ctx.too_many) {
    return Status::Error("more than " + std::to_string(kMaxIndexedLinks) + " links in the file");
  }
  if (rc < 0) return Status::Error("damaged HDF5 file (its groups cannot be listed)");
  return Status::Ok();
}

Result<std::optional<std::string>> Hdf5File::StringAttribute(const std::string& group,
                                                             const std::string& name) const {
  Result<std::optional<std::vector<std::string>>> list = StringListAttribute(group, name);
  if (!list.ok()) return list.status();
  if (!list->has_value()) return std::optional<std::string>();
  if ((*list)->size() != 1) {
    return Status::Error("attribute " + name + " holds " + std::to_string((*list)->size()) +
                         " strings, one was expected");
  }
  return std::optional<std::string>(std::move((**list)[0]));
}

Result<std::optional<std::vector<std::string>>> Hdf5File::StringListAttribute(
    const std::string& group, const std::string& name) const {
  const std::string where = group.empty() ? "/" : group;
  std::string real = "/";
  if (!group.empty()) {
    const auto it = groups_.find(group);
    if (it == groups_.end()) return Status::Error("no group " + where);
    real = it->second;
  }
  Handle object(H5Oopen(file_, real.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return Status::Error("cannot open group " + where);
  // H5Aexists and H5Aopen decode the group's attribute messages unchecked.
  H5O_info_t info;
  if (H5Oget_info2(object.get(), &info, H5O_INFO_BASIC) < 0)
    return Status::Error("cannot open group " + where);
  LSTMAD_RETURN_IF_ERROR(CheckAttributeMessages(std::string_view(source_->data, source_->size), info.addr));
  auto read_one = [&](const std::string& attr_name) -> Result<std::optional<std::vector<std::string>>> {
    const htri_t exists = H5Aexists(object.get(), attr_name.c_str());
    if (exists < 0) return Status::Error("unreadable attributes on " + where);
    if (exists == 0) return std::optional<std::vector<std::string>>();
    Handle attr(H5Aopen(object.get(), attr_name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) return Status::Error("cannot open attribute " + attr_name + " on " + where);
    Result<std::vector<std::string>> strings =
        ReadStrings(attr.get(), std::string_view(source_->data, source_->size));
    if (!strings.ok()) return strings.status().WithContext("attribute " + attr_name + " on " + where);
    return std::optional<std::vector<std::string>>(std::move(*strings));
  };
  Result<std::optional<std::vector<std::string>>> whole = read_one(name);
  if (!whole.ok() || whole->has_value()) return whole;
  // Keras splits attributes larger than HDF5's 64 KiB header limit into
  // name0, name1, ... (save_attributes_to_hdf5_group).
  std::vector<std::string> joined;
  bool found = false;
  for (int chunk = 0; chunk < 100000; ++chunk) {
    Result<std::optional<std::vector<std::string>>> part = read_one(name + std::to_string(chunk));
    if (!part.ok()) return part.status();
    if (!part->has_value()) break;
    found = true;
    for (std::string& s : **part) joined.push_back(std::move(s));
  }
  if (!found) return std::optional<std::vector<std::string>>();
  return std::optional<std::vector<std::string>>(std::move(joined));
}

bool Hdf5File::HasGroup(const std::string& normalized_path) const {
  return groups_.count(normalized_path) > 0;
}

bool Hdf5File::HasDataset(const std::string& normalized_path) const {
  return datasets_.count(normalized_path) > 0;
}

std::vector<std::string> Hdf5File::DatasetsIn(const std::string& normalized_group) const {
  const std::string prefix = normalized_group + "/";
  std::vector<std::string> out;
  for (auto it = datasets_.lower_bound(prefix); it != datasets_.end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    if (it->first.find('/', prefix.size()) == std::string::npos) out.push_back(it->first);
  }
  return out;
}

Result<std::vector<uint64_t>> Hdf5File::DatasetDims(const std::string& normalized_path) const {
  const auto it = datasets_.find(normalized_path);
  if (it == datasets_.end()) return Status::Error("no dataset " + normalized_path);
  Handle dataset(H5Dopen2(file_, it->second.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) return Status::Error("cannot open dataset " + normalized_path);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  if (!space.ok()) return Status::Error("unreadable dataspace of " + normalized_path);
  const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
  if (kind == H5S_SCALAR) return std::vector<uint64_t>{};
  if (kind != H5S_SIMPLE) return Status::Error("dataset " + normalized_path + " has no data space");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > H5S_MAX_RANK) return Status::Error("unreadable rank of " + normalized_path);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) {
    return Status::Error("unreadable shape of " + normalized_path);
  }
  return std::vector<uint64_t>(dims.begin(), dims.end());
}

namespace {

// A chunked dataset's chunk, which HDF5 reads whole, holds no more elements
// than the dataset (or 2^20, for the small ones).
Status CheckChunkSize(hid_t dataset, uint64_t count, const std::string& path) {
  Handle plist(H5Dget_create_plist(dataset), H5Pclose);
  if (!plist.ok()) return Status::Error("cannot open dataset " + path);
  if (H5Pget_layout(plist.get()) != H5D_CHUNKED) return Status::Ok();
  std::vector<hsize_t> chunk(H5S_MAX_RANK);
  const int rank = H5Pget_chunk(plist.get(), H5S_MAX_RANK, chunk.data());
  if (rank < 0) return Status::Error("damaged HDF5 file: unreadable chunk shape of dataset " + path);
  const uint64_t limit = std::max<uint64_t>(count, uint64_t{1} << 20);
  uint64_t elements = 1;
  for (int i = 0; i < rank; ++i) {
    const uint64_t d = chunk[static_cast<size_t>(i)];
    if (d != 0 && elements > limit / d) {
      return Status::Error("damaged HDF5 file: dataset " + path + " has chunks larger than itself");
    }
    elements *= d;
  }
  return Status::Ok();
}

}  // namespace

Result<FloatArray> Hdf5File::ReadFloats(const std::string& normalized_path,
                                        const std::vector<uint64_t>& want) const {
  Result<std::vector<uint64_t>> dims = DatasetDims(normalized_path);
  if (!dims.ok()) return dims.status();
  if (*dims != want) {
    return Status::Error("dataset " + normalized_path + " has shape " + DimsText(*dims) +
                         ", the config implies " + DimsText(want));
  }
  uint64_t count = 1;
  for (const uint64_t d : want) {
    if (d != 0 && count > kMaxDatasetElements / d) {
      return Status::Error("dataset " + normalized_path + " is too large");
    }
    count *= d;
  }
  Handle dataset(H5Dopen2(file_, datasets_.at(normalized_path).c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(dataset.ok() ? H5Dget_type(dataset.get()) : -1, H5Tclose);
  if (!dataset.ok() || !type.ok()) return Status::Error("cannot open dataset " + normalized_path);
  if (H5Tget_class(type.get()) != H5T_FLOAT) {
    return Status::Error("dataset " + normalized_path + " does not hold floating-point numbers");
  }
  // HDF5 sizes its conversion and chunk buffers by what the file says: a
  // damaged element size or chunk shape would ask for gigabytes.
  const size_t element_size = H5Tget_size(type.get());
  if (element_size != 2 && element_size != 4 && element_size != 8) {
    return Status::Error("damaged HDF5 file: dataset " + normalized_path + " stores " +
                         std::to_string(element_size) + "-byte floating-point numbers");
  }
  LSTMAD_RETURN_IF_ERROR(CheckChunkSize(dataset.get(), count, normalized_path));
  FloatArray out{*dims, std::vector<float>(count)};
  if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           out.values.data()) < 0) {
    return Status::Error("dataset " + normalized_path + " cannot be read (damaged or compressed "
                         "with a filter this HDF5 lacks)");
  }
  return out;
}

}  // namespace lstmad::keras
